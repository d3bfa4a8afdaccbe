//! `parity.toml`: which file restates which part of the catalogue. Every field has a default
//! for conventional names, so a tree with `src/inference_settings.json`, a Python
//! `MODELS_SCHEMA` list and a TypeScript `ModelId` union needs no configuration beyond the
//! list of files. The reference of every key is `docs/parity.md`.
//!
//! The configuration keeps its own text so that a mistake found later (a class that is not
//! in its file, a model id the catalogue lacks) is reported at the key's `parity.toml:line`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::location::{LineIndex, Location};
use crate::error::{Error, ErrorCode};

/// The file name of the configuration, relative to the checked tree's root.
pub const CONFIG_FILE: &str = "parity.toml";

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
    /// The TOML text this configuration was read from (for locating keys).
    #[serde(skip)]
    pub text: String,
}

/// The generated mirrors' paths, relative to the root (each optional).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateTargets {
    /// The TypeScript module.
    pub typescript: Option<String>,
    /// The Python module.
    pub python: Option<String>,
    /// The request shape the generated request models take: `nested` (the parameters
    /// under `parameters`, the default) or `flat` (beside model/type/mode).
    #[serde(default)]
    pub request_shape: crate::catalogue::RequestShape,
}

fn default_catalogue() -> String {
    "src/inference_settings.json".into()
}

/// The catalogue model (id or alias) a request class mirrors, or the models one shared
/// request class serves (`GenerateRequest = ["pony", "flux", "anisora"]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ClassModels {
    /// One model: the class restates that model's parameters.
    One(String),
    /// Several models: the class must accept exactly the union of what they accept.
    Shared(Vec<String>),
}

impl ClassModels {
    /// The model names, in the order written.
    pub fn names(&self) -> Vec<String> {
        match self {
            ClassModels::One(m) => vec![m.clone()],
            ClassModels::Shared(ms) => ms.clone(),
        }
    }
}

/// What a nested per-model table (`{"model-id": {"steps": 50}}`) states for each entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// Each entry is a fixed parameter's value (`fixed_parameters.NAME.value`).
    Fixed,
    /// Each entry is a parameter's default.
    Default,
}

/// One Python file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PythonSource {
    /// Path relative to the root.
    pub path: String,
    /// Pydantic request class -> the catalogue model (id or alias) it mirrors, or a list of
    /// the models a shared (flat) request class serves.
    #[serde(default)]
    pub models: BTreeMap<String, ClassModels>,
    /// Module constant -> catalogue path `MODEL.parameters.NAME.ATTR` or
    /// `MODEL.fixed_parameters.NAME.ATTR`.
    #[serde(default)]
    pub constants: BTreeMap<String, String>,
    /// Module constant holding a per-model table (`{"model-id": {"param": value}}`) -> what
    /// its values are (`fixed` values or parameter `default`s).
    #[serde(default)]
    pub tables: BTreeMap<String, TableKind>,
    /// Names (an `Enum` class, or a constant holding a list) that list every model id.
    /// Default `ModelId`, silently skipped when the file has no such name.
    #[serde(default)]
    pub model_sets: Option<BTreeSet<String>>,
    /// Keys under which a model entry of a model list keeps its parameters.
    #[serde(default = "default_parameter_keys")]
    pub parameter_keys: Vec<String>,
    /// Keys under which a model entry keeps its fixed parameters.
    #[serde(default = "default_fixed_keys")]
    pub fixed_keys: Vec<String>,
    /// Request classes (keys of `models`) that restate only some parameters on purpose: a
    /// parameter the class lacks is then not `parameter_missing`.
    #[serde(default)]
    pub partial: BTreeSet<String>,
}

fn default_parameter_keys() -> Vec<String> {
    vec!["parameters".into(), "parameters_schema".into()]
}

fn default_fixed_keys() -> Vec<String> {
    vec!["fixed_parameters".into()]
}

/// The default model-set names of a Python source.
pub fn default_model_sets() -> BTreeSet<String> {
    BTreeSet::from(["ModelId".to_owned()])
}

/// A form control's value bound to a parameter: the parameter name, or the parameter and
/// the models whose form shows that control.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Binding {
    /// The parameter; the control serves every model that has it.
    Parameter(String),
    /// The parameter and the models (ids or aliases) the control serves.
    Scoped {
        /// The catalogue parameter.
        parameter: String,
        /// The models.
        models: Vec<String>,
    },
}

impl Binding {
    /// The parameter name.
    pub fn parameter(&self) -> &str {
        match self {
            Binding::Parameter(p) | Binding::Scoped { parameter: p, .. } => p,
        }
    }

    /// The models it is scoped to (empty: every model with the parameter).
    pub fn models(&self) -> &[String] {
        match self {
            Binding::Parameter(_) => &[],
            Binding::Scoped { models, .. } => models,
        }
    }
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
    /// The value expression of a form control (`numFrames`, `params.width`, or its setter
    /// `setNumFrames`) -> the parameter it edits. Without an entry, a value expression whose
    /// last name is a catalogue parameter (`settings.num_frames`, `numFrames`) binds to it.
    #[serde(default)]
    pub bindings: BTreeMap<String, Binding>,
}

fn default_unions() -> BTreeSet<String> {
    BTreeSet::from(["ModelId".to_owned()])
}

impl ParityConfig {
    /// Parses `parity.toml` text. A syntax error or an unknown key is `config_invalid` with
    /// its `parity.toml:line:column`.
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let mut config: ParityConfig = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    LineIndex::new(CONFIG_FILE, text)
                        .locate(s.start)
                        .to_string()
                })
                .unwrap_or_else(|| CONFIG_FILE.to_owned());
            Error::with_detail(ErrorCode::ConfigInvalid, format!("{at}: {}", e.message()))
        })?;
        config.text = text.to_owned();
        Ok(config)
    }

    /// Where `needle` is first written inside the `index`-th `[[section]]` table (or the
    /// whole file when `section` is empty): the location a configuration finding points at.
    pub fn locate(&self, section: &str, index: usize, needle: &str) -> Location {
        let lines = LineIndex::new(CONFIG_FILE, &self.text);
        let header = format!("[[{section}]]");
        let mut start = 0;
        let mut end = self.text.len();
        if !section.is_empty() {
            let mut seen = 0;
            let mut offset = 0;
            let mut found = None;
            for line in self.text.split_inclusive('\n') {
                let trimmed = line.trim();
                let subtable = trimmed.starts_with(&format!("[{section}."));
                if trimmed.starts_with('[') && !subtable {
                    if found.is_some() {
                        end = offset;
                        break;
                    }
                    if trimmed == header {
                        if seen == index {
                            found = Some(offset);
                        }
                        seen += 1;
                    }
                }
                offset += line.len();
            }
            start = found.unwrap_or(0);
        }
        let region = &self.text[start..end];
        let at = [format!("\"{needle}\""), needle.to_owned()]
            .iter()
            .find_map(|n| region.find(n.as_str()))
            .map_or(start, |i| start + i);
        lines.locate(at)
    }
}
