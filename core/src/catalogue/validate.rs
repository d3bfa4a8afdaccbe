//! Request validation for `POST /generate`, derived from the catalogue: model (or alias)
//! exists, type matches, mode allowed, visible-only parameters, required parameters by mode,
//! types, ranges, steps, options, `maxLength`, locked fixed parameters, unknown parameters.
//! Every violation is reported at once in one `validation_error`, and the accepted request
//! comes back as the payload with defaults and fixed values filled in (what the frontend's
//! build-payload does, from the same rules).

use serde::Serialize;
use serde_json::{Map, Value};

use super::condition::Condition;
use super::model::{value_problem, Catalogue};
use crate::error::{Error, ErrorCode};

/// One violation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// Request path (`parameters.steps`).
    pub path: String,
    /// Stable rule id.
    pub rule: &'static str,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub found: Value,
}

/// An accepted request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidatedRequest {
    /// The internal model id.
    pub model_id: String,
    /// `image` or `video`.
    pub kind: String,
    /// The mode.
    pub mode: String,
    /// Parameters with defaults and fixed values filled in.
    pub payload: Map<String, Value>,
}

/// Whether the condition `text` (parsed at load when valid: `parsed`) holds in `mode`;
/// `default` when there is none. An invalid condition is the catalogue's error.
fn cond(
    catalogue: &Catalogue,
    text: &Option<String>,
    parsed: Option<&Condition>,
    mode: &str,
    default: bool,
) -> Result<bool, Error> {
    match (text, parsed) {
        (None, _) => Ok(default),
        (Some(_), Some(c)) => Ok(c.holds(mode)),
        (Some(t), None) => catalogue.condition(t).map(|c| c.holds(mode)),
    }
}

/// Validates `request` (`{"model", "type"?, "mode"?, "parameters": {...}}`).
pub fn validate_request(catalogue: &Catalogue, request: &Value) -> Result<ValidatedRequest, Error> {
    validate_request_owned(catalogue, request.clone())
}

fn fail(v: Vec<Violation>) -> Error {
    let summary = v
        .iter()
        .map(|x| format!("{} ({})", x.path, x.rule))
        .collect::<Vec<_>>()
        .join(", ");
    Error::with_detail(
        ErrorCode::ValidationError,
        format!("request violates the catalogue: {summary}"),
    )
    .meta("violations", serde_json::to_value(&v).unwrap_or_default())
}

