//! Findings: stable rule ids, severities, and the report of one check.

use serde::Serialize;
use serde_json::Value;

use super::location::Location;

/// The stable rule ids.
pub const RULES: [(&str, &str); 15] = [
    (
        "model_missing",
        "a catalogue model is missing from a source that lists every model",
    ),
    (
        "model_extra",
        "a source names a model the catalogue does not have",
    ),
    ("mode_set_differs", "a model's modes differ"),
    ("default_differs", "a default (parameter or mode) differs"),
    (
        "range_differs",
        "a minimum, maximum, step or maximum length differs",
    ),
    ("options_differ", "an enum's options differ"),
    ("fixed_differs", "a fixed parameter's value or lock differs"),
    ("alias_differs", "an alias maps to another model"),
    ("type_differs", "a model's or parameter's type differs"),
    (
        "parameter_extra",
        "a source restates a parameter the catalogue model does not have",
    ),
    (
        "parameter_missing",
        "a request class lacks a parameter one of its models has",
    ),
    (
        "hardcoded_model_in_ui",
        "UI code compares against a literal model id",
    ),
    ("source_parse_error", "a source file does not parse"),
    (
        "config_error",
        "parity.toml names a file, class, symbol or model that does not exist",
    ),
    (
        "catalogue_location_unknown",
        "internal: a catalogue path has no location",
    ),
];

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Drift: fails the check.
    Error,
    /// Worth a look; does not fail the check.
    Warning,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable rule id (see [`RULES`]).
    pub rule: &'static str,
    /// Severity.
    pub severity: Severity,
    /// One line for humans.
    pub message: String,
    /// Where the source states it.
    pub source: Location,
    /// The catalogue path (`image_models.flux-dev.parameters.steps.max`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalogue_path: Option<String>,
    /// Where that path is in the catalogue file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalogue_at: Option<Location>,
    /// The catalogue's value.
    pub expected: Value,
    /// The source's value.
    pub found: Value,
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParityReport {
    /// Output schema version.
    pub schema_version: u32,
    /// The catalogue file checked against.
    pub catalogue: String,
    /// Source files read.
    pub sources: Vec<String>,
    /// Facts compared.
    pub facts_checked: usize,
    /// Findings, by file and position.
    pub findings: Vec<Finding>,
}

impl ParityReport {
    /// 0 clean, 1 drift, 2 input error (a source that does not parse, or a mistake in
    /// `parity.toml`: a path that cannot be read, a name that does not exist).
    pub fn exit_code(&self) -> u8 {
        if self
            .findings
            .iter()
            .any(|f| matches!(f.rule, "source_parse_error" | "config_error"))
        {
            2
        } else if self.findings.iter().any(|f| f.severity == Severity::Error) {
            1
        } else {
            0
        }
    }
}
