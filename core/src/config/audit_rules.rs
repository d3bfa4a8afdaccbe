//! The rules on `[audit]` settings that configuration validation checks and the audit log
//! enforces again when it is built: the shortest retention and which event fields may be
//! hashed. They live with the configuration (a leaf for the audit module to import), so
//! configuration does not depend on the audit log.

/// The shortest retention allowed (REQUIREMENTS section 11).
pub const MIN_RETENTION_DAYS: u32 = 90;

/// Which event fields may be named in `audit.hmac_fields`.
pub fn check_hmac_field(field: &str) -> Result<(), String> {
    match field {
        "actor" | "target" | "correlation_id" => Ok(()),
        _ => match field.strip_prefix("details.") {
            Some(key) if !key.is_empty() => Ok(()),
            _ => Err(format!(
                "`{field}` is not actor, target, correlation_id or details.<key>"
            )),
        },
    }
}
