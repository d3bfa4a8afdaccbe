//! The TypeScript/TSX reader (oxc): string-literal union aliases of model ids
//! (`type ModelId = 'a' | 'b'`), object-literal fallbacks `cfg.x ?? {...}` mapped to a model
//! in `parity.toml`, numeric JSX props (`min`, `max`, `step`, `defaultValue`) of form
//! controls bound to a catalogue parameter (by attributes, `name="steps"
//! data-model="flux-dev"`, or by their value: `value={params.width}`,
//! `value={numFrames} onChange={setNumFrames}`), the `<option value>`s of a bound
//! `<select>`, and literal model-id comparisons that hard-code behaviour for one model.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    BinaryExpression, BinaryOperator, Declaration, Expression, JSXAttributeItem, JSXAttributeName,
    JSXAttributeValue, JSXExpression, JSXOpeningElement, LogicalExpression, LogicalOperator,
    ObjectPropertyKind, Statement, TSLiteral, TSType, UnaryOperator,
};
use oxc_ast_visit::{walk, Visit};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType};
use serde_json::{json, Value};

use super::config::{Binding, TypeScriptSource};
use super::facts::{Fact, FactKind, SourceError, SourceFacts};
use super::location::LineIndex;

/// Reads `text` (the content of the file `source` describes). `model_ids` are the
/// catalogue's ids and aliases (for hard-coded comparisons), `parameters` every parameter
/// name (for form controls bound without configuration).
pub fn extract(
    source: &TypeScriptSource,
    text: &str,
    model_ids: &BTreeSet<String>,
    parameters: &BTreeSet<String>,
) -> SourceFacts {
    let file = source.path.as_str();
    let unions = &source.model_unions;
    let index = LineIndex::new(file, text);
    let mut out = SourceFacts::default();
    if let Some(offset) = super::nesting::too_deep(text, super::nesting::MAX_NESTING) {
        out.errors.push(SourceError {
            at: index.locate(offset),
            message: format!(
                "brackets nested deeper than {} levels: the file is not parsed (the TypeScript \
                 parser's time grows exponentially with such nesting)",
                super::nesting::MAX_NESTING
            ),
        });
        return out;
    }
    let source_type = SourceType::from_path(Path::new(file)).unwrap_or_else(|_| SourceType::tsx());
    let allocator = Allocator::default();
    // A checker over someone's source tree never crashes on a file: a panic inside the parser
    // (fuzzing found a debug assertion in oxc's comment handling) is that file's error.
    let parse = std::panic::AssertUnwindSafe(|| Parser::new(&allocator, text, source_type).parse());
    let Ok(parsed) = std::panic::catch_unwind(parse) else {
        out.errors.push(SourceError {
            at: index.locate(0),
            message: "the TypeScript parser failed on this file (an internal parser error)".into(),
        });
        return out;
    };
    if parsed.panicked || !parsed.diagnostics.is_empty() {
        for d in parsed.diagnostics.iter() {
            let offset = d.labels.first().map_or(0, |l| l.offset() as usize);
            out.errors.push(SourceError {
                at: index.locate(offset),
                message: d.message.to_string(),
            });
        }
        if out.errors.is_empty() {
            out.errors.push(SourceError {
                at: index.locate(0),
                message: "the parser gave up".into(),
            });
        }
        return out;
    }
    for stmt in &parsed.program.body {
        let alias = match stmt {
            Statement::TSTypeAliasDeclaration(a) => a,
            Statement::ExportDeclaration(e) => match &e.declaration {
                Declaration::TSTypeAliasDeclaration(a) => a,
                _ => continue,
            },
            _ => continue,
        };
        out.names.insert(alias.id.name.to_string());
        if !unions.contains(alias.id.name.as_str()) {
            continue;
        }
        let members: Vec<&TSType<'_>> = match alias.type_annotation.without_parenthesized() {
            TSType::TSUnionType(u) => u.types.iter().collect(),
            single => vec![single],
        };
        let mut ids = Vec::new();
        for t in members {
            if let TSType::TSLiteralType(lt) = t.without_parenthesized() {
                if let TSLiteral::StringLiteral(s) = &lt.literal {
                    ids.push((s.value.to_string(), index.locate(s.span.start as usize)));
                }
            }
        }
        out.facts.push(Fact {
            model: None,
            kind: FactKind::ModelSet(ids),
            value: Value::Null,
            at: index.locate(alias.span.start as usize),
        });
    }
    let mut finder = Finder {
        text,
        index: &index,
        fallbacks: &source.fallbacks,
        bindings: &source.bindings,
        parameters,
        model_ids,
        facts: Vec::new(),
        names: BTreeSet::new(),
    };
    finder.visit_program(&parsed.program);
    out.facts.extend(finder.facts);
    out.names.extend(finder.names);
    out
}

