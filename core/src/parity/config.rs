//! `parity.toml`: which file restates which part of the catalogue. Every field has a default
//! for conventional names, so a tree with `src/inference_settings.json`, a Python
//! `MODELS_SCHEMA` list and a TypeScript `ModelId` union needs no configuration beyond the
//! list of files.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::error::{Error, ErrorCode};

/// The parity configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParityConfig {
    /// The catalogue, relative to the root.
    #[serde(default = "default_catalogue")]
    pub catalogue: String,
    /// Python sources.
    #[serde(default)]
    pub python: Vec<PythonSource>,
    /// TypeScript/TSX sources.
    #[serde(default)]
    pub typescript: Vec<TypeScriptSource>,
    /// Where `parity generate` writes the mirrors.
    #[serde(default)]
    pub generate: GenerateTargets,
}

/// The generated mirrors' paths, relative to the root (each optional).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateTargets {
    /// The TypeScript module.
    pub typescript: Option<String>,
    /// The Python module.
    pub python: Option<String>,
}

fn default_catalogue() -> String {
    "src/inference_settings.json".into()
}

/// One Python file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonSource {
    /// Path relative to the root.
    pub path: String,
    /// Pydantic request class -> the catalogue model (id) it mirrors.
    #[serde(default)]
    pub models: BTreeMap<String, String>,
    /// Module constant -> catalogue path `MODEL.parameters.NAME.ATTR` or
    /// `MODEL.fixed_parameters.NAME.ATTR`.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
}

/// One TypeScript/TSX file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeScriptSource {
    /// Path relative to the root.
    pub path: String,
    /// Type aliases that list every model id (default `ModelId`).
    #[serde(default = "default_unions")]
    pub model_unions: BTreeSet<String>,
    /// `a.b.c ?? {...}` fallback -> the catalogue model (id) the object restates.
    #[serde(default)]
    pub fallbacks: BTreeMap<String, String>,
}

fn default_unions() -> BTreeSet<String> {
    BTreeSet::from(["ModelId".to_owned()])
}

impl ParityConfig {
    /// Parses `parity.toml` text.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        toml::from_str(text).map_err(|e| {
            Error::with_detail(
                ErrorCode::ConfigInvalid,
                format!("parity.toml: {}", e.message()),
            )
        })
    }
}
