//! The one typed runtime policy configuration (REQUIREMENTS section 9).
//!
//! Every number the platform's policy uses lives here with its default. Load it with
//! [`PolicyConfig::load`] (file + `INFERWARDEN_*` environment overrides, validated as a
//! whole), build it in code with [`PolicyConfig::default`] and check it with
//! [`PolicyConfig::validate`].

mod audit_rules;
mod load;
mod sections;
mod validate;
mod worker_settings;

pub use audit_rules::{check_hmac_field, MIN_RETENTION_DAYS};
pub use load::{
    to_toml_string, ConfigFormat, ENV_PREFIX, RESERVED_ENV_VARS, WORKER_KEY_ENV_PREFIX,
};
pub use sections::*;
pub use validate::{ConfigIssue, ValidationReport};
pub use worker_settings::WorkerSettings;
