//! The typed catalogue. Unknown keys are kept in `extra` maps (and reported by
//! [`Catalogue::check`] as warnings), so a round trip never drops data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::condition::Condition;
use super::request_value::RequestValue;
use crate::error::{Error, ErrorCode};

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Integer.
    Int,
    /// Number.
    Float,
    /// Text.
    String,
    /// One of `options`.
    Enum,
    /// An uploaded image reference.
    ImageUpload,
    /// A list of keyframes.
    KeyframeArray,
}

/// One parameter definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parameter {
    /// Type.
    #[serde(rename = "type")]
    pub kind: ParamType,
    /// Default value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    /// Minimum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Step grid (from `min`, or 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    /// Allowed values (`enum`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Value>>,
    /// Always required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// Required when the condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<String>,
    /// Visible (accepted) only when the condition holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_if: Option<String>,
    /// Maximum string length.
    #[serde(default, rename = "maxLength", skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Everything else (`label`, `help`, `accepts`, ...).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
    /// `visible_if` and `required_if` parsed at load (when they parse), so request
    /// validation never looks a condition up by its text.
    #[serde(skip)]
    pub(crate) parsed: ParsedConditions,
}

/// A parameter's conditions, parsed once, and whether its default is one that request
/// validation would refuse (such a default is never filled into a payload).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ParsedConditions {
    pub(crate) visible_if: Option<Condition>,
    pub(crate) required_if: Option<Condition>,
    pub(crate) default_invalid: bool,
}

/// A mode of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mode {
    /// Label.
    #[serde(default)]
    pub label: String,
    /// Whether a reference image is required.
    #[serde(default)]
    pub requires_reference: bool,
    /// Everything else.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A fixed parameter value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedParameter {
    /// The value.
    pub value: Value,
    /// Whether requests may not change it.
    #[serde(default)]
    pub locked: bool,
    /// Everything else (`recommended`, `warning`).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
    /// Whether request validation would refuse this value for its parameter (set at load;
    /// such a value is never filled into a payload).
    #[serde(skip)]
    pub(crate) invalid: bool,
}

/// How a request body carries its parameters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestShape {
    /// `{"model", "type"?, "mode"?, "parameters": {...}}`.
    #[default]
    Nested,
    /// `{"model", "type"?, "mode"?, ...parameters}`: parameters beside the routing keys.
    Flat,
}

impl RequestShape {
    /// Parses `nested` or `flat`; anything else is `config_invalid`.
    pub fn parse(text: &str) -> Result<RequestShape, Error> {
        match text {
            "nested" => Ok(RequestShape::Nested),
            "flat" => Ok(RequestShape::Flat),
            other => Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                format!("request shape {other:?} is not nested or flat"),
            )),
        }
    }
}

/// What loading does with a default or fixed value that request validation would refuse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidValues {
    /// Refuse the catalogue (`config_invalid`, every such value listed).
    #[default]
    Refuse,
    /// Load it, report the values in `check()`, and never fill them into a payload.
    Warn,
}

impl InvalidValues {
    /// Parses `refuse` or `warn`; anything else is `config_invalid`.
    pub fn parse(text: &str) -> Result<InvalidValues, Error> {
        match text {
            "refuse" => Ok(InvalidValues::Refuse),
            "warn" => Ok(InvalidValues::Warn),
            other => Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                format!("invalid_values {other:?} is not refuse or warn"),
            )),
        }
    }
}