/// `numFrames` / `num_frames` / `NumFrames` -> `num_frames`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn dotted(e: &Expression<'_>) -> Option<String> {
    dotted_at(e, 0)
}

fn dotted_at(e: &Expression<'_>, depth: usize) -> Option<String> {
    if depth > MAX_NESTING {
        return None;
    }
    match e.without_parentheses() {
        Expression::Identifier(id) => Some(id.name.to_string()),
        Expression::StaticMemberExpression(m) => Some(format!(
            "{}.{}",
            dotted_at(&m.object, depth + 1)?,
            m.property.name
        )),
        _ => None,
    }
}

/// Literals nested deeper than this (or member chains longer) are not read: they are not
/// catalogue mirrors, and the readers must not exhaust the stack on hostile input.
const MAX_NESTING: usize = 64;

fn literal(e: &Expression<'_>) -> Option<Value> {
    literal_at(e, 0)
}

fn literal_at(e: &Expression<'_>, depth: usize) -> Option<Value> {
    if depth > MAX_NESTING {
        return None;
    }
    match e.without_parentheses() {
        Expression::NumericLiteral(n) => Some(number(n.value)),
        Expression::StringLiteral(s) => Some(Value::String(s.value.to_string())),
        Expression::BooleanLiteral(b) => Some(Value::Bool(b.value)),
        Expression::UnaryExpression(u) if u.operator == UnaryOperator::UnaryNegation => {
            match literal_at(&u.argument, depth + 1)? {
                Value::Number(n) => Some(number(-n.as_f64()?)),
                _ => None,
            }
        }
        Expression::ArrayExpression(a) => a
            .elements
            .iter()
            .map(|el| el.as_expression().and_then(|x| literal_at(x, depth + 1)))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        _ => None,
    }
}

/// Integral numbers as integers so `28` equals the catalogue's `28`.
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

struct Finder<'b> {
    text: &'b str,
    index: &'b LineIndex<'b>,
    fallbacks: &'b BTreeMap<String, String>,
    bindings: &'b BTreeMap<String, Binding>,
    parameters: &'b BTreeSet<String>,
    model_ids: &'b BTreeSet<String>,
    facts: Vec<Fact>,
    /// Fallback paths and binding expressions seen (a configured one not seen is a
    /// configuration error).
    names: BTreeSet<String>,
}

/// What a form control's `value`/`onChange` bind it to: the parameter and its models.
struct Bound {
    parameter: String,
    models: Vec<String>,
}

impl Finder<'_> {
    /// The parameter a control edits, from its `value={...}` and `onChange={...}`
    /// expressions: a configured binding first, then a last name that is a parameter.
    fn bound(&mut self, value: Option<String>, on_change: Option<String>) -> Option<Bound> {
        let mut candidates = Vec::new();
        if let Some(v) = &value {
            candidates.push(v.clone());
            if let Some(last) = v.rsplit('.').next() {
                candidates.push(last.to_owned());
            }
        }
        if let Some(setter) = &on_change {
            candidates.push(setter.clone());
            if let Some(rest) = setter.strip_prefix("set").filter(|r| !r.is_empty()) {
                let mut chars = rest.chars();
                let first = chars.next().map(|c| c.to_ascii_lowercase());
                candidates.push(first.into_iter().chain(chars).collect());
            }
        }
        for c in &candidates {
            if let Some(binding) = self.bindings.get(c) {
                self.names.insert(c.clone());
                return Some(Bound {
                    parameter: binding.parameter().to_owned(),
                    models: binding.models().to_vec(),
                });
            }
        }
        candidates.iter().find_map(|c| {
            let name = snake(c);
            self.parameters.contains(&name).then_some(Bound {
                parameter: name,
                models: Vec::new(),
            })
        })
    }
}

