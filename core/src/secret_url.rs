//! Connection URLs that may carry a password (`postgres://app:pw@db/x`,
//! `redis://:pw@cache:6379/0`, `postgres://db/x?password=pw`). `Debug`, `Display` and
//! `Serialize` print the URL with the password replaced by `[REDACTED]`, so `config show`,
//! `to_toml`/`to_dict` and error messages never leak it; [`ConnectionUrl::expose`] (and
//! `Deref` to `&str`, for the stores that connect) reads the real value.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::secret::{Secret, PLACEHOLDER_REFUSED, REDACTED};

/// A store or broker URL whose password never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionUrl(Secret);

impl ConnectionUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectionUrl(Secret::new(url))
    }

    /// The URL with its password.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with any password (in the user-info or a `password=` query parameter)
    /// replaced by `[REDACTED]`.
    pub fn redacted(&self) -> String {
        redact(self.0.expose())
    }
}

/// `url` with its password replaced by `[REDACTED]`.
pub fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    // user:password@host
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let start = rest_start + colon + 1;
                out.replace_range(start..rest_start + at, REDACTED);
            }
        }
    }
    // ?password=... / &password=...
    let mut search = 0;
    while let Some(i) = out[search..].find("password=") {
        let at = search + i;
        let boundary = at == 0 || matches!(out.as_bytes()[at - 1], b'?' | b'&' | b' ');
        let value_start = at + "password=".len();
        if !boundary {
            search = value_start;
            continue;
        }
        let value_end = out[value_start..]
            .find(['&', ' ', '#'])
            .map_or(out.len(), |j| value_start + j);
        out.replace_range(value_start..value_end, REDACTED);
        search = value_start + REDACTED.len();
    }
    out
}

impl Default for ConnectionUrl {
    fn default() -> Self {
        ConnectionUrl::new("memory")
    }
}

impl Deref for ConnectionUrl {
    type Target = str;
    fn deref(&self) -> &str {
        self.expose()
    }
}

impl fmt::Debug for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for ConnectionUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for ConnectionUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// A URL read from configuration that contains the `[REDACTED]` placeholder (a rendered
/// configuration loaded back: the placeholder stands where the password was) is refused
/// rather than sent to the server as a password.
impl<'de> Deserialize<'de> for ConnectionUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let url = String::deserialize(deserializer)?;
        if url.contains(REDACTED) {
            return Err(serde::de::Error::custom(PLACEHOLDER_REFUSED));
        }
        Ok(ConnectionUrl::new(url))
    }
}

impl From<&str> for ConnectionUrl {
    fn from(url: &str) -> Self {
        ConnectionUrl::new(url)
    }
}

impl From<String> for ConnectionUrl {
    fn from(url: String) -> Self {
        ConnectionUrl::new(url)
    }
}