impl CatalogueOptions {
    /// Options from their names (`nested`/`flat`, `refuse`/`warn`); `None` keeps a default.
    pub fn parse(request_shape: Option<&str>, invalid_values: Option<&str>) -> Result<Self, Error> {
        Ok(CatalogueOptions {
            request_shape: request_shape
                .map(RequestShape::parse)
                .transpose()?
                .unwrap_or_default(),
            invalid_values: invalid_values
                .map(InvalidValues::parse)
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// How a catalogue is loaded for validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogueOptions {
    /// The request shape `validate_request` expects unless told otherwise.
    pub request_shape: RequestShape,
    /// What to do with defaults and fixed values validation would refuse.
    pub invalid_values: InvalidValues,
}

/// One model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Internal id.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// `image` or `video`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Modes by key.
    #[serde(default)]
    pub modes: BTreeMap<String, Mode>,
    /// The default mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<String>,
    /// Parameters by name.
    #[serde(default)]
    pub parameters: BTreeMap<String, Parameter>,
    /// Fixed parameters by name.
    #[serde(default)]
    pub fixed_parameters: BTreeMap<String, FixedParameter>,
    /// Public names that map to this model.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Everything else (`category`, `description`, `recommended_resolutions`, `metadata`).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    /// Version.
    #[serde(default)]
    pub version: Value,
    /// Parameters shared by all models.
    #[serde(default)]
    pub common: BTreeMap<String, Parameter>,
    /// Image models by display key.
    #[serde(default)]
    pub image_models: BTreeMap<String, Model>,
    /// Video models by display key.
    #[serde(default)]
    pub video_models: BTreeMap<String, Model>,
    /// Alias -> internal id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aliases: BTreeMap<String, String>,
    /// Everything else (`available_modes`, `default_mode`, `workflows`, presets, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// Every condition text of the catalogue, parsed once at load.
    #[serde(skip)]
    conditions: std::collections::HashMap<String, Result<Condition, String>>,
    /// Where each JSON path's value starts in the loaded text (line, column), so every
    /// self-check issue points at `file:line`.
    #[serde(skip)]
    positions: std::collections::HashMap<String, (u32, u32)>,
    /// The request shape validation expects by default.
    #[serde(skip)]
    pub(crate) request_shape: RequestShape,
}

/// One catalogue problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogueIssue {
    /// JSON path (`video_models.wan.parameters.steps.default`).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line of the path's value in the catalogue text (when known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column (characters) of that value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Catalogue {
    /// Parses catalogue JSON for nested requests, refusing a default or fixed value that
    /// request validation would reject ([`Catalogue::from_json_with`] to choose). A
    /// structural error is `config_invalid` with the JSON path.
    pub fn from_json(text: &str) -> Result<Catalogue, Error> {
        Self::from_json_with(text, CatalogueOptions::default())
    }

    /// Parses catalogue JSON with `options`: the default request shape, and whether a
    /// default or fixed value that validation would refuse fails the load (`config_invalid`
    /// with `metadata.issues`, each with its `file:line`) or is only reported by
    /// [`Catalogue::check`] and never filled into a payload.
    pub fn from_json_with(text: &str, options: CatalogueOptions) -> Result<Catalogue, Error> {
        let mut catalogue = Self::from_json_unchecked(text)?;
        catalogue.request_shape = options.request_shape;
        if options.invalid_values == InvalidValues::Refuse {
            let issues: Vec<CatalogueIssue> = catalogue
                .check()
                .0
                .into_iter()
                .filter(|i| i.path.ends_with(".default") || i.path.ends_with(".value"))
                .collect();
            if !issues.is_empty() {
                let list = issues
                    .iter()
                    .map(|i| match i.line {
                        Some(line) => format!("{} (line {line}): {}", i.path, i.message),
                        None => format!("{}: {}", i.path, i.message),
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(Error::with_detail(
                    ErrorCode::ConfigInvalid,
                    format!("catalogue: values request validation would refuse: {list}"),
                )
                .meta("issues", serde_json::to_value(&issues).unwrap_or_default()));
            }
        }
        Ok(catalogue)
    }

    /// The request shape validation expects unless told otherwise.
    pub fn request_shape(&self) -> RequestShape {
        self.request_shape
    }

    fn from_json_unchecked(text: &str) -> Result<Catalogue, Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let mut catalogue: Catalogue = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            Error::with_detail(
                ErrorCode::ConfigInvalid,
                format!("catalogue: {}: {}", e.path(), e.inner()),
            )
            .meta("path", e.path().to_string())
        })?;
        catalogue.parse_conditions();
        catalogue.positions = super::json_locations::value_positions(text);
        Ok(catalogue)
    }

