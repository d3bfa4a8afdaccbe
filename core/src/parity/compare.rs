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

    /// Every parameter name (common, own and fixed) of any model.
    pub fn parameter_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        let mut add = |v: Option<&Value>| {
            if let Some(m) = v.and_then(Value::as_object) {
                names.extend(m.keys().cloned());
            }
        };
        add(self.json.get("common"));
        for g in ["image_models", "video_models"] {
            for (_, m) in self
                .json
                .get(g)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                add(m.get("parameters"));
                add(m.get("fixed_parameters"));
            }
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
    /// (file, model scope, parameter) already reported as extra: one finding per parameter.
    extra: BTreeSet<(String, String, String)>,
    /// (file, model) already reported as not in the catalogue: one finding per model.
    unknown: BTreeSet<(String, String)>,
}

/// Where a model keeps one parameter: its own, a common one, or a fixed one.
enum Held {
    Own(String),
    Common(String),
    Fixed(String),
}

impl Held {
    fn path(&self) -> &str {
        match self {
            Held::Own(p) | Held::Common(p) | Held::Fixed(p) => p,
        }
    }
}

/// What a set of models accepts for one parameter, with the catalogue path behind each part.
#[derive(Default)]
struct Envelope {
    /// (model id, where it is held).
    holders: Vec<(String, Held)>,
    min: Option<(Value, String)>,
    max: Option<(Value, String)>,
    /// A model holds it as a parameter without a minimum / maximum: unbounded there.
    open_min: bool,
    open_max: bool,
    /// Every stated step, with its path.
    steps: Vec<(Value, String)>,
    max_length: Option<(Value, String)>,
    open_length: bool,
    options: Vec<Value>,
    options_at: Option<String>,
    /// A model holds it as a parameter without options: any value of its type.
    open_options: bool,
    /// (model id, default, path).
    defaults: Vec<(String, Value, String)>,
    /// Some model holds it as a parameter (not only fixed).
    bounded_by_parameter: bool,
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
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

