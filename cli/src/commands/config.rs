//! `inferwarden config validate|show|worker-settings`.

use std::path::PathBuf;

use inferwarden::config::PolicyConfig;
use inferwarden::{Error, ErrorCode};

use super::{EXIT_OK, EXIT_POLICY, EXIT_USAGE};

fn resolve_file(file: Option<PathBuf>) -> Option<PathBuf> {
    file.or_else(|| std::env::var_os("INFERWARDEN_CONFIG").map(PathBuf::from))
}

/// Whether a load error is about the input itself (unreadable or unparsable file).
fn is_input_error(err: &Error) -> bool {
    err.metadata()
        .and_then(|m| m.get("issues"))
        .and_then(|i| i.as_array())
        .is_some_and(|issues| issues.iter().all(|i| i["field"] == "<file>"))
}

fn load(file: Option<PathBuf>) -> Result<PolicyConfig, u8> {
    let file = resolve_file(file);
    PolicyConfig::load(file.as_deref()).map_err(|err| {
        eprintln!("error[{}]: {}", err.code_str(), err.detail());
        if is_input_error(&err) {
            EXIT_USAGE
        } else {
            EXIT_POLICY
        }
    })
}

pub fn validate(file: Option<PathBuf>, json: bool) -> u8 {
    let file = resolve_file(file);
    match PolicyConfig::load(file.as_deref()) {
        Ok(config) => {
            let report = config.validate();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"valid": true, "errors": report.errors, "warnings": report.warnings})
                );
            } else {
                println!(
                    "configuration is valid ({})",
                    file.as_ref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "defaults".into())
                );
                for w in &report.warnings {
                    println!("warning: {}: {}", w.field, w.message);
                }
            }
            EXIT_OK
        }
        Err(err) if err.code() == ErrorCode::ConfigInvalid => {
            let issues = err
                .metadata()
                .and_then(|m| m.get("issues"))
                .cloned()
                .unwrap_or_default();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"valid": false, "errors": issues, "warnings": []})
                );
            } else {
                for issue in issues.as_array().into_iter().flatten() {
                    println!(
                        "error: {}: {}",
                        issue["field"].as_str().unwrap_or("?"),
                        issue["message"].as_str().unwrap_or("?")
                    );
                }
            }
            if is_input_error(&err) {
                EXIT_USAGE
            } else {
                EXIT_POLICY
            }
        }
        Err(err) => {
            eprintln!("error[{}]: {}", err.code_str(), err.detail());
            EXIT_USAGE
        }
    }
}

pub fn show(file: Option<PathBuf>, json: bool) -> u8 {
    let config = match load(file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // Secrets serialise as "[REDACTED]".
    let text = if json {
        serde_json::to_string_pretty(&config).map_err(|e| e.to_string())
    } else {
        toml_text(&config)
    };
    match text {
        Ok(t) => {
            println!("{t}");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: cannot render configuration: {e}");
            EXIT_USAGE
        }
    }
}

fn toml_text(config: &PolicyConfig) -> Result<String, String> {
    inferwarden::config::to_toml_string(config).map_err(|e| e.to_string())
}

pub fn worker_settings(file: Option<PathBuf>) -> u8 {
    match load(file) {
        Ok(c) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&c.worker_settings()).unwrap_or_default()
            );
            EXIT_OK
        }
        Err(code) => code,
    }
}
