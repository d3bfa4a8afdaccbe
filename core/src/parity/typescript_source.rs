//! The TypeScript/TSX reader (oxc): string-literal union aliases of model ids
//! (`type ModelId = 'a' | 'b'`), object-literal fallbacks `cfg.x ?? {...}` mapped to a model
//! in `parity.toml`, numeric JSX props (`min`, `max`, `step`, `defaultValue`) on inputs bound
//! to a catalogue parameter (`name="steps" data-model="flux-dev"`), and literal model-id
//! comparisons that hard-code behaviour for one model.

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

use super::facts::{Fact, FactKind, SourceError, SourceFacts};
use super::location::LineIndex;

/// Reads `text` (the content of `file`). `unions` are the alias names that list model ids;
/// `fallbacks` maps `a.b.c` paths to the model their `?? {...}` object restates; `model_ids`
/// are the catalogue's ids and aliases (for hard-coded comparisons).
pub fn extract(
    file: &str,
    text: &str,
    unions: &BTreeSet<String>,
    fallbacks: &BTreeMap<String, String>,
    model_ids: &BTreeSet<String>,
) -> SourceFacts {
    let index = LineIndex::new(file, text);
    let mut out = SourceFacts::default();
    let source_type = SourceType::from_path(Path::new(file)).unwrap_or_else(|_| SourceType::tsx());
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, text, source_type).parse();
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
        fallbacks,
        model_ids,
        facts: Vec::new(),
    };
    finder.visit_program(&parsed.program);
    out.facts.extend(finder.facts);
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
    model_ids: &'b BTreeSet<String>,
    facts: Vec<Fact>,
}

impl<'a> Visit<'a> for Finder<'_> {
    fn visit_logical_expression(&mut self, it: &LogicalExpression<'a>) {
        if it.operator == LogicalOperator::Coalesce {
            if let (Expression::ObjectExpression(obj), Some(path)) =
                (it.right.without_parentheses(), dotted(&it.left))
            {
                if let Some(model) = self.fallbacks.get(&path) {
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
        }
        walk::walk_jsx_opening_element(self, it);
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
