//! The model catalogue and request validation as a JS class.

use inferwarden::catalogue::{
    validate_request_shaped, Catalogue as CoreCatalogue, CatalogueOptions, RequestShape,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::guard;

/// A parsed `inference_settings.json`.
#[napi]
pub struct Catalogue {
    inner: CoreCatalogue,
}

/// How `Catalogue.fromJson` loads a catalogue.
#[napi(object)]
pub struct CatalogueLoadOptions {
    /// `nested` (default) or `flat`.
    pub request_shape: Option<String>,
    /// `refuse` (default) or `warn`.
    pub invalid_values: Option<String>,
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
    /// `options.requestShape`: `nested` (default) or `flat`; `options.invalidValues`:
    /// `refuse` (default: a default or fixed value validation would reject throws
    /// `config_invalid` naming its path and line) or `warn` (reported by `check()`, never
    /// filled into a payload).
    #[napi(factory)]
    pub fn from_json(
        env: Env,
        text: String,
        options: Option<CatalogueLoadOptions>,
    ) -> napi::Result<Self> {
        Ok(Catalogue {
            inner: guard(&env, || {
                let (shape, invalid) = match &options {
                    Some(o) => (o.request_shape.as_deref(), o.invalid_values.as_deref()),
                    None => (None, None),
                };
                CoreCatalogue::from_json_with(&text, CatalogueOptions::parse(shape, invalid)?)
            })?,
        })
    }

    /// Self-checks: `{ errors: [{ path, message }], warnings: [...] }`.
    #[napi]
    pub fn check(&self) -> serde_json::Value {
        let (errors, warnings) = self.inner.check();
        serde_json::json!({ "errors": errors, "warnings": warnings })
    }

    /// Validates a `POST /generate` body (in `shape`, `nested` or `flat`; default the
    /// catalogue's); returns `{ model_id, kind, mode, payload }` or throws
    /// `validation_error` with every violation in `metadata.violations`.
    #[napi]
    pub fn validate_request(
        &self,
        env: Env,
        request: serde_json::Value,
        shape: Option<String>,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            let shape = match shape {
                Some(s) => RequestShape::parse(&s)?,
                None => self.inner.request_shape(),
            };
            let ok = validate_request_shaped(&self.inner, &request, shape)?;
            serde_json::to_value(ok).map_err(|e| {
                inferwarden::Error::with_detail(
                    inferwarden::ErrorCode::InternalError,
                    e.to_string(),
                )
            })
        })
    }
}
