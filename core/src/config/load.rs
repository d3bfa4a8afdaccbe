//! Loading: defaults, then a TOML or JSON file, then environment overrides, then whole-config
//! validation. Errors are `config_invalid` with `metadata.issues = [{field, message}]`.
//!
//! Environment overrides: `INFERWARDEN_<SECTION>__<FIELD>` (nested keys joined by `__`,
//! case-insensitive), e.g. `INFERWARDEN_STALE__PENDING_START_TIMEOUT_S=90`. The value is read
//! as the type of the field it overrides (lists accept JSON or comma-separated text). An
//! override naming no field is an error, so typos never pass silently. `FRONTEND_ORIGINS`
//! (unprefixed, the platform's existing variable) sets `cors.frontend_origins` unless the
//! prefixed form is also set.

use std::path::Path;

use serde_json::{Map, Value};

use super::sections::PolicyConfig;
use super::validate::ConfigIssue;
use crate::error::{Error, ErrorCode};
use crate::secret::PLACEHOLDER_REFUSED;

/// Prefix of environment overrides.
pub const ENV_PREFIX: &str = "INFERWARDEN_";

/// `INFERWARDEN_*` variables that are not configuration overrides.
/// `INFERWARDEN_AUDIT_SIGNING_KEY` and `INFERWARDEN_AUDIT_HMAC_KEY` are the default key
/// variables of `audit.signing_key_env` / `audit.hmac_key_env`: read by the audit log, never
/// part of the configuration. `INFERWARDEN_RUNTIME_SCHED` is the runtime threads' policy
/// (`thread_policy`, read when the bindings' runtime starts).
pub const RESERVED_ENV_VARS: [&str; 6] = [
    "INFERWARDEN_CONFIG",
    "INFERWARDEN_GPU",
    "INFERWARDEN_LOG",
    "INFERWARDEN_RUNTIME_SCHED",
    "INFERWARDEN_AUDIT_SIGNING_KEY",
    "INFERWARDEN_AUDIT_HMAC_KEY",
];

/// Worker credentials (`INFERWARDEN_WORKER_KEY`, `INFERWARDEN_WORKER_KEY_<REF>`) are read by
/// the proxy's credential source, not the configuration.
pub const WORKER_KEY_ENV_PREFIX: &str = "INFERWARDEN_WORKER_KEY";

/// Fields whose values are secrets: their parse errors never quote the value.
const SECRET_FIELDS: [&str; 3] = ["auth.api_keys", "auth.admin_key", "auth.media_signing_key"];

/// A configuration file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigFormat {
    /// TOML.
    Toml,
    /// JSON.
    Json,
}

impl ConfigFormat {
    /// Parses a format name (`"toml"` or `"json"`, case-insensitive); else `config_invalid`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        if name.eq_ignore_ascii_case("toml") {
            Ok(ConfigFormat::Toml)
        } else if name.eq_ignore_ascii_case("json") {
            Ok(ConfigFormat::Json)
        } else {
            Err(one_issue(
                "<format>",
                "unknown configuration format (expected toml or json)",
            ))
        }
    }

    /// `.json` files are JSON; everything else is TOML.
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => ConfigFormat::Json,
            _ => ConfigFormat::Toml,
        }
    }
}

fn invalid(issues: Vec<ConfigIssue>) -> Error {
    let summary = issues
        .iter()
        .map(|i| format!("{}: {}", i.field, i.message))
        .collect::<Vec<_>>()
        .join("; ");
    let list: Vec<Value> = issues
        .iter()
        .map(|i| serde_json::json!({"field": i.field, "message": i.message}))
        .collect();
    Error::with_detail(
        ErrorCode::ConfigInvalid,
        format!("invalid configuration: {summary}"),
    )
    .meta("issues", Value::Array(list))
}

fn one_issue(field: &str, message: impl Into<String>) -> Error {
    invalid(vec![ConfigIssue {
        field: field.to_owned(),
        message: message.into(),
    }])
}

fn parse_text(text: &str, format: ConfigFormat) -> Result<Value, Error> {
    let value = match format {
        ConfigFormat::Json => serde_json::from_str::<Value>(text)
            .map_err(|e| one_issue("<file>", format!("JSON syntax: {e}")))?,
        ConfigFormat::Toml => {
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| one_issue("<file>", format!("TOML syntax: {}", e.message())))?;
            serde_json::to_value(table).map_err(|e| one_issue("<file>", e.to_string()))?
        }
    };
    match value {
        Value::Object(_) => Ok(value),
        _ => Err(one_issue(
            "<file>",
            "the configuration must be a table/object at the top level",
        )),
    }
}

fn is_secret_path(path: &str) -> bool {
    SECRET_FIELDS.iter().any(|f| {
        path == *f || path.starts_with(&format!("{f}[")) || path.starts_with(&format!("{f}."))
    })
}