    /// Parses every `visible_if` / `required_if` once (call again after editing the model).
    pub fn parse_conditions(&mut self) {
        let texts: Vec<String> = self
            .models()
            .flat_map(|(_, m)| m.parameters.values())
            .chain(self.common.values())
            .flat_map(|p| [p.visible_if.clone(), p.required_if.clone()])
            .flatten()
            .collect();
        self.conditions = texts
            .into_iter()
            .map(|t| {
                let parsed = Condition::parse(&t).map_err(|e| e.detail().to_owned());
                (t, parsed)
            })
            .collect();
        let parse = |text: &Option<String>| text.as_deref().and_then(|t| Condition::parse(t).ok());
        let params = self
            .common
            .values_mut()
            .chain(
                self.image_models
                    .values_mut()
                    .flat_map(|m| m.parameters.values_mut()),
            )
            .chain(
                self.video_models
                    .values_mut()
                    .flat_map(|m| m.parameters.values_mut()),
            );
        for p in params {
            let default_invalid = p
                .default
                .as_ref()
                .is_some_and(|d| value_problem(p, d).is_some());
            p.parsed = ParsedConditions {
                visible_if: parse(&p.visible_if),
                required_if: parse(&p.required_if),
                default_invalid,
            };
        }
        let common = &self.common;
        for m in self
            .image_models
            .values_mut()
            .chain(self.video_models.values_mut())
        {
            for (name, f) in m.fixed_parameters.iter_mut() {
                let def = m.parameters.get(name).or_else(|| common.get(name));
                f.invalid = def.is_some_and(|p| value_problem(p, &f.value).is_some());
            }
        }
    }

