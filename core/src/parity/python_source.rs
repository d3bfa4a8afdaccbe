//! The Python reader (ruff's parser): module-level literal assignments (a list of model
//! dicts with `id`, an alias dict), constants mapped to a catalogue path in `parity.toml`
//! (literals and `os.environ.get("X", default)`, also inside `int(...)`/`float(...)`), and
//! Pydantic v2 request classes (`Field(default=, ge=, le=, gt=, lt=, max_length=)`,
//! `Literal[...]`, `conint`/`confloat`).

use std::collections::BTreeMap;

use ruff_python_ast::{Expr, Number, Stmt, UnaryOp};
use ruff_text_size::Ranged;
use serde_json::{json, Map, Value};

use super::facts::{Fact, FactKind, SourceError, SourceFacts};
use super::location::LineIndex;

/// Reads `text` (the content of `file`). `classes` maps Pydantic class names to the model
/// they mirror; `constants` maps module constants to a catalogue path
/// (`MODEL.parameters.NAME.ATTR` or `MODEL.fixed_parameters.NAME.ATTR`).
pub fn extract(
    file: &str,
    text: &str,
    classes: &BTreeMap<String, String>,
    constants: &BTreeMap<String, String>,
) -> SourceFacts {
    let index = LineIndex::new(file, text);
    let mut out = SourceFacts::default();
    let module = match ruff_python_parser::parse_module(text) {
        Ok(parsed) => parsed.into_syntax(),
        Err(err) => {
            out.errors.push(SourceError {
                at: index.locate(err.location.start().to_usize()),
                message: err.error.to_string(),
            });
            return out;
        }
    };
    let reader = Reader { index: &index };
    for stmt in &module.body {
        match stmt {
            Stmt::Assign(a) => {
                for target in &a.targets {
                    if let Expr::Name(n) = target {
                        reader.assignment(n.id.as_str(), &a.value, constants, &mut out.facts);
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(value)) = (&*a.target, a.value.as_deref()) {
                    reader.assignment(n.id.as_str(), value, constants, &mut out.facts);
                }
            }
            Stmt::ClassDef(c) => {
                if let Some(model) = classes.get(c.name.as_str()) {
                    reader.pydantic_class(model, &c.body, &mut out.facts);
                }
            }
            _ => {}
        }
    }
    out
}

struct Reader<'a> {
    index: &'a LineIndex<'a>,
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
        constants: &BTreeMap<String, String>,
        facts: &mut Vec<Fact>,
    ) {
        let Some(lit) = literal(value) else {
            return;
        };
        if let Some(path) = constants.get(name) {
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
        for (group, fixed) in [("parameters", false), ("fixed_parameters", true)] {
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

    fn pydantic_class(&self, model: &str, body: &[Stmt], facts: &mut Vec<Fact>) {
        for stmt in body {
            let Stmt::AnnAssign(a) = stmt else { continue };
            let Expr::Name(field) = &*a.target else {
                continue;
            };
            let field = field.id.as_str();
            let param = |attr: &str| FactKind::Param {
                name: field.to_owned(),
                attr: attr.to_owned(),
            };
            // `type: Literal["image"] = "image"`: the model's type (the default states it).
            if field == "type" {
                if let Some(d) = a.value.as_deref().and_then(literal) {
                    facts.push(self.fact(Some(model), FactKind::ModelType, &d));
                }
                continue;
            }
            // Literal[...] annotations: the model id, the modes, or a parameter's options.
            if let Some((values, offset)) = literal_strings(&a.annotation) {
                let lit = Lit {
                    value: Value::Array(values.iter().cloned().map(Value::String).collect()),
                    offset,
                    items: Vec::new(),
                };
                match field {
                    "model" => {
                        for v in &values {
                            let at = self.index.locate(offset);
                            facts.push(Fact {
                                model: Some(model.to_owned()),
                                kind: FactKind::Alias(v.clone()),
                                value: Value::String(model.to_owned()),
                                at,
                            });
                        }
                    }
                    "mode" => facts.push(self.fact(Some(model), FactKind::Modes, &lit)),
                    _ => facts.push(self.fact(Some(model), param("options"), &lit)),
                }
            }
            // conint(ge=, le=) / confloat(...) annotations.
            if let Expr::Call(c) = &*a.annotation {
                if matches!(
                    dotted(&c.func).as_deref(),
                    Some("conint" | "confloat" | "constr")
                ) {
                    self.constraints(model, field, &c.arguments.keywords, facts);
                }
            }
            let Some(value) = a.value.as_deref() else {
                continue;
            };
            match value {
                Expr::Call(c) if dotted(&c.func).as_deref() == Some("Field") => {
                    if let Some(d) = c
                        .arguments
                        .find_argument_value("default", 0)
                        .and_then(literal)
                    {
                        let kind = if field == "mode" {
                            FactKind::DefaultMode
                        } else {
                            param("default")
                        };
                        facts.push(self.fact(Some(model), kind, &d));
                    }
                    self.constraints(model, field, &c.arguments.keywords, facts);
                }
                other => {
                    if let Some(d) = literal(other) {
                        let kind = if field == "mode" {
                            FactKind::DefaultMode
                        } else {
                            param("default")
                        };
                        facts.push(self.fact(Some(model), kind, &d));
                    }
                }
            }
        }
    }

    fn constraints(
        &self,
        model: &str,
        field: &str,
        keywords: &[ruff_python_ast::Keyword],
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
                facts.push(self.fact(
                    Some(model),
                    FactKind::Param {
                        name: field.to_owned(),
                        attr: attr.to_owned(),
                    },
                    &v,
                ));
            }
        }
    }
}

/// `Literal["a", "b"]` -> the strings and the offset of the first.
fn literal_strings(e: &Expr) -> Option<(Vec<String>, usize)> {
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
        .map(|x| match x {
            Expr::StringLiteral(sl) => Some(sl.value.to_str().to_owned()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((values, offset))
}
