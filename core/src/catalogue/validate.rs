//! Request validation for `POST /generate`, derived from the catalogue: model (or alias)
//! exists, type matches, mode allowed, visible-only parameters, required parameters by mode,
//! types, ranges, steps, options, `maxLength`, locked fixed parameters, unknown parameters.
//! Every violation is reported at once in one `validation_error`, and the accepted request
//! comes back as the payload with defaults and fixed values filled in (what the frontend's
//! build-payload does, from the same rules).

use serde::Serialize;
use serde_json::{Map, Value};

use super::model::{value_problem, Catalogue, Parameter};
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

fn cond(
    catalogue: &Catalogue,
    text: &Option<String>,
    mode: &str,
    default: bool,
) -> Result<bool, Error> {
    match text {
        None => Ok(default),
        Some(t) => catalogue.condition(t).map(|c| c.holds(mode)),
    }
}

/// Validates `request` (`{"model", "type"?, "mode"?, "parameters": {...}}`).
pub fn validate_request(catalogue: &Catalogue, request: &Value) -> Result<ValidatedRequest, Error> {
    let mut v: Vec<Violation> = Vec::new();
    let fail = |v: Vec<Violation>| {
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
    };
    let Some(obj) = request.as_object() else {
        return Err(fail(vec![Violation {
            path: "$".into(),
            rule: "type",
            expected: "an object".into(),
            found: request.clone(),
        }]));
    };
    let model_name = obj.get("model").and_then(Value::as_str).unwrap_or_default();
    let Some((_, model)) = catalogue.find(model_name) else {
        return Err(fail(vec![Violation {
            path: "model".into(),
            rule: "unknown_model",
            expected: "a catalogue model or alias".into(),
            found: obj.get("model").cloned().unwrap_or(Value::Null),
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
    let mode = match obj.get("mode") {
        Some(Value::String(m)) => m.clone(),
        Some(other) => {
            v.push(Violation {
                path: "mode".into(),
                rule: "type",
                expected: "a mode name".into(),
                found: other.clone(),
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
    let empty = Map::new();
    let params = match obj.get("parameters") {
        None => &empty,
        Some(Value::Object(p)) => p,
        Some(other) => {
            v.push(Violation {
                path: "parameters".into(),
                rule: "type",
                expected: "an object".into(),
                found: other.clone(),
            });
            &empty
        }
    };
    let defs: Vec<(&String, &Parameter)> = catalogue
        .common
        .iter()
        .chain(model.parameters.iter())
        .collect();
    let mut payload = Map::new();
    for (name, value) in params {
        let path = format!("parameters.{name}");
        match defs.iter().rev().find(|(n, _)| *n == name) {
            None if model.fixed_parameters.contains_key(name) => {}
            None => v.push(Violation {
                path,
                rule: "unknown_parameter",
                expected: "a catalogue parameter".into(),
                found: value.clone(),
            }),
            Some((_, p)) => {
                if !cond(catalogue, &p.visible_if, &mode, true)? {
                    v.push(Violation {
                        path,
                        rule: "not_visible_in_mode",
                        expected: format!("not sent in mode {mode:?}"),
                        found: value.clone(),
                    });
                    continue;
                }
                if let Some(problem) = value_problem(p, value) {
                    v.push(Violation {
                        path,
                        rule: "invalid_value",
                        expected: problem,
                        found: value.clone(),
                    });
                    continue;
                }
                payload.insert(name.clone(), value.clone());
            }
        }
    }
    for (name, p) in defs.iter().rev() {
        if payload.contains_key(*name) || !cond(catalogue, &p.visible_if, &mode, true)? {
            continue;
        }
        let required = p.required == Some(true) || cond(catalogue, &p.required_if, &mode, false)?;
        match &p.default {
            Some(d) if !params.contains_key(*name) => {
                payload.insert((*name).clone(), d.clone());
            }
            None if required && !params.contains_key(*name) => {
                v.push(Violation {
                    path: format!("parameters.{name}"),
                    rule: "required",
                    expected: format!("required in mode {mode:?}"),
                    found: Value::Null,
                });
            }
            _ => {}
        }
    }
    for (name, fixed) in &model.fixed_parameters {
        if let Some(sent) = params.get(name) {
            if fixed.locked && sent != &fixed.value {
                v.push(Violation {
                    path: format!("parameters.{name}"),
                    rule: "locked",
                    expected: format!("{}", fixed.value),
                    found: sent.clone(),
                });
            }
        }
        if fixed.locked || !params.contains_key(name) {
            payload.insert(name.clone(), fixed.value.clone());
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
