//! Mistakes in `parity.toml` found while checking: a path that cannot be read, a class,
//! constant, table, model set, fallback or binding that its file does not define or use, a
//! model id or parameter the catalogue does not have. Each is one `config_error` finding at
//! the key's `parity.toml:line:column` (exit 2), so a typo can never turn the check green by
//! checking nothing.

use std::collections::BTreeSet;

use serde_json::Value;

use super::compare::CatalogueView;
use super::config::{ParityConfig, PythonSource, TypeScriptSource};
use super::facts::SourceFacts;
use super::findings::{Finding, Severity};
use super::location::Location;

/// A finding that is about the input rather than about drift.
pub fn input_finding(rule: &'static str, at: Location, message: String) -> Finding {
    Finding {
        rule,
        severity: Severity::Error,
        message,
        source: at,
        catalogue_path: None,
        catalogue_at: None,
        expected: Value::Null,
        found: Value::Null,
    }
}

/// Collects the configuration findings of one check.
pub struct ConfigCheck<'c> {
    config: &'c ParityConfig,
    names: BTreeSet<String>,
    parameters: &'c BTreeSet<String>,
    /// The findings so far.
    pub findings: Vec<Finding>,
}

impl<'c> ConfigCheck<'c> {
    /// Checks names against `view` (model ids and aliases) and `parameters`.
    pub fn new(
        config: &'c ParityConfig,
        view: &CatalogueView<'_>,
        parameters: &'c BTreeSet<String>,
    ) -> Self {
        ConfigCheck {
            config,
            names: view.names(),
            parameters,
            findings: Vec::new(),
        }
    }

    /// `path` of the `i`-th `[[section]]` table cannot be read.
    pub fn unreadable(&mut self, section: &str, i: usize, path: &str, e: &std::io::Error) {
        self.findings.push(input_finding(
            "config_error",
            self.config.locate(section, i, path),
            format!("`path = \"{path}\"`: cannot read {path}: {e}"),
        ));
    }

    /// The model names every finding about a misnamed model carries in `found`.
    pub fn misnamed_models(&self) -> BTreeSet<String> {
        self.findings
            .iter()
            .filter_map(|f| f.found.as_str().map(str::to_owned))
            .collect()
    }

    fn absent<'n>(
        &mut self,
        section: &str,
        i: usize,
        configured: impl Iterator<Item = (&'n String, &'static str)>,
        got: &SourceFacts,
        how: &str,
        file: &str,
    ) {
        // A file that does not parse defines nothing: its parse error is the finding.
        if !got.errors.is_empty() {
            return;
        }
        for (name, what) in configured {
            if !got.names.contains(name) {
                self.findings.push(input_finding(
                    "config_error",
                    self.config.locate(section, i, name),
                    format!("{what} `{name}` is not {how} {file}"),
                ));
            }
        }
    }

    fn model(&mut self, section: &str, i: usize, model: &str, key: &str) {
        let reported = self
            .findings
            .iter()
            .any(|f| f.found.as_str() == Some(model));
        if self.names.contains(model) || reported {
            return;
        }
        let mut f = input_finding(
            "config_error",
            self.config.locate(section, i, model),
            format!(
                "`{key}` names model `{model}`, which is not in the catalogue (its ids and aliases: {:?})",
                self.names
            ),
        );
        f.found = Value::String(model.to_owned());
        self.findings.push(f);
    }

    /// The `i`-th `[[python]]` source against what its reader found.
    pub fn python(&mut self, i: usize, src: &PythonSource, got: &SourceFacts) {
        let configured = src
            .models
            .keys()
            .map(|k| (k, "class"))
            .chain(src.constants.keys().map(|k| (k, "constant")))
            .chain(src.tables.keys().map(|k| (k, "table")))
            .chain(src.model_sets.iter().flatten().map(|k| (k, "model set")));
        self.absent("python", i, configured, got, "defined in", &src.path);
        for (class, models) in &src.models {
            for model in models.names() {
                self.model("python", i, &model, &format!("models.{class}"));
            }
        }
        for (name, path) in &src.constants {
            let model = path.split('.').next().unwrap_or_default();
            self.model("python", i, model, &format!("constants.{name}"));
        }
    }

    /// The `i`-th `[[typescript]]` source against what its reader found.
    pub fn typescript(&mut self, i: usize, src: &TypeScriptSource, got: &SourceFacts) {
        let configured = src
            .fallbacks
            .keys()
            .map(|k| (k, "fallback"))
            .chain(src.bindings.keys().map(|k| (k, "binding")));
        self.absent("typescript", i, configured, got, "used in", &src.path);
        for (path, model) in &src.fallbacks {
            self.model("typescript", i, model, &format!("fallbacks.{path}"));
        }
        for (expr, binding) in &src.bindings {
            for model in binding.models() {
                self.model("typescript", i, model, &format!("bindings.{expr}"));
            }
            let parameter = binding.parameter();
            if !self.parameters.contains(parameter) {
                self.findings.push(input_finding(
                    "config_error",
                    self.config.locate("typescript", i, parameter),
                    format!(
                        "`bindings.{expr}`: `{parameter}` is not a parameter of any catalogue model"
                    ),
                ));
            }
        }
    }
}