/// Converts one environment value to the JSON type of the default at the same place.
fn typed_env_value(shape: &Value, raw: &str, field: &str) -> Result<Value, ConfigIssue> {
    let issue = |message: String| ConfigIssue {
        field: field.to_owned(),
        message,
    };
    let trimmed = raw.trim();
    match shape {
        Value::Bool(_) => match trimmed.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(Value::Bool(true)),
            "0" | "false" | "no" | "off" => Ok(Value::Bool(false)),
            _ => Err(issue("expected a boolean (true/false)".to_owned())),
        },
        Value::Number(n) => {
            let parsed: Option<Value> = if n.is_f64() {
                trimmed
                    .parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite())
                    .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
            } else {
                trimmed.parse::<u64>().ok().map(Value::from)
            };
            parsed.ok_or_else(|| {
                issue(format!(
                    "expected a {}",
                    if n.is_f64() {
                        "number"
                    } else {
                        "non-negative integer"
                    }
                ))
            })
        }
        Value::Array(_) if trimmed.starts_with('[') => serde_json::from_str(trimmed)
            .map_err(|_| issue("expected a JSON list or comma-separated values".to_owned())),
        Value::Array(items) => {
            let numeric = items.first().is_some_and(Value::is_number);
            let parts = trimmed.split(',').map(str::trim).filter(|s| !s.is_empty());
            if numeric {
                parts
                    .map(|p| {
                        p.parse::<u64>()
                            .map(Value::from)
                            .map_err(|_| issue("expected comma-separated integers".to_owned()))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            } else {
                Ok(Value::Array(
                    parts.map(|p| Value::String(p.to_owned())).collect(),
                ))
            }
        }
        Value::Object(_) => Err(issue(
            "is a section; override one of its fields with `__`".to_owned(),
        )),
        Value::String(_) | Value::Null => Ok(Value::String(raw.to_owned())),
    }
}

fn set_path(root: &mut Value, path: &[String], value: Value) {
    let mut node = root;
    for key in &path[..path.len() - 1] {
        let obj = match node {
            Value::Object(map) => map,
            other => {
                *other = Value::Object(Map::new());
                let Value::Object(map) = other else {
                    unreachable!("just assigned an object")
                };
                map
            }
        };
        node = obj
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
    }
    if let Value::Object(map) = node {
        map.insert(path[path.len() - 1].clone(), value);
    }
}

fn apply_env(
    root: &mut Value,
    shape: &Value,
    env: &[(String, String)],
    issues: &mut Vec<ConfigIssue>,
) {
    let prefixed_origins = env
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("INFERWARDEN_CORS__FRONTEND_ORIGINS"));
    for (key, raw) in env {
        let path: Vec<String> = if key == "FRONTEND_ORIGINS" {
            if prefixed_origins {
                continue;
            }
            vec!["cors".to_owned(), "frontend_origins".to_owned()]
        } else if let Some(rest) = key.strip_prefix(ENV_PREFIX) {
            if RESERVED_ENV_VARS.contains(&key.as_str()) || key.starts_with(WORKER_KEY_ENV_PREFIX) {
                continue;
            }
            rest.split("__").map(str::to_ascii_lowercase).collect()
        } else {
            continue;
        };
        let field = path.join(".");
        let mut node = shape;
        let mut found = true;
        for part in &path {
            match node.get(part) {
                Some(next) => node = next,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found || path.iter().any(String::is_empty) {
            issues.push(ConfigIssue {
                field: key.clone(),
                message: format!("environment override names no configuration field (`{field}`)"),
            });
            continue;
        }
        match typed_env_value(node, raw, &field) {
            Ok(value) => set_path(root, &path, value),
            Err(issue) => issues.push(issue),
        }
    }
}

impl PolicyConfig {
    /// Loads from an optional file plus the process environment, then validates.
    pub fn load(path: Option<&Path>) -> Result<PolicyConfig, Error> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_with_env(path, &env)
    }

    /// Loads from an optional file plus the given environment pairs, then validates.
    pub fn load_with_env(
        path: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<PolicyConfig, Error> {
        let text = match path {
            Some(p) => Some(std::fs::read_to_string(p).map_err(|e| {
                one_issue(
                    "<file>",
                    format!("cannot read {}: {}", p.display(), e.kind()),
                )
            })?),
            None => None,
        };
        let format = path
            .map(ConfigFormat::from_path)
            .unwrap_or(ConfigFormat::Toml);
        Self::from_text_with_env(text.as_deref(), format, env)
    }

    /// Loads from optional file text plus the given environment pairs, then validates.
    pub fn from_text_with_env(
        text: Option<&str>,
        format: ConfigFormat,
        env: &[(String, String)],
    ) -> Result<PolicyConfig, Error> {
        let mut root = match text {
            Some(t) => parse_text(t, format)?,
            None => Value::Object(Map::new()),
        };
        let shape = serde_json::to_value(PolicyConfig::default())
            .map_err(|e| one_issue("<defaults>", e.to_string()))?;
        let mut issues = Vec::new();
        apply_env(&mut root, &shape, env, &mut issues);
        if !issues.is_empty() {
            return Err(invalid(issues));
        }
        let config: PolicyConfig = serde_path_to_error::deserialize(root).map_err(|e| {
            let field = e.path().to_string();
            let message = e.into_inner().to_string();
            let message = if message == PLACEHOLDER_REFUSED {
                // Says nothing about the value but that it is the placeholder itself.
                message
            } else if is_secret_path(&field) {
                "invalid value (not shown: secret field)".to_owned()
            } else {
                message
            };
            one_issue(&field, message)
        })?;
        config.validate().into_result()?;
        Ok(config)
    }
}

/// Renders a configuration as TOML (secrets appear as `[REDACTED]`).
pub fn to_toml_string(config: &PolicyConfig) -> Result<String, Error> {
    toml::to_string_pretty(config).map_err(|e| {
        Error::with_detail(ErrorCode::InternalError, format!("cannot render TOML: {e}"))
    })
}