/// [`validate_request`] taking the request by value: accepted parameter values move into
/// the payload instead of being copied (the bindings' hot path).
pub fn validate_request_owned(
    catalogue: &Catalogue,
    request: Value,
) -> Result<ValidatedRequest, Error> {
    let mut v: Vec<Violation> = Vec::new();
    let mut obj = match request {
        Value::Object(obj) => obj,
        other => {
            return Err(fail(vec![Violation {
                path: "$".into(),
                rule: "type",
                expected: "an object".into(),
                found: other,
            }]))
        }
    };
    let model_name = obj.get("model").and_then(Value::as_str).unwrap_or_default();
    let Some((_, model)) = catalogue.find(model_name) else {
        return Err(fail(vec![Violation {
            path: "model".into(),
            rule: "unknown_model",
            expected: "a catalogue model or alias".into(),
            found: obj.remove("model").unwrap_or(Value::Null),
        }]));
    };
    if let Some(t) = obj.get("type") {
        if t.as_str() != Some(model.kind.as_str()) {
            v.push(Violation {
                path: "type".into(),
                rule: "type_mismatch",
                expected: model.kind.clone(),
                found: t.clone(),
            });
        }
    }
    let mode = match obj.remove("mode") {
        Some(Value::String(m)) => m,
        Some(other) => {
            v.push(Violation {
                path: "mode".into(),
                rule: "type",
                expected: "a mode name".into(),
                found: other,
            });
            String::new()
        }
        None => model
            .default_mode
            .clone()
            .or_else(|| model.modes.keys().next().cloned())
            .unwrap_or_default(),
    };
    if !model.modes.is_empty() && !model.modes.contains_key(&mode) {
        v.push(Violation {
            path: "mode".into(),
            rule: "mode_not_allowed",
            expected: model.modes.keys().cloned().collect::<Vec<_>>().join("|"),
            found: Value::String(mode.clone()),
        });
    }
    let params = match obj.remove("parameters") {
        None => Map::new(),
        Some(Value::Object(p)) => p,
        Some(other) => {
            v.push(Violation {
                path: "parameters".into(),
                rule: "type",
                expected: "an object".into(),
                found: other,
            });
            Map::new()
        }
    };
    // Common parameters, then the model's (a model's own definition wins: searched from the
    // back). An iterator, not a collected list: no allocation per request.
    let defs = || catalogue.common.iter().chain(model.parameters.iter());
    let mut payload = Map::new();
    // Sent values that did not go into the payload (refused, or fixed-only parameters):
    // they still count as sent (no default is filled in) and are checked against locks.
    let mut held: Vec<(String, Value)> = Vec::new();
    // Paths are built only for violations: the accepted path allocates nothing extra.
    let path = |name: &str| format!("parameters.{name}");
    for (name, value) in params {
        match defs().rev().find(|(n, _)| **n == name) {
            None if model.fixed_parameters.contains_key(&name) => held.push((name, value)),
            None => v.push(Violation {
                path: path(&name),
                rule: "unknown_parameter",
                expected: "a catalogue parameter".into(),
                found: value,
            }),
            Some((_, p)) => {
                if !cond(
                    catalogue,
                    &p.visible_if,
                    p.parsed.visible_if.as_ref(),
                    &mode,
                    true,
                )? {
                    v.push(Violation {
                        path: path(&name),
                        rule: "not_visible_in_mode",
                        expected: format!("not sent in mode {mode:?}"),
                        found: value.clone(),
                    });
                    held.push((name, value));
                    continue;
                }
                if let Some(problem) = value_problem(p, &value) {
                    v.push(Violation {
                        path: path(&name),
                        rule: "invalid_value",
                        expected: problem,
                        found: value.clone(),
                    });
                    held.push((name, value));
                    continue;
                }
                payload.insert(name, value);
            }
        }
    }
    let sent = |payload: &Map<String, Value>, name: &str| -> Option<Value> {
        payload
            .get(name)
            .or_else(|| held.iter().find(|(n, _)| n == name).map(|(_, v)| v))
            .cloned()
    };
    // Fixed values first (the payload holds only accepted sent values here), so a default
    // never masks a fixed value.
    for (name, fixed) in &model.fixed_parameters {
        let value = sent(&payload, name);
        if let Some(value) = &value {
            if fixed.locked && value != &fixed.value {
                v.push(Violation {
                    path: path(name),
                    rule: "locked",
                    expected: format!("{}", fixed.value),
                    found: value.clone(),
                });
            }
        }
        if fixed.locked || value.is_none() {
            payload.insert(name.clone(), fixed.value.clone());
        }
    }
    for (name, p) in defs().rev() {
        if payload.contains_key(name)
            || !cond(
                catalogue,
                &p.visible_if,
                p.parsed.visible_if.as_ref(),
                &mode,
                true,
            )?
        {
            continue;
        }
        let was_sent = held.iter().any(|(n, _)| n == name);
        let required = p.required == Some(true)
            || cond(
                catalogue,
                &p.required_if,
                p.parsed.required_if.as_ref(),
                &mode,
                false,
            )?;
        match &p.default {
            Some(d) if !was_sent => {
                payload.insert((*name).clone(), d.clone());
            }
            None if required && !was_sent => {
                v.push(Violation {
                    path: path(name),
                    rule: "required",
                    expected: format!("required in mode {mode:?}"),
                    found: Value::Null,
                });
            }
            _ => {}
        }
    }
    if !v.is_empty() {
        return Err(fail(v));
    }
    Ok(ValidatedRequest {
        model_id: model.id.clone(),
        kind: model.kind.clone(),
        mode,
        payload,
    })
}