    /// The parsed form of a condition text (parsed now if it was not seen at load).
    pub fn condition(&self, text: &str) -> Result<std::borrow::Cow<'_, Condition>, Error> {
        let invalid = |why: &str| {
            Error::with_detail(
                ErrorCode::ConfigInvalid,
                format!("catalogue condition is invalid: {why}"),
            )
        };
        match self.conditions.get(text) {
            Some(Ok(c)) => Ok(std::borrow::Cow::Borrowed(c)),
            Some(Err(e)) => Err(invalid(e)),
            None => Condition::parse(text)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| invalid(e.detail())),
        }
    }

    /// A model's `metadata.vram_min_gb` (by key, id or alias): `Ok(None)` when the model
    /// states none, `validation_error` for an unknown model or a value that is not a
    /// non-negative number.
    pub fn vram_min_gb(&self, name: &str) -> Result<Option<f64>, Error> {
        let (_, model) = self.find(name).ok_or_else(|| {
            Error::with_detail(ErrorCode::ValidationError, "unknown model")
                .meta("model", name.to_owned())
        })?;
        match model
            .extra
            .get("metadata")
            .and_then(|m| m.get("vram_min_gb"))
        {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_f64() {
                Some(gb) if gb.is_finite() && gb >= 0.0 => Ok(Some(gb)),
                _ => Err(Error::with_detail(
                    ErrorCode::ValidationError,
                    "metadata.vram_min_gb must be a non-negative number",
                )
                .meta("model", model.id.clone())),
            },
        }
    }

    /// Every model with its display key, image models first.
    pub fn models(&self) -> impl Iterator<Item = (&String, &Model)> {
        self.image_models.iter().chain(self.video_models.iter())
    }

    /// Finds a model by display key, id, or alias (top-level or per model).
    pub fn find(&self, name: &str) -> Option<(&String, &Model)> {
        let target = self.aliases.get(name).map(String::as_str).unwrap_or(name);
        self.models().find(|(key, m)| {
            key.as_str() == target || m.id == target || m.aliases.iter().any(|a| a == name)
        })
    }

    /// Self-checks: ids unique, aliases resolve, default modes exist, defaults within
    /// range/step/options, fixed values within range, conditions parse and name existing
    /// modes. Returns `(errors, warnings)`; unknown keys are warnings.
    pub fn check(&self) -> (Vec<CatalogueIssue>, Vec<CatalogueIssue>) {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut ids = std::collections::HashSet::new();
        for (alias, target) in &self.aliases {
            if !self.models().any(|(_, m)| &m.id == target) {
                errors.push(CatalogueIssue {
                    path: format!("aliases.{alias}"),
                    message: format!("alias points to unknown model id {target:?}"),
                    line: None,
                    column: None,
                });
            }
        }
        for (section, models) in [
            ("image_models", &self.image_models),
            ("video_models", &self.video_models),
        ] {
            for (key, m) in models {
                let base = format!("{section}.{key}");
                if !ids.insert(m.id.clone()) {
                    errors.push(CatalogueIssue {
                        path: format!("{base}.id"),
                        message: format!("duplicate model id {:?}", m.id),
                        line: None,
                        column: None,
                    });
                }
                let expected_kind = if section == "image_models" {
                    "image"
                } else {
                    "video"
                };
                if m.kind != expected_kind {
                    errors.push(CatalogueIssue {
                        path: format!("{base}.type"),
                        message: format!("expected {expected_kind:?}, found {:?}", m.kind),
                        line: None,
                        column: None,
                    });
                }
                if let Some(d) = &m.default_mode {
                    if !m.modes.contains_key(d) {
                        errors.push(CatalogueIssue {
                            path: format!("{base}.default_mode"),
                            message: format!("{d:?} is not one of the modes"),
                            line: None,
                            column: None,
                        });
                    }
                }
                for k in m
                    .extra
                    .keys()
                    .filter(|k| !KNOWN_MODEL_EXTRAS.contains(&k.as_str()))
                {
                    warnings.push(CatalogueIssue {
                        path: format!("{base}.{k}"),
                        message: "unknown key (kept)".into(),
                        line: None,
                        column: None,
                    });
                }
                // Common parameters: conditions against each model's modes here, their
                // defaults once below, at their own path.
                for (pname, p) in &self.common {
                    check_parameter(&format!("common.{pname}"), p, m, false, &mut errors);
                }
                for (pname, p) in &m.parameters {
                    check_parameter(
                        &format!("{base}.parameters.{pname}"),
                        p,
                        m,
                        true,
                        &mut errors,
                    );
                }
                for (fname, f) in &m.fixed_parameters {
                    if let Some(p) = m.parameters.get(fname).or_else(|| self.common.get(fname)) {
                        if let Some(problem) = value_problem(p, &f.value) {
                            errors.push(CatalogueIssue {
                                path: format!("{base}.fixed_parameters.{fname}.value"),
                                message: problem,
                                line: None,
                                column: None,
                            });
                        }
                    }
                }
            }
        }
        for (pname, p) in &self.common {
            if let Some(problem) = p.default.as_ref().and_then(|d| value_problem(p, d)) {
                errors.push(CatalogueIssue {
                    path: format!("common.{pname}.default"),
                    message: problem,
                    line: None,
                    column: None,
                });
            }
        }
        // (A common condition naming a mode a model lacks is reported for each such model.)
        for issue in errors.iter_mut().chain(warnings.iter_mut()) {
            if let Some((line, column)) = self.position(&issue.path) {
                issue.line = Some(line);
                issue.column = Some(column);
            }
        }
        (errors, warnings)
    }

    /// Where the value at JSON `path` starts in the loaded text: `(line, column)`, 1-based.
    pub fn position(&self, path: &str) -> Option<(u32, u32)> {
        self.positions.get(path).copied()
    }
}

const KNOWN_MODEL_EXTRAS: [&str; 5] = [
    "category",
    "description",
    "recommended_resolutions",
    "metadata",
    "workflow",
];

