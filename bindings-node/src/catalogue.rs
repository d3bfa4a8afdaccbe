//! The model catalogue and request validation as a JS class.

use inferwarden::catalogue::{validate_request_owned, Catalogue as CoreCatalogue};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::guard;

/// A parsed `inference_settings.json`.
#[napi]
pub struct Catalogue {
    inner: CoreCatalogue,
}

impl Catalogue {
    /// The core catalogue (for other binding modules).
    pub fn core(&self) -> &CoreCatalogue {
        &self.inner
    }
}

#[napi]
impl Catalogue {
    /// Parses catalogue JSON text; structural errors throw `config_invalid` with the path.
    #[napi(factory)]
    pub fn from_json(env: Env, text: String) -> napi::Result<Self> {
        Ok(Catalogue {
            inner: guard(&env, || CoreCatalogue::from_json(&text))?,
        })
    }

    /// Self-checks: `{ errors: [{ path, message }], warnings: [...] }`.
    #[napi]
    pub fn check(&self) -> serde_json::Value {
        let (errors, warnings) = self.inner.check();
        serde_json::json!({ "errors": errors, "warnings": warnings })
    }

    /// Validates a `POST /generate` body; returns `{ model_id, kind, mode, payload }` or throws
    /// `validation_error` with every violation in `metadata.violations`.
    #[napi]
    pub fn validate_request(
        &self,
        env: Env,
        request: serde_json::Value,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            let ok = validate_request_owned(&self.inner, request)?;
            serde_json::to_value(ok).map_err(|e| {
                inferwarden::Error::with_detail(
                    inferwarden::ErrorCode::InternalError,
                    e.to_string(),
                )
            })
        })
    }
}
