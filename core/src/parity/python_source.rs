//! The Python reader (ruff's parser): module-level literal assignments (a list of model
//! dicts with `id`, their parameters under any of the configured keys, an alias dict, a
//! per-model table of fixed values), constants mapped to a catalogue path in `parity.toml`
//! (literals and `os.environ.get("X", default)`, also inside `int(...)`/`float(...)`), an
//! `Enum` class or list constant naming every model, and Pydantic v2 request classes
//! (`Field(default=, ge=, le=, gt=, lt=, max_length=)`, `Literal[...]`, `Optional[...]`,
//! `conint`/`confloat`) mirroring one model or shared by several.
//!
//! `Field(default=None)` (and `= None`) means "not sent": it states no default.

use ruff_python_ast::{Expr, Number, Stmt, UnaryOp};
use ruff_text_size::Ranged;
use serde_json::{json, Map, Value};

use super::config::{default_model_sets, ClassModels, PythonSource, TableKind};
use super::facts::{Fact, FactKind, Field, SourceError, SourceFacts};
use super::location::LineIndex;

/// The names a request class uses for the request envelope, never parameters. A class
/// with a `parameters` field is a nested request: its parameters are in that field's class.
const ENVELOPE_FIELDS: [&str; 4] = ["model", "type", "mode", "parameters"];

/// Reads `text` (the content of the file `source` describes).
pub fn extract(source: &PythonSource, text: &str) -> SourceFacts {
    let file = source.path.as_str();
    let index = LineIndex::new(file, text);
    let mut out = SourceFacts::default();
    // As for TypeScript: a panic inside the parser is this file's error, never a crash.
    let parsed = std::panic::catch_unwind(|| ruff_python_parser::parse_module(text));
    let Ok(parsed) = parsed else {
        out.errors.push(SourceError {
            at: index.locate(0),
            message: "the Python parser failed on this file (an internal parser error)".into(),
        });
        return out;
    };
    let module = match parsed {
        Ok(parsed) => parsed.into_syntax(),
        Err(err) => {
            out.errors.push(SourceError {
                at: index.locate(err.location.start().to_usize()),
                message: err.error.to_string(),
            });
            return out;
        }
    };
    let model_sets = source.model_sets.clone().unwrap_or_else(default_model_sets);
    let reader = Reader {
        index: &index,
        source,
    };
    for stmt in &module.body {
        match stmt {
            Stmt::Assign(a) => {
                for target in &a.targets {
                    if let Expr::Name(n) = target {
                        out.names.insert(n.id.to_string());
                        reader.assignment(n.id.as_str(), &a.value, &model_sets, &mut out.facts);
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(value)) = (&*a.target, a.value.as_deref()) {
                    out.names.insert(n.id.to_string());
                    reader.assignment(n.id.as_str(), value, &model_sets, &mut out.facts);
                }
            }
            Stmt::ClassDef(c) => {
                let name = c.name.as_str();
                out.names.insert(name.to_owned());
                if let Some(models) = source.models.get(name) {
                    let partial = source.partial.contains(name);
                    reader.pydantic_class(models, partial, c, &mut out.facts);
                } else if model_sets.contains(name) {
                    reader.enum_model_set(c, &mut out.facts);
                }
            }
            _ => {}
        }
    }
    out
}

struct Reader<'a> {
    index: &'a LineIndex<'a>,
    source: &'a PythonSource,
}

/// A literal value with the location of every nested value.
struct Lit {
    value: Value,
    offset: usize,
    items: Vec<(Option<String>, Lit)>,
}

/// Literals nested deeper than this (or attribute chains longer) are not read: they are not
/// catalogue mirrors, and the readers must not exhaust the stack on hostile input.
const MAX_NESTING: usize = 64;

fn literal(e: &Expr) -> Option<Lit> {
    literal_at(e, 0)
}