fn check_parameter(
    path: &str,
    p: &Parameter,
    m: &Model,
    check_default: bool,
    errors: &mut Vec<CatalogueIssue>,
) {
    for (field, cond) in [
        ("visible_if", &p.visible_if),
        ("required_if", &p.required_if),
    ] {
        if let Some(text) = cond {
            match Condition::parse(text) {
                Ok(c) => {
                    for mode in c.modes() {
                        if !m.modes.is_empty() && !m.modes.contains_key(mode) {
                            errors.push(CatalogueIssue {
                                path: format!("{path}.{field}"),
                                message: format!("condition names unknown mode {mode:?}"),
                                line: None,
                                column: None,
                            });
                        }
                    }
                }
                Err(e) => errors.push(CatalogueIssue {
                    path: format!("{path}.{field}"),
                    message: e.detail().to_owned(),
                    line: None,
                    column: None,
                }),
            }
        }
    }
    if let Some(d) = p.default.as_ref().filter(|_| check_default) {
        if let Some(problem) = value_problem(p, d) {
            errors.push(CatalogueIssue {
                path: format!("{path}.default"),
                message: problem,
                line: None,
                column: None,
            });
        }
    }
}

/// Whether a problem is the value's JSON type (`invalid_type`) or its value
/// (`invalid_value`: range, step, options, length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProblemKind {
    /// Not the parameter's type (a non-integral number for an int, text for a number).
    Type,
    /// The right type, but out of range, off the step grid, not an option, too long.
    Value,
}

impl ProblemKind {
    /// The violation rule.
    pub(crate) fn rule(self) -> &'static str {
        match self {
            ProblemKind::Type => "invalid_type",
            ProblemKind::Value => "invalid_value",
        }
    }
}

/// Whether `v` equals the JSON value `other`, numbers compared by value as JSON Schema and
/// Pydantic's lax mode do (`1` equals `1.0`; JavaScript sends `1.0` as `1`).
pub(crate) fn json_equals<V: RequestValue + ?Sized>(v: &V, other: &Value) -> bool {
    match (other, v.as_f64()) {
        (Value::Number(n), Some(x)) => n.as_f64() == Some(x),
        _ => v.equals_json(other),
    }
}

/// Why `v` is not acceptable for `p` (type, range, step, options, length), if it is not.
pub(crate) fn value_problem<V: RequestValue + ?Sized>(p: &Parameter, v: &V) -> Option<String> {
    value_problem_kind(p, v).map(|(_, message)| message)
}

/// [`value_problem`] with the kind of problem.
pub(crate) fn value_problem_kind<V: RequestValue + ?Sized>(
    p: &Parameter,
    v: &V,
) -> Option<(ProblemKind, String)> {
    let value = |m: String| Some((ProblemKind::Value, m));
    let kind = |m: String| Some((ProblemKind::Type, m));
    match p.kind {
        ParamType::Int | ParamType::Float => {
            let Some(x) = v.as_f64() else {
                return kind(format!("expected a number, found {}", v.to_json()));
            };
            if p.kind == ParamType::Int && x.fract() != 0.0 {
                return kind(format!("expected an integer, found {}", v.to_json()));
            }
            if let Some(min) = p.min {
                if x < min {
                    return value(format!("{x} is below the minimum {min}"));
                }
            }
            if let Some(max) = p.max {
                if x > max {
                    return value(format!("{x} is above the maximum {max}"));
                }
            }
            if let Some(step) = p.step.filter(|s| *s > 0.0) {
                let k = (x - p.min.unwrap_or(0.0)) / step;
                if (k - k.round()).abs() > 1e-9 {
                    return value(format!("{x} is not on the step grid of {step}"));
                }
            }
            None
        }
        ParamType::String | ParamType::ImageUpload => match v.as_str() {
            None => kind(format!("expected text, found {}", v.to_json())),
            Some(s) if p.max_length.is_some_and(|m| s.chars().count() as u64 > m) => value(
                format!("longer than {} characters", p.max_length.unwrap_or(0)),
            ),
            Some(_) => None,
        },
        ParamType::Enum => match &p.options {
            Some(opts) if opts.iter().any(|o| json_equals(v, o)) => None,
            _ => value(format!("{} is not one of the options", v.to_json())),
        },
        ParamType::KeyframeArray => {
            if v.is_array() {
                None
            } else {
                kind(format!("expected a list, found {}", v.to_json()))
            }
        }
    }
}