    /// One `parameter_extra` per (file, model, parameter): `name` is not in the model at
    /// catalogue path `model_path` (reported at its `group`).
    fn extra_parameter(&mut self, fact: &Fact, model_path: &str, name: &str, group: &str) {
        let key = (fact.at.file.clone(), model_path.to_owned(), name.to_owned());
        if self.extra.insert(key) {
            self.push(
                "parameter_extra",
                fact,
                Some(format!("{model_path}.{group}")),
                Value::Null,
                Value::String(name.to_owned()),
                format!("parameter `{name}` is not in the catalogue model"),
            );
        }
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

impl CatalogueView<'_> {
    /// `(path, id)` of each named model (ids or aliases), or of every model when `names` is
    /// empty. Unknown names are left out (the configuration check reports them).
    fn scope(&self, names: &[String]) -> Vec<(String, String)> {
        if names.is_empty() {
            return self.ids().iter().filter_map(|id| self.model(id)).collect();
        }
        let mut out: Vec<(String, String)> = Vec::new();
        for n in names {
            if let Some(m) = self.model(n) {
                if !out.iter().any(|(_, id)| *id == m.1) {
                    out.push(m);
                }
            }
        }
        out
    }

    fn held(&self, model_path: &str, name: &str) -> Option<Held> {
        let own = format!("{model_path}.parameters.{name}");
        let common = format!("common.{name}");
        let fixed = format!("{model_path}.fixed_parameters.{name}");
        if self.get(&own).is_some() {
            Some(Held::Own(own))
        } else if self.get(&fixed).is_some() {
            Some(Held::Fixed(fixed))
        } else if self.get(&common).is_some() {
            Some(Held::Common(common))
        } else {
            None
        }
    }

    /// Every parameter name a request for the model may carry: its own, the common ones,
    /// and its fixed ones that are not locked.
    fn request_parameters(&self, model_path: &str) -> Vec<String> {
        let keys = |path: &str| -> Vec<String> {
            self.get(path)
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let mut names: Vec<String> = Vec::new();
        for n in keys("common")
            .into_iter()
            .chain(keys(&format!("{model_path}.parameters")))
            .chain(keys(&format!("{model_path}.fixed_parameters")))
        {
            let locked = match self.held(model_path, &n) {
                Some(Held::Fixed(path)) => self
                    .get(&format!("{path}.locked"))
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                _ => false,
            };
            if !locked && !names.contains(&n) {
                names.push(n);
            }
        }
        names
    }

    /// What `models` accept for parameter `name`.
    fn envelope(&self, models: &[(String, String)], name: &str) -> Envelope {
        let mut env = Envelope::default();
        let better = |cur: &Option<(Value, String)>, v: &Value, lower: bool| match cur {
            None => true,
            Some((c, _)) => match (num(c), num(v)) {
                (Some(c), Some(v)) => {
                    if lower {
                        v < c
                    } else {
                        v > c
                    }
                }
                _ => false,
            },
        };
        for (path, id) in models {
            let Some(held) = self.held(path, name) else {
                continue;
            };
            let base = held.path().to_owned();
            if let Held::Fixed(_) = held {
                let locked = self
                    .get(&format!("{base}.locked"))
                    .and_then(Value::as_bool)
                    .unwrap_or(true);
                if let Some(v) = self.get(&format!("{base}.value")) {
                    let at = format!("{base}.value");
                    // A locked value is its own minimum and maximum; an unlocked one may be
                    // overridden by any value of its type, so it leaves both sides open.
                    if !locked {
                        env.open_min = true;
                        env.open_max = true;
                    } else {
                        if better(&env.min, v, true) {
                            env.min = Some((v.clone(), at.clone()));
                        }
                        if better(&env.max, v, false) {
                            env.max = Some((v.clone(), at.clone()));
                        }
                    }
                    env.defaults.push((id.clone(), v.clone(), at));
                }
            } else {
                env.bounded_by_parameter = true;
                let attr = |a: &str| {
                    self.get(&format!("{base}.{a}"))
                        .map(|v| (v, format!("{base}.{a}")))
                };
                match attr("min") {
                    Some((v, at)) if better(&env.min, v, true) => env.min = Some((v.clone(), at)),
                    Some(_) => {}
                    None => env.open_min = true,
                }
                match attr("max") {
                    Some((v, at)) if better(&env.max, v, false) => env.max = Some((v.clone(), at)),
                    Some(_) => {}
                    None => env.open_max = true,
                }
                if let Some((v, at)) = attr("step") {
                    env.steps.push((v.clone(), at));
                }
                match attr("maxLength") {
                    Some((v, at)) if better(&env.max_length, v, false) => {
                        env.max_length = Some((v.clone(), at))
                    }
                    Some(_) => {}
                    None => env.open_length = true,
                }
                match attr("options").and_then(|(v, at)| v.as_array().map(|a| (a, at))) {
                    Some((opts, at)) => {
                        env.options_at.get_or_insert(at);
                        for o in opts {
                            if !env.options.iter().any(|x| same(x, o)) {
                                env.options.push(o.clone());
                            }
                        }
                    }
                    None => env.open_options = true,
                }
                if let Some((v, at)) = attr("default") {
                    env.defaults.push((id.clone(), v.clone(), at));
                }
            }
            env.holders.push((id.clone(), held));
        }
        env
    }
}

/// Compares `facts` with the catalogue.
pub fn compare(view: &CatalogueView<'_>, facts: &[Fact]) -> Vec<Finding> {
    let mut out = Out {
        view,
        findings: Vec::new(),
        extra: BTreeSet::new(),
        unknown: BTreeSet::new(),
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
                if !out.unknown.insert((fact.at.file.clone(), name.to_owned())) {
                    continue;
                }
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
                // Only the value and the lock are constraints; `description`, `warning`,
                // `recommended` and the like describe.
                if attr != "value" && attr != "locked" {
                    continue;
                }
                let fixed = format!("{p}.fixed_parameters.{name}");
                if view.get(&fixed).is_some() {
                    out.compare_at(
                        "fixed_differs",
                        fact,
                        format!("{fixed}.{attr}"),
                        &format!("fixed `{name}`.{attr}"),
                    );
                } else if let Some(held) = view.held(&p, name) {
                    if attr == "value" {
                        let path = held.path().to_owned();
                        out.push(
                            "fixed_differs",
                            fact,
                            Some(path),
                            Value::Null,
                            fact.value.clone(),
                            format!("`{name}` is an adjustable parameter in the catalogue; this source fixes it at {}", fact.value),
                        );
                    }
                } else {
                    out.extra_parameter(fact, &p, name, "fixed_parameters");
                }
            }
            (FactKind::SharedParam { models, name, attr }, _) => {
                shared_param(&mut out, fact, models, name, attr);
            }
            (
                FactKind::FieldSet {
                    models,
                    fields,
                    partial,
                },
                _,
            ) => {
                field_set(&mut out, fact, models, fields, *partial);
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
                // Where the model holds it decides what the source is compared with (the
                // same lookup the shared-class comparison uses).
                match view.held(&p, name) {
                    Some(Held::Own(path) | Held::Common(path)) => out.compare_at(
                        rule,
                        fact,
                        format!("{path}.{attr}"),
                        &format!("`{name}`.{attr}"),
                    ),
                    Some(Held::Fixed(fixed)) => {
                        // A fixed parameter is restated by its default or by a one-value
                        // `Literal[...]`; bounds on it are not compared.
                        let single = match (attr.as_str(), &fact.value) {
                            ("default", v) => Some(v.clone()),
                            ("options", Value::Array(vs)) if vs.len() == 1 => Some(vs[0].clone()),
                            _ => None,
                        };
                        if let Some(v) = single {
                            let f = Fact {
                                value: v,
                                ..fact.clone()
                            };
                            out.compare_at(
                                "fixed_differs",
                                &f,
                                format!("{fixed}.value"),
                                &format!("fixed `{name}`"),
                            );
                        }
                    }
                    None => out.extra_parameter(fact, &p, name, "parameters"),
                }
            }
            _ => {}
        }
    }
    out.findings
}