/// The `value` of every `<option>` under `children` (through fragments, conditionals and
/// logical expressions).
fn option_values(
    children: &oxc_allocator::Vec<'_, oxc_ast::ast::JSXChild<'_>>,
    out: &mut Vec<(Value, u32)>,
    depth: usize,
) {
    use oxc_ast::ast::JSXChild;
    if depth > MAX_NESTING {
        return;
    }
    for child in children {
        match child {
            JSXChild::Element(e) => {
                if jsx_name(&e.opening_element).as_deref() == Some("option") {
                    if let Some((v, at)) = attribute(&e.opening_element, "value")
                        .and_then(|(v, at)| v.map(|v| (v, at)))
                    {
                        out.push((v, at));
                    }
                }
                option_values(&e.children, out, depth + 1);
            }
            JSXChild::Fragment(f) => option_values(&f.children, out, depth + 1),
            JSXChild::ExpressionContainer(c) => {
                if let Some(e) = c.expression.as_expression() {
                    option_values_in(e, out, depth + 1);
                }
            }
            _ => {}
        }
    }
}

fn option_values_in(e: &Expression<'_>, out: &mut Vec<(Value, u32)>, depth: usize) {
    if depth > MAX_NESTING {
        return;
    }
    match e.without_parentheses() {
        Expression::JSXElement(el) => option_values(&el.children, out, depth + 1),
        Expression::JSXFragment(f) => option_values(&f.children, out, depth + 1),
        Expression::ConditionalExpression(c) => {
            option_values_in(&c.consequent, out, depth + 1);
            option_values_in(&c.alternate, out, depth + 1);
        }
        Expression::LogicalExpression(l) => option_values_in(&l.right, out, depth + 1),
        _ => {}
    }
}

/// The element's name (`select`, `RangeSlider`, `ui.Slider`).
fn jsx_name(it: &JSXOpeningElement<'_>) -> Option<String> {
    use oxc_ast::ast::JSXElementName;
    match &it.name {
        JSXElementName::Identifier(id) => Some(id.name.to_string()),
        JSXElementName::IdentifierReference(id) => Some(id.name.to_string()),
        _ => None,
    }
}

/// The attribute `name` of an element.
fn find_attribute<'e, 'a>(
    it: &'e JSXOpeningElement<'a>,
    name: &str,
) -> Option<&'e oxc_ast::ast::JSXAttribute<'a>> {
    it.attributes.iter().find_map(|item| match item {
        JSXAttributeItem::Attribute(attr)
            if matches!(&attr.name, JSXAttributeName::Identifier(id) if id.name == name) =>
        {
            Some(&**attr)
        }
        _ => None,
    })
}

/// An attribute: its literal value (when it is one) and where it is.
fn attribute(it: &JSXOpeningElement<'_>, name: &str) -> Option<(Option<Value>, u32)> {
    find_attribute(it, name).map(|attr| {
        let value = match &attr.value {
            Some(JSXAttributeValue::StringLiteral(s)) => Some(Value::String(s.value.to_string())),
            Some(JSXAttributeValue::ExpressionContainer(c)) => {
                c.expression.as_expression().and_then(literal)
            }
            _ => None,
        };
        (value, attr.span.start)
    })
}

/// An attribute's expression as a dotted path (`params.width`, `setNumFrames`).
fn attribute_path(it: &JSXOpeningElement<'_>, name: &str) -> Option<String> {
    match &find_attribute(it, name)?.value {
        Some(JSXAttributeValue::ExpressionContainer(c)) => {
            c.expression.as_expression().and_then(dotted)
        }
        _ => None,
    }
}

