//! `Set-Cookie` values for session cookies: `HttpOnly`, `Secure` (configurable for local
//! http development), `SameSite`, `Path=/`, `Max-Age`.

use crate::config::{SameSite, SessionConfig};

fn same_site(s: SameSite) -> &'static str {
    match s {
        SameSite::Strict => "Strict",
        SameSite::Lax => "Lax",
        SameSite::None => "None",
    }
}

/// A `Set-Cookie` value that stores `token` under `name` for `max_age_s` seconds.
pub fn set_cookie(config: &SessionConfig, name: &str, token: &str, max_age_s: u64) -> String {
    let secure = if config.secure { "; Secure" } else { "" };
    format!(
        "{name}={token}; Path=/; Max-Age={max_age_s}; HttpOnly{secure}; SameSite={}",
        same_site(config.same_site)
    )
}

/// A `Set-Cookie` value that deletes the cookie `name`.
pub fn clear_cookie(config: &SessionConfig, name: &str) -> String {
    let secure = if config.secure { "; Secure" } else { "" };
    format!(
        "{name}=; Path=/; Max-Age=0; HttpOnly{secure}; SameSite={}",
        same_site(config.same_site)
    )
}