/// The scope key of a set of models (for one `parameter_extra` per parameter and scope).
fn scope_key(models: &[(String, String)]) -> String {
    if models.len() == 1 {
        return models[0].0.clone();
    }
    models
        .iter()
        .map(|(_, id)| id.as_str())
        .collect::<Vec<_>>()
        .join("+")
}

/// A parameter attribute stated once for several models, against their union.
fn shared_param(out: &mut Out<'_, '_>, fact: &Fact, models: &[String], name: &str, attr: &str) {
    let view = out.view;
    let scope = view.scope(models);
    if scope.is_empty() {
        return;
    }
    let env = view.envelope(&scope, name);
    if env.holders.is_empty() {
        if out
            .extra
            .insert((fact.at.file.clone(), scope_key(&scope), name.to_owned()))
        {
            let ids: Vec<&str> = scope.iter().map(|(_, id)| id.as_str()).collect();
            out.push(
                "parameter_extra",
                fact,
                None,
                Value::Null,
                Value::String(name.to_owned()),
                format!("parameter `{name}` is in none of the models {ids:?}"),
            );
        }
        return;
    }
    let what = format!("`{name}`.{attr} (over {})", holders(&env));
    // A side some model leaves open (no bound, or an unlocked fixed value) has no union
    // bound to drift from: a source may bound it as it likes.
    let bound = |b: &Option<(Value, String)>, open: bool| match (b, open) {
        (Some((v, at)), false) => Some((v.clone(), Some(at.clone()))),
        _ => None,
    };
    let (rule, expected, path) = match attr {
        "min" => {
            let Some((v, at)) = bound(&env.min, env.open_min) else {
                return;
            };
            ("range_differs", v, at)
        }
        "max" => {
            let Some((v, at)) = bound(&env.max, env.open_max) else {
                return;
            };
            ("range_differs", v, at)
        }
        "maxLength" => {
            let Some((v, at)) = bound(&env.max_length, env.open_length) else {
                return;
            };
            ("range_differs", v, at)
        }
        "step" => {
            // Compared only when every model that states a step states the same one.
            let Some((first, at)) = env.steps.first() else {
                return;
            };
            if env.steps.iter().any(|(s, _)| !same(s, first)) {
                return;
            }
            ("range_differs", first.clone(), Some(at.clone()))
        }
        "options" => {
            if env.open_options && env.options.is_empty() {
                ("options_differ", Value::Null, None)
            } else {
                (
                    "options_differ",
                    Value::Array(env.options.clone()),
                    env.options_at.clone(),
                )
            }
        }
        "default" => {
            let Some((_, first, at)) = env.defaults.first() else {
                return;
            };
            if env.defaults.iter().any(|(_, d, _)| !same(d, first)) {
                let each: Vec<String> = env
                    .defaults
                    .iter()
                    .map(|(id, d, _)| format!("{id} {d}"))
                    .collect();
                let message = format!(
                    "`{name}`.default: the models' defaults differ ({}), so one default of {} is wrong for some; a shared request should default to None (not sent)",
                    each.join(", "),
                    fact.value
                );
                let expected =
                    Value::Array(env.defaults.iter().map(|(_, d, _)| d.clone()).collect());
                out.push(
                    "default_differs",
                    fact,
                    Some(at.clone()),
                    expected,
                    fact.value.clone(),
                    message,
                );
                return;
            }
            ("default_differs", first.clone(), Some(at.clone()))
        }
        _ => return,
    };
    if !same(&expected, &fact.value) {
        let message = format!(
            "{what}: the catalogue says {expected}, this source says {}",
            fact.value
        );
        out.push(rule, fact, path, expected, fact.value.clone(), message);
    }
}

