//! Facts against the catalogue: each disagreement becomes one finding with both locations.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::facts::{Fact, FactKind};
use super::findings::{Finding, Severity};
use super::location::{LineIndex, Location};

/// The catalogue as the comparison sees it: the raw JSON (paths are looked up in it) and
/// where each path starts in the file.
pub struct CatalogueView<'a> {
    json: &'a Value,
    offsets: HashMap<String, usize>,
    index: LineIndex<'a>,
}

impl<'a> CatalogueView<'a> {
    /// A view of the catalogue file `file` with content `text`, parsed as `json`.
    pub fn new(file: &str, text: &'a str, json: &'a Value) -> Self {
        CatalogueView {
            json,
            offsets: crate::catalogue::json_locations::value_offsets(text),
            index: LineIndex::new(file, text),
        }
    }

    fn at(&self, path: &str) -> Option<Location> {
        self.offsets.get(path).map(|o| self.index.locate(*o))
    }

    /// The value at a dotted path; keys may themselves contain dots (`wan-2.2`).
    fn get(&self, path: &str) -> Option<&'a Value> {
        fn walk<'v>(v: &'v Value, rest: &str) -> Option<&'v Value> {
            if rest.is_empty() {
                return Some(v);
            }
            v.as_object()?.iter().find_map(|(k, child)| {
                let tail = rest.strip_prefix(k.as_str())?;
                match tail.strip_prefix('.') {
                    Some(t) => walk(child, t),
                    None if tail.is_empty() => Some(child),
                    None => None,
                }
            })
        }
        walk(self.json, path)
    }

    /// `(catalogue path of the model, its id)` for an id or an alias.
    fn model(&self, name: &str) -> Option<(String, String)> {
        let id = self
            .json
            .get("aliases")
            .and_then(|a| a.get(name))
            .and_then(Value::as_str)
            .unwrap_or(name);
        for group in ["image_models", "video_models"] {
            for (key, model) in self
                .json
                .get(group)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let aliases = model.get("aliases").and_then(Value::as_array);
                if model.get("id").and_then(Value::as_str) == Some(id)
                    || aliases.is_some_and(|a| a.iter().any(|x| x.as_str() == Some(name)))
                {
                    let id = model.get("id").and_then(Value::as_str).unwrap_or(id);
                    return Some((format!("{group}.{key}"), id.to_owned()));
                }
            }
        }
        None
    }

    /// Every model id and alias.
    pub fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.ids().into_iter().collect();
        if let Some(a) = self.json.get("aliases").and_then(Value::as_object) {
            names.extend(a.keys().cloned());
        }
        names
    }

    fn ids(&self) -> Vec<String> {
        ["image_models", "video_models"]
            .iter()
            .flat_map(|g| {
                self.json
                    .get(*g)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
            })
            .filter_map(|(_, m)| m.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().all(|v| y.iter().any(|w| same(v, w)))
        }
        _ => a == b,
    }
}

struct Out<'v, 'a> {
    view: &'v CatalogueView<'a>,
    findings: Vec<Finding>,
    /// (file, model path, parameter) already reported as extra: one finding per parameter.
    extra: BTreeSet<(String, String, String)>,
}

impl Out<'_, '_> {
    fn push(
        &mut self,
        rule: &'static str,
        fact: &Fact,
        path: Option<String>,
        expected: Value,
        found: Value,
        message: String,
    ) {
        let catalogue_at = path.as_deref().and_then(|p| self.view.at(p));
        let severity = if rule == "hardcoded_model_in_ui" {
            Severity::Warning
        } else {
            Severity::Error
        };
        self.findings.push(Finding {
            rule,
            severity,
            message,
            source: fact.at.clone(),
            catalogue_path: path,
            catalogue_at,
            expected,
            found,
        });
    }

    fn compare_at(&mut self, rule: &'static str, fact: &Fact, path: String, what: &str) {
        let expected = self.view.get(&path).cloned().unwrap_or(Value::Null);
        if !same(&expected, &fact.value) {
            let message = format!(
                "{what}: the catalogue says {expected}, this source says {}",
                fact.value
            );
            self.push(
                rule,
                fact,
                Some(path),
                expected,
                fact.value.clone(),
                message,
            );
        }
    }
}