fn literal_at(e: &Expr, depth: usize) -> Option<Lit> {
    if depth > MAX_NESTING {
        return None;
    }
    let offset = e.range().start().to_usize();
    let leaf = |value: Value| {
        Some(Lit {
            value,
            offset,
            items: Vec::new(),
        })
    };
    match e {
        Expr::NoneLiteral(_) => leaf(Value::Null),
        Expr::BooleanLiteral(b) => leaf(Value::Bool(b.value)),
        Expr::StringLiteral(s) => leaf(Value::String(s.value.to_str().to_owned())),
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => leaf(json!(i.as_i64()?)),
            Number::Float(f) => leaf(json!(*f)),
            Number::Complex { .. } => None,
        },
        Expr::UnaryOp(u) if u.op == UnaryOp::USub => {
            let inner = literal_at(&u.operand, depth + 1)?;
            let value = match inner.value.as_i64() {
                Some(i) => json!(-i),
                None => json!(-inner.value.as_f64()?),
            };
            leaf(value)
        }
        Expr::List(_) | Expr::Tuple(_) => {
            let elts = match e {
                Expr::List(l) => &l.elts,
                Expr::Tuple(t) => &t.elts,
                _ => return None,
            };
            let items: Vec<_> = elts
                .iter()
                .filter_map(|x| literal_at(x, depth + 1).map(|l| (None, l)))
                .collect();
            let value = Value::Array(items.iter().map(|(_, l)| l.value.clone()).collect());
            Some(Lit {
                value,
                offset,
                items,
            })
        }
        Expr::Dict(d) => {
            let mut items = Vec::new();
            let mut map = Map::new();
            for item in &d.items {
                let (Some(Expr::StringLiteral(k)), Some(v)) =
                    (item.key.as_ref(), literal_at(&item.value, depth + 1))
                else {
                    continue;
                };
                let key = k.value.to_str().to_owned();
                map.insert(key.clone(), v.value.clone());
                items.push((Some(key), v));
            }
            Some(Lit {
                value: Value::Object(map),
                offset,
                items,
            })
        }
        // os.environ.get("X", default), int(...), float(...): read as the default.
        Expr::Call(c) => {
            let func = dotted(&c.func)?;
            match func.as_str() {
                "int" | "float" => {
                    let inner = literal_at(c.arguments.find_positional(0)?, depth + 1)?;
                    let value = match (&inner.value, func.as_str()) {
                        (Value::String(s), "int") => json!(s.trim().parse::<i64>().ok()?),
                        (Value::String(s), _) => json!(s.trim().parse::<f64>().ok()?),
                        (v, _) => v.clone(),
                    };
                    Some(Lit {
                        value,
                        offset: inner.offset,
                        items: Vec::new(),
                    })
                }
                "os.environ.get" | "os.getenv" | "environ.get" | "getenv" => {
                    literal_at(c.arguments.find_argument_value("default", 1)?, depth + 1)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

fn dotted(e: &Expr) -> Option<String> {
    dotted_at(e, 0)
}

fn dotted_at(e: &Expr, depth: usize) -> Option<String> {
    if depth > MAX_NESTING {
        return None;
    }
    match e {
        Expr::Name(n) => Some(n.id.as_str().to_owned()),
        Expr::Attribute(a) => Some(format!(
            "{}.{}",
            dotted_at(&a.value, depth + 1)?,
            a.attr.as_str()
        )),
        _ => None,
    }
}

fn item<'l>(lit: &'l Lit, key: &str) -> Option<&'l Lit> {
    lit.items
        .iter()
        .find(|(k, _)| k.as_deref() == Some(key))
        .map(|(_, l)| l)
}

impl Reader<'_> {
    fn fact(&self, model: Option<&str>, kind: FactKind, lit: &Lit) -> Fact {
        Fact {
            model: model.map(str::to_owned),
            kind,
            value: lit.value.clone(),
            at: self.index.locate(lit.offset),
        }
    }

    fn assignment(
        &self,
        name: &str,
        value: &Expr,
        model_sets: &std::collections::BTreeSet<String>,
        facts: &mut Vec<Fact>,
    ) {
        let Some(lit) = literal(value) else {
            return;
        };
        if let Some(path) = self.source.constants.get(name) {
            let parts: Vec<&str> = path.split('.').collect();
            if let [model, group, param, attr] = parts[..] {
                let kind = if group == "fixed_parameters" {
                    FactKind::Fixed {
                        name: param.to_owned(),
                        attr: attr.to_owned(),
                    }
                } else {
                    FactKind::Param {
                        name: param.to_owned(),
                        attr: attr.to_owned(),
                    }
                };
                facts.push(self.fact(Some(model), kind, &lit));
            }
            return;
        }
        if let Some(kind) = self.source.tables.get(name) {
            self.table(*kind, &lit, facts);
            return;
        }
        if model_sets.contains(name) {
            let ids: Vec<_> = lit
                .items
                .iter()
                .filter_map(|(_, l)| {
                    l.value
                        .as_str()
                        .map(|id| (id.to_owned(), self.index.locate(l.offset)))
                })
                .collect();
            facts.push(Fact {
                model: None,
                kind: FactKind::ModelSet(ids),
                value: lit.value.clone(),
                at: self.index.locate(lit.offset),
            });
            return;
        }
        match &lit.value {
            // A list of model dicts: the model set and every stated attribute.
            Value::Array(models)
                if !models.is_empty()
                    && models
                        .iter()
                        .all(|m| m.get("id").is_some_and(Value::is_string)) =>
            {
                let mut ids = Vec::new();
                for (_, model) in &lit.items {
                    let Some(id_lit) = item(model, "id") else {
                        continue;
                    };
                    let id = id_lit.value.as_str().unwrap_or_default().to_owned();
                    ids.push((id.clone(), self.index.locate(id_lit.offset)));
                    self.model_facts(&id, model, facts);
                }
                facts.push(Fact {
                    model: None,
                    kind: FactKind::ModelSet(ids),
                    value: lit.value.clone(),
                    at: self.index.locate(lit.offset),
                });
            }
            // An alias table.
            Value::Object(map)
                if name.to_ascii_uppercase().contains("ALIAS")
                    && map.values().all(Value::is_string) =>
            {
                for (alias, target) in &lit.items {
                    if let Some(alias) = alias {
                        facts.push(self.fact(Some(alias), FactKind::Alias(alias.clone()), target));
                    }
                }
            }
            _ => {}
        }
    }

    /// `{"model-id": {"param": value}}`: one fact per entry.
    fn table(&self, kind: TableKind, lit: &Lit, facts: &mut Vec<Fact>) {
        for (model, entries) in &lit.items {
            let Some(model) = model else { continue };
            for (param, value) in &entries.items {
                let Some(param) = param else { continue };
                let kind = match kind {
                    TableKind::Fixed => FactKind::Fixed {
                        name: param.clone(),
                        attr: "value".into(),
                    },
                    TableKind::Default => FactKind::Param {
                        name: param.clone(),
                        attr: "default".into(),
                    },
                };
                facts.push(self.fact(Some(model), kind, value));
            }
        }
    }

    /// `class ModelId(str, Enum): a = "a"`: the values name every model.
    fn enum_model_set(&self, class: &ruff_python_ast::StmtClassDef, facts: &mut Vec<Fact>) {
        let mut ids = Vec::new();
        for stmt in &class.body {
            let value = match stmt {
                Stmt::Assign(a) => &*a.value,
                Stmt::AnnAssign(a) => match a.value.as_deref() {
                    Some(v) => v,
                    None => continue,
                },
                _ => continue,
            };
            if let Some(Lit {
                value: Value::String(id),
                offset,
                ..
            }) = literal(value)
            {
                ids.push((id, self.index.locate(offset)));
            }
        }
        facts.push(Fact {
            model: None,
            kind: FactKind::ModelSet(ids),
            value: Value::Null,
            at: self.index.locate(class.range().start().to_usize()),
        });
    }

    fn model_facts(&self, id: &str, model: &Lit, facts: &mut Vec<Fact>) {
        if let Some(t) = item(model, "type") {
            facts.push(self.fact(Some(id), FactKind::ModelType, t));
        }
        if let Some(m) = item(model, "modes") {
            let modes = match &m.value {
                Value::Object(map) => {
                    Value::Array(map.keys().cloned().map(Value::String).collect())
                }
                other => other.clone(),
            };
            facts.push(Fact {
                model: Some(id.to_owned()),
                kind: FactKind::Modes,
                value: modes,
                at: self.index.locate(m.offset),
            });
        }
        if let Some(d) = item(model, "default_mode") {
            facts.push(self.fact(Some(id), FactKind::DefaultMode, d));
        }
        let groups = self
            .source
            .parameter_keys
            .iter()
            .map(|k| (k, false))
            .chain(self.source.fixed_keys.iter().map(|k| (k, true)));
        for (group, fixed) in groups {
            let Some(params) = item(model, group) else {
                continue;
            };
            for (name, param) in &params.items {
                let Some(name) = name else { continue };
                for (attr, value) in &param.items {
                    let Some(attr) = attr else { continue };
                    let kind = if fixed {
                        FactKind::Fixed {
                            name: name.clone(),
                            attr: attr.clone(),
                        }
                    } else {
                        FactKind::Param {
                            name: name.clone(),
                            attr: attr.clone(),
                        }
                    };
                    facts.push(self.fact(Some(id), kind, value));
                }
            }
        }
    }

    fn pydantic_class(
        &self,
        models: &ClassModels,
        partial: bool,
        class: &ruff_python_ast::StmtClassDef,
        facts: &mut Vec<Fact>,
    ) {
        let names = models.names();
        // One model: facts about that model; several: facts about their union.
        let single = match models {
            ClassModels::One(m) => Some(m.as_str()),
            ClassModels::Shared(_) => None,
        };
        let param = |field: &str, attr: &str| match single {
            Some(_) => FactKind::Param {
                name: field.to_owned(),
                attr: attr.to_owned(),
            },
            None => FactKind::SharedParam {
                models: names.clone(),
                name: field.to_owned(),
                attr: attr.to_owned(),
            },
        };
        let mut fields = Vec::new();
        for stmt in &class.body {
            let Stmt::AnnAssign(a) = stmt else { continue };
            let Expr::Name(field) = &*a.target else {
                continue;
            };
            let field = field.id.as_str();
            let envelope = ENVELOPE_FIELDS.contains(&field);
            let mut stated = Vec::new();
            let annotation = unwrap_optional(&a.annotation);
            // `type: Literal["image"] = "image"`: the model's type (the default states it).
            if field == "type" {
                if let (Some(m), Some(d)) = (single, a.value.as_deref().and_then(literal)) {
                    facts.push(self.fact(Some(m), FactKind::ModelType, &d));
                }
                continue;
            }
            // Literal[...] annotations: the model id, the modes, or a parameter's options.
            if let Some((values, offset)) = literal_values(annotation) {
                let lit = Lit {
                    value: Value::Array(values.clone()),
                    offset,
                    items: Vec::new(),
                };
                match (field, single) {
                    ("model", Some(m)) => {
                        for v in values.iter().filter_map(Value::as_str) {
                            facts.push(Fact {
                                model: Some(m.to_owned()),
                                kind: FactKind::Alias(v.to_owned()),
                                value: Value::String(m.to_owned()),
                                at: self.index.locate(offset),
                            });
                        }
                    }
                    ("mode", Some(m)) => facts.push(self.fact(Some(m), FactKind::Modes, &lit)),
                    ("model" | "mode", None) => {}
                    _ => {
                        stated.push("options".to_owned());
                        facts.push(self.fact(single, param(field, "options"), &lit));
                    }
                }
            }
            // conint(ge=, le=) / confloat(...) annotations.
            if let Expr::Call(c) = annotation {
                if matches!(
                    dotted(&c.func).as_deref(),
                    Some("conint" | "confloat" | "constr")
                ) {
                    self.constraints(
                        single,
                        field,
                        &c.arguments.keywords,
                        &param,
                        &mut stated,
                        facts,
                    );
                }
            }
            let default = match a.value.as_deref() {
                Some(Expr::Call(c)) if dotted(&c.func).as_deref() == Some("Field") => {
                    self.constraints(
                        single,
                        field,
                        &c.arguments.keywords,
                        &param,
                        &mut stated,
                        facts,
                    );
                    c.arguments
                        .find_argument_value("default", 0)
                        .and_then(literal)
                }
                Some(other) => literal(other),
                None => None,
            };
            // `None` means "not sent": the model's own default applies.
            if let Some(d) = default.filter(|d| !d.value.is_null()) {
                match (field, single) {
                    ("mode", Some(m)) => facts.push(self.fact(Some(m), FactKind::DefaultMode, &d)),
                    ("mode" | "model", _) => {}
                    _ => facts.push(self.fact(single, param(field, "default"), &d)),
                }
            }
            if !envelope {
                fields.push(Field {
                    name: field.to_owned(),
                    at: self.index.locate(a.target.range().start().to_usize()),
                    stated,
                });
            }
        }
        let nested = class.body.iter().any(|stmt| {
            matches!(stmt, Stmt::AnnAssign(a)
                if matches!(&*a.target, Expr::Name(n) if n.id.as_str() == "parameters"))
        });
        facts.push(Fact {
            model: single.map(str::to_owned),
            kind: FactKind::FieldSet {
                models: names,
                fields,
                partial: partial || nested,
            },
            value: Value::Null,
            at: self.index.locate(class.name.range().start().to_usize()),
        });
    }

    fn constraints(
        &self,
        model: Option<&str>,
        field: &str,
        keywords: &[ruff_python_ast::Keyword],
        param: &dyn Fn(&str, &str) -> FactKind,
        stated: &mut Vec<String>,
        facts: &mut Vec<Fact>,
    ) {
        for kw in keywords {
            let Some(arg) = kw.arg.as_deref() else {
                continue;
            };
            let attr = match arg {
                "ge" | "gt" => "min",
                "le" | "lt" => "max",
                "max_length" => "maxLength",
                "multiple_of" => "step",
                _ => continue,
            };
            if let Some(v) = literal(&kw.value) {
                stated.push(attr.to_owned());
                facts.push(self.fact(model, param(field, attr), &v));
            }
        }
    }
}

/// `Optional[X]`, `X | None`, `Union[X, None]`, `Annotated[X, ...]` -> `X`.
fn unwrap_optional(e: &Expr) -> &Expr {
    unwrap_optional_at(e, 0)
}

fn unwrap_optional_at(e: &Expr, depth: usize) -> &Expr {
    if depth > MAX_NESTING {
        return e;
    }
    match e {
        Expr::Subscript(s) => {
            let head = dotted(&s.value).unwrap_or_default();
            let head = head.rsplit('.').next().unwrap_or_default();
            match (head, &*s.slice) {
                ("Optional", inner) => unwrap_optional_at(inner, depth + 1),
                ("Annotated", Expr::Tuple(t)) => match t.elts.first() {
                    Some(first) => unwrap_optional_at(first, depth + 1),
                    None => e,
                },
                ("Union", Expr::Tuple(t)) => {
                    let rest: Vec<&Expr> = t
                        .elts
                        .iter()
                        .filter(|x| !matches!(x, Expr::NoneLiteral(_)))
                        .collect();
                    match rest[..] {
                        [only] => unwrap_optional_at(only, depth + 1),
                        _ => e,
                    }
                }
                _ => e,
            }
        }
        Expr::BinOp(b) if b.op == ruff_python_ast::Operator::BitOr => match (&*b.left, &*b.right) {
            (x, Expr::NoneLiteral(_)) | (Expr::NoneLiteral(_), x) => {
                unwrap_optional_at(x, depth + 1)
            }
            _ => e,
        },
        _ => e,
    }
}

/// `Literal["a", "b"]` / `Literal[8, 16]` -> the values and the offset of the first.
fn literal_values(e: &Expr) -> Option<(Vec<Value>, usize)> {
    let Expr::Subscript(s) = e else { return None };
    let head = dotted(&s.value)?;
    if head != "Literal" && head != "typing.Literal" {
        return None;
    }
    let elems: Vec<&Expr> = match &*s.slice {
        Expr::Tuple(t) => t.elts.iter().collect(),
        other => vec![other],
    };
    let offset = elems.first()?.range().start().to_usize();
    let values = elems
        .into_iter()
        .map(|x| match literal(x)?.value {
            v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) => Some(v),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((values, offset))
}