impl<'a> Visit<'a> for Finder<'_> {
    fn visit_logical_expression(&mut self, it: &LogicalExpression<'a>) {
        if it.operator == LogicalOperator::Coalesce {
            if let (Expression::ObjectExpression(obj), Some(path)) =
                (it.right.without_parentheses(), dotted(&it.left))
            {
                if let Some(model) = self.fallbacks.get(&path) {
                    self.names.insert(path.clone());
                    for p in &obj.properties {
                        let ObjectPropertyKind::ObjectProperty(p) = p else {
                            continue;
                        };
                        let (Some(key), Some(value)) = (p.key.static_name(), literal(&p.value))
                        else {
                            continue;
                        };
                        self.facts.push(Fact {
                            model: Some(model.clone()),
                            kind: FactKind::Param {
                                name: key.into_owned(),
                                attr: "default".into(),
                            },
                            value,
                            at: self.index.locate(p.value.span().start as usize),
                        });
                    }
                }
            }
        }
        walk::walk_logical_expression(self, it);
    }

    fn visit_jsx_opening_element(&mut self, it: &JSXOpeningElement<'a>) {
        let mut props = Vec::new();
        let (mut name, mut model) = (None, None);
        for item in &it.attributes {
            let JSXAttributeItem::Attribute(attr) = item else {
                continue;
            };
            let JSXAttributeName::Identifier(id) = &attr.name else {
                continue;
            };
            let value = match &attr.value {
                Some(JSXAttributeValue::StringLiteral(s)) => {
                    Some(Value::String(s.value.to_string()))
                }
                Some(JSXAttributeValue::ExpressionContainer(c)) => match &c.expression {
                    JSXExpression::EmptyExpression(_) => None,
                    other => other.as_expression().and_then(literal),
                },
                _ => None,
            };
            let Some(value) = value else { continue };
            match id.name.as_str() {
                "name" => name = value.as_str().map(str::to_owned),
                "data-model" => model = value.as_str().map(str::to_owned),
                "min" | "max" | "step" => props.push((id.name.to_string(), value, attr.span.start)),
                "defaultValue" => props.push(("default".to_owned(), value, attr.span.start)),
                _ => {}
            }
        }
        if let (Some(name), Some(model)) = (name, model) {
            for (attr, value, offset) in props {
                self.facts.push(Fact {
                    model: Some(model.clone()),
                    kind: FactKind::Param {
                        name: name.clone(),
                        attr,
                    },
                    value,
                    at: self.index.locate(offset as usize),
                });
            }
        } else if !props.is_empty() {
            let value = attribute_path(it, "value");
            let on_change = attribute_path(it, "onChange");
            if let Some(bound) = self.bound(value, on_change) {
                for (attr, value, offset) in props {
                    self.facts.push(Fact {
                        model: None,
                        kind: FactKind::SharedParam {
                            models: bound.models.clone(),
                            name: bound.parameter.clone(),
                            attr,
                        },
                        value,
                        at: self.index.locate(offset as usize),
                    });
                }
            }
        }
        walk::walk_jsx_opening_element(self, it);
    }

    fn visit_jsx_element(&mut self, it: &oxc_ast::ast::JSXElement<'a>) {
        let opening = &it.opening_element;
        if jsx_name(opening).as_deref() == Some("select") {
            let value = attribute_path(opening, "value");
            let on_change = attribute_path(opening, "onChange");
            if let Some(bound) = self.bound(value, on_change) {
                let mut options = Vec::new();
                option_values(&it.children, &mut options, 0);
                if let Some((_, at)) = options.first() {
                    let mut values: Vec<Value> = Vec::new();
                    for (v, _) in &options {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                    self.facts.push(Fact {
                        model: None,
                        kind: FactKind::SharedParam {
                            models: bound.models,
                            name: bound.parameter,
                            attr: "options".into(),
                        },
                        value: Value::Array(values),
                        at: self.index.locate(*at as usize),
                    });
                }
            }
        }
        walk::walk_jsx_element(self, it);
    }

    fn visit_binary_expression(&mut self, it: &BinaryExpression<'a>) {
        if matches!(
            it.operator,
            BinaryOperator::StrictEquality
                | BinaryOperator::Equality
                | BinaryOperator::StrictInequality
                | BinaryOperator::Inequality
        ) {
            for (lit, other) in [(&it.left, &it.right), (&it.right, &it.left)] {
                if let Expression::StringLiteral(s) = lit.without_parentheses() {
                    if self.model_ids.contains(s.value.as_str()) {
                        self.facts.push(Fact {
                            model: Some(s.value.to_string()),
                            kind: FactKind::HardCodedModel,
                            value: Value::String(other.span().source_text(self.text).to_owned()),
                            at: self.index.locate(it.span.start as usize),
                        });
                    }
                }
            }
        }
        walk::walk_binary_expression(self, it);
    }
}