fn holders(env: &Envelope) -> String {
    env.holders
        .iter()
        .map(|(id, _)| id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A request class's fields against its models: parameters it lacks, fields no model has,
/// and fields that state no bound or options where the catalogue has them.
fn field_set(
    out: &mut Out<'_, '_>,
    fact: &Fact,
    models: &[String],
    fields: &[super::facts::Field],
    partial: bool,
) {
    let view = out.view;
    let scope = view.scope(models);
    if scope.is_empty() {
        return;
    }
    let key = scope_key(&scope);
    if !partial {
        let mut wanted: Vec<(String, Vec<String>, String)> = Vec::new();
        for (path, id) in &scope {
            for name in view.request_parameters(path) {
                let at = view
                    .held(path, &name)
                    .map(|h| h.path().to_owned())
                    .unwrap_or_default();
                match wanted.iter_mut().find(|(n, _, _)| *n == name) {
                    Some((_, ids, _)) => ids.push(id.clone()),
                    None => wanted.push((name, vec![id.clone()], at)),
                }
            }
        }
        for (name, ids, at) in wanted {
            if fields.iter().any(|f| f.name == name) {
                continue;
            }
            out.push(
                "parameter_missing",
                fact,
                Some(at),
                Value::String(name.clone()),
                Value::Null,
                format!(
                    "parameter `{name}` (of {}) is missing from this request class: it is refused or dropped",
                    ids.join(", ")
                ),
            );
        }
    }
    for field in fields {
        let env = view.envelope(&scope, &field.name);
        let at = Fact {
            at: field.at.clone(),
            ..fact.clone()
        };
        if env.holders.is_empty() {
            if out
                .extra
                .insert((field.at.file.clone(), key.clone(), field.name.clone()))
            {
                out.push(
                    "parameter_extra",
                    &at,
                    None,
                    Value::Null,
                    Value::String(field.name.clone()),
                    format!(
                        "parameter `{}` is not in the catalogue model(s)",
                        field.name
                    ),
                );
            }
            continue;
        }
        if !env.bounded_by_parameter {
            continue;
        }
        let stated = |a: &str| field.stated.iter().any(|s| s == a);
        let open = |rule: &'static str,
                    attr: &str,
                    expected: Value,
                    path: Option<String>,
                    out: &mut Out<'_, '_>| {
            let message = format!(
                "`{}`.{attr}: the catalogue says {expected}, this field does not restrict it",
                field.name
            );
            out.push(rule, &at, path, expected, Value::Null, message);
        };
        if !env.options.is_empty() && !env.open_options && !stated("options") {
            open(
                "options_differ",
                "options",
                Value::Array(env.options.clone()),
                env.options_at.clone(),
                out,
            );
        }
        for (attr, bound, is_open) in [
            ("min", &env.min, env.open_min),
            ("max", &env.max, env.open_max),
            ("maxLength", &env.max_length, env.open_length),
        ] {
            if let (Some((v, p)), false) = (bound, is_open) {
                if !stated(attr) && env.options.is_empty() {
                    open("range_differs", attr, v.clone(), Some(p.clone()), out);
                }
            }
        }
    }
}
