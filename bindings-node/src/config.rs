//! The runtime policy configuration as a JS class.

use std::collections::HashMap;
use std::path::PathBuf;

use inferwarden::config::{self as core_config, ConfigFormat};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::guard;

/// The validated runtime policy configuration (secrets never leave it).
#[napi]
pub struct PolicyConfig {
    inner: core_config::PolicyConfig,
}

impl PolicyConfig {
    /// The core configuration.
    pub fn inner(&self) -> &core_config::PolicyConfig {
        &self.inner
    }
}

#[napi]
impl PolicyConfig {
    /// The defaults.
    #[napi(constructor)]
    pub fn new() -> Self {
        PolicyConfig {
            inner: core_config::PolicyConfig::default(),
        }
    }

    /// Loads a TOML/JSON file (optional) plus `INFERWARDEN_*` overrides from `env`
    /// (default: `process.env` as seen by the process) and validates the whole.
    /// Throws `config_invalid` naming each bad field.
    #[napi(factory)]
    pub fn load(
        env: Env,
        path: Option<String>,
        overrides: Option<HashMap<String, String>>,
    ) -> napi::Result<Self> {
        let pairs: Vec<(String, String)> = match overrides {
            Some(map) => map.into_iter().collect(),
            None => std::env::vars().collect(),
        };
        let path = path.map(PathBuf::from);
        let inner = guard(&env, || {
            core_config::PolicyConfig::load_with_env(path.as_deref(), &pairs)
        })?;
        Ok(PolicyConfig { inner })
    }

    /// Parses configuration text (`format`: `"toml"` (default) or `"json"`).
    #[napi(factory)]
    pub fn from_text(
        env: Env,
        text: String,
        format: Option<String>,
        overrides: Option<HashMap<String, String>>,
    ) -> napi::Result<Self> {
        let pairs: Vec<(String, String)> = overrides
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        let inner = guard(&env, || {
            let format = ConfigFormat::from_name(format.as_deref().unwrap_or("toml"))?;
            core_config::PolicyConfig::from_text_with_env(Some(&text), format, &pairs)
        })?;
        Ok(PolicyConfig { inner })
    }

    /// The effective configuration; secrets appear as `"[REDACTED]"`.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || inferwarden::error::to_json_value(&self.inner))
    }

    /// `{ errors: [...], warnings: [...] }`, each item `{ field, message }`.
    #[napi]
    pub fn validate(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            inferwarden::error::to_json_value(&self.inner.validate())
        })
    }

    /// Per-lane worker settings (`timeout`, `min_containers`, `max_containers`, `scaledown_window`).
    #[napi]
    pub fn worker_settings(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            inferwarden::error::to_json_value(&self.inner.worker_settings())
        })
    }

    /// The stale TTL in seconds for a task type (unknown types get the strictest).
    #[napi]
    pub fn stale_ttl_s(&self, task_type: String) -> u32 {
        u32::try_from(self.inner.stale.ttl_for(&task_type)).unwrap_or(u32::MAX)
    }

    /// The deployment environment name.
    #[napi(getter)]
    pub fn environment(&self) -> String {
        self.inner.environment.clone()
    }
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self::new()
    }
}