/// Compares `facts` with the catalogue.
pub fn compare(view: &CatalogueView<'_>, facts: &[Fact]) -> Vec<Finding> {
    let mut out = Out {
        view,
        findings: Vec::new(),
        extra: BTreeSet::new(),
    };
    for fact in facts {
        let model = fact.model.as_deref().map(|m| (m, view.model(m)));
        match (&fact.kind, model) {
            (FactKind::ModelSet(listed), _) => {
                let names = view.names();
                for (id, at) in listed {
                    if !names.contains(id) {
                        let f = Fact {
                            at: at.clone(),
                            ..fact.clone()
                        };
                        out.push(
                            "model_extra",
                            &f,
                            None,
                            Value::Null,
                            Value::String(id.clone()),
                            format!("model `{id}` is not in the catalogue"),
                        );
                    }
                }
                for id in view.ids() {
                    let covered = listed
                        .iter()
                        .any(|(n, _)| view.model(n).is_some_and(|(_, i)| i == id));
                    if !covered {
                        let path = view.model(&id).map(|(p, _)| p);
                        out.push(
                            "model_missing",
                            fact,
                            path,
                            Value::String(id.clone()),
                            Value::Null,
                            format!("catalogue model `{id}` is missing here"),
                        );
                    }
                }
            }
            (FactKind::Alias(alias), Some((name, resolved))) if matches!(&fact.value, Value::String(t) if t == name) =>
            {
                // A Pydantic `model: Literal[...]` value: the model's id or one of its aliases.
                let ok = resolved.as_ref().is_some_and(|(_, id)| {
                    alias == id || view.model(alias).is_some_and(|(_, i)| &i == id)
                });
                if !ok {
                    let path = resolved.map(|(p, _)| format!("{p}.id"));
                    out.push(
                        "alias_differs",
                        fact,
                        path,
                        fact.value.clone(),
                        Value::String(alias.clone()),
                        format!("`{alias}` is not an id or alias of model `{name}`"),
                    );
                }
            }
            (FactKind::Alias(alias), _) => {
                let path = format!("aliases.{alias}");
                out.compare_at("alias_differs", fact, path, &format!("alias `{alias}`"));
            }
            (_, Some((name, None))) => {
                out.push(
                    "model_extra",
                    fact,
                    None,
                    Value::Null,
                    Value::String(name.to_owned()),
                    format!("model `{name}` is not in the catalogue"),
                );
            }
            (FactKind::HardCodedModel, Some((name, _))) => {
                out.push("hardcoded_model_in_ui", fact, None, Value::Null, fact.value.clone(), format!("behaviour hard-coded for model `{name}` (compare catalogue attributes instead)"));
            }
            (FactKind::ModelType, Some((_, Some((p, _))))) => {
                out.compare_at("type_differs", fact, format!("{p}.type"), "model type")
            }
            (FactKind::DefaultMode, Some((_, Some((p, _))))) => out.compare_at(
                "default_differs",
                fact,
                format!("{p}.default_mode"),
                "default mode",
            ),
            (FactKind::Modes, Some((_, Some((p, _))))) => {
                let expected: Vec<Value> = view
                    .get(&format!("{p}.modes"))
                    .and_then(Value::as_object)
                    .map(|m| m.keys().cloned().map(Value::String).collect())
                    .unwrap_or_default();
                let expected = Value::Array(expected);
                if !same(&expected, &fact.value) {
                    out.push(
                        "mode_set_differs",
                        fact,
                        Some(format!("{p}.modes")),
                        expected.clone(),
                        fact.value.clone(),
                        format!(
                            "modes: the catalogue has {expected}, this source has {}",
                            fact.value
                        ),
                    );
                }
            }
            (FactKind::Fixed { name, attr }, Some((_, Some((p, _))))) => {
                out.compare_at(
                    "fixed_differs",
                    fact,
                    format!("{p}.fixed_parameters.{name}.{attr}"),
                    &format!("fixed `{name}`.{attr}"),
                );
            }
            (FactKind::Param { name, attr }, Some((_, Some((p, _))))) => {
                // Presentational attributes (`label`, `help`, ...) are not constraints.
                let rule = match attr.as_str() {
                    "default" => "default_differs",
                    "options" => "options_differ",
                    "type" => "type_differs",
                    "min" | "max" | "step" | "maxLength" => "range_differs",
                    _ => continue,
                };
                let own = format!("{p}.parameters.{name}");
                let common = format!("common.{name}");
                let fixed = format!("{p}.fixed_parameters.{name}");
                if view.get(&own).is_some() {
                    out.compare_at(
                        rule,
                        fact,
                        format!("{own}.{attr}"),
                        &format!("`{name}`.{attr}"),
                    );
                } else if view.get(&common).is_some() {
                    out.compare_at(
                        rule,
                        fact,
                        format!("{common}.{attr}"),
                        &format!("`{name}`.{attr}"),
                    );
                } else if view.get(&fixed).is_some() && attr == "default" {
                    out.compare_at(
                        "fixed_differs",
                        fact,
                        format!("{fixed}.value"),
                        &format!("fixed `{name}`"),
                    );
                } else if out
                    .extra
                    .insert((fact.at.file.clone(), p.clone(), name.clone()))
                {
                    out.push(
                        "parameter_extra",
                        fact,
                        Some(format!("{p}.parameters")),
                        Value::Null,
                        Value::String(name.clone()),
                        format!("parameter `{name}` is not in the catalogue model"),
                    );
                }
            }
            _ => {}
        }
    }
    out.findings
}
