//! Request validation for `POST /generate`, derived from the catalogue: model (or alias)
//! exists, type matches, mode allowed, visible-only parameters, required parameters by mode,
//! types, ranges, steps, options, `maxLength`, locked fixed parameters, unknown parameters.
//! Every violation is reported at once in one `validation_error`, and the accepted request
//! comes back as the payload with defaults and fixed values filled in (what the frontend's
//! build-payload does, from the same rules). [`plan_request`] is the validator itself,
//! generic over [`RequestValue`] so a binding can validate its own objects and build the
//! payload from them without a JSON round trip.

use serde::Serialize;
use serde_json::{Map, Value};

use super::condition::Condition;
use super::model::{json_equals, value_problem_kind, Catalogue, ParamType, RequestShape};
use super::request_value::RequestValue;
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

/// Where one payload value comes from.
#[derive(Debug, PartialEq)]
pub enum PayloadSource<'a, V> {
    /// The value the request sent.
    Sent(&'a V),
    /// A catalogue default or fixed value.
    Catalogue(&'a Value),
    /// A sent number (first) in its parameter's JSON type (second): an integral float for an
    /// `int` parameter as an integer (`8.0` -> `8`), an integer for a `float` parameter as a
    /// float.
    Number(&'a V, Value),
}

// Derived `Clone` would require `V: Clone`; only references are copied.
impl<V> Clone for PayloadSource<'_, V> {
    fn clone(&self) -> Self {
        match self {
            PayloadSource::Sent(v) => PayloadSource::Sent(v),
            PayloadSource::Catalogue(v) => PayloadSource::Catalogue(v),
            PayloadSource::Number(sent, v) => PayloadSource::Number(sent, v.clone()),
        }
    }
}

/// An accepted request, borrowing from the catalogue and the request.
#[derive(Debug, PartialEq)]
pub struct RequestPlan<'a, V> {
    /// The internal model id.
    pub model_id: &'a str,
    /// `image` or `video`.
    pub kind: &'a str,
    /// The mode.
    pub mode: &'a str,
    /// The payload, sorted by parameter name: sent values accepted, then defaults and fixed
    /// values filled in.
    pub payload: Vec<(&'a str, PayloadSource<'a, V>)>,
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

/// Validates `request` in the catalogue's request shape (nested by default:
/// `{"model", "type"?, "mode"?, "parameters": {...}}`).
pub fn validate_request(catalogue: &Catalogue, request: &Value) -> Result<ValidatedRequest, Error> {
    validate_request_shaped(catalogue, request, catalogue.request_shape())
}

/// Validates `request` in `shape` (flat: parameters beside `model`/`type`/`mode`).
pub fn validate_request_shaped(
    catalogue: &Catalogue,
    request: &Value,
    shape: RequestShape,
) -> Result<ValidatedRequest, Error> {
    let plan = plan_request_shaped(catalogue, request, shape)?;
    let payload = plan
        .payload
        .into_iter()
        .map(|(name, source)| {
            let value = match source {
                PayloadSource::Sent(v) => v.clone(),
                PayloadSource::Catalogue(v) => v.clone(),
                PayloadSource::Number(_, v) => v,
            };
            (name.to_owned(), value)
        })
        .collect();
    Ok(ValidatedRequest {
        model_id: plan.model_id.to_owned(),
        kind: plan.kind.to_owned(),
        mode: plan.mode.to_owned(),
        payload,
    })
}

/// [`validate_request`] taking the request by value (kept for callers that own it).
pub fn validate_request_owned(
    catalogue: &Catalogue,
    request: Value,
) -> Result<ValidatedRequest, Error> {
    validate_request(catalogue, &request)
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

/// Sets `name` in the payload (replacing an earlier value of that name).
fn put<'a, V>(
    payload: &mut Vec<(&'a str, PayloadSource<'a, V>)>,
    name: &'a str,
    value: PayloadSource<'a, V>,
) {
    match payload.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => payload.push((name, value)),
    }
}

/// Whether `value` has the JSON type of `like` (number, text, boolean, null, list, object).
fn same_json_type<V: RequestValue>(value: &V, like: &Value) -> bool {
    match like {
        Value::Number(_) => value.as_f64().is_some(),
        Value::String(_) => value.as_str().is_some(),
        Value::Bool(_) => {
            value.equals_json(&Value::Bool(true)) || value.equals_json(&Value::Bool(false))
        }
        Value::Null => value.equals_json(&Value::Null),
        Value::Array(_) => value.is_array(),
        Value::Object(_) => value.to_json().is_object(),
    }
}

/// The keys a request carries besides its parameters.
const ROUTING_KEYS: [&str; 3] = ["model", "type", "mode"];

/// A sent number in its parameter's JSON type, when it is sent in the other one.
fn normalized_number<V: RequestValue>(kind: ParamType, value: &V) -> Option<Value> {
    let x = value.as_f64()?;
    match kind {
        ParamType::Int if value.is_float() && x.fract() == 0.0 && x.abs() < 9.0e15 => {
            Some(Value::from(x as i64))
        }
        ParamType::Float if !value.is_float() => serde_json::Number::from_f64(x).map(Value::Number),
        _ => None,
    }
}

/// [`plan_request_shaped`] in the catalogue's request shape.
pub fn plan_request<'a, V: RequestValue>(
    catalogue: &'a Catalogue,
    request: &'a V,
) -> Result<RequestPlan<'a, V>, Error> {
    plan_request_shaped(catalogue, request, catalogue.request_shape())
}

/// The validator: checks `request` (in `shape`) against the catalogue and, when it is
/// accepted, says where each payload value comes from; otherwise one `validation_error`
/// listing every violation in `metadata.violations`. In either shape a key that is neither
/// a routing key nor a parameter is `unknown_field` (nested, top level) or
/// `unknown_parameter`: nothing sent is silently dropped.
pub fn plan_request_shaped<'a, V: RequestValue>(
    catalogue: &'a Catalogue,
    request: &'a V,
    shape: RequestShape,
) -> Result<RequestPlan<'a, V>, Error> {
    let mut v: Vec<Violation> = Vec::new();
    if !request.is_object() {
        return Err(fail(vec![Violation {
            path: "$".into(),
            rule: "type",
            expected: "an object".into(),
            found: request.to_json(),
        }]));
    }
    let model_name = request
        .field("model")
        .and_then(RequestValue::as_str)
        .unwrap_or_default();
    let Some((_, model)) = catalogue.find(model_name) else {
        return Err(fail(vec![Violation {
            path: "model".into(),
            rule: "unknown_model",
            expected: "a catalogue model or alias".into(),
            found: request
                .field("model")
                .map_or(Value::Null, RequestValue::to_json),
        }]));
    };
    if let Some(t) = request.field("type") {
        if t.as_str() != Some(model.kind.as_str()) {
            v.push(Violation {
                path: "type".into(),
                rule: "type_mismatch",
                expected: model.kind.clone(),
                found: t.to_json(),
            });
        }
    }
    let mode: &'a str = match request.field("mode") {
        Some(m) => match m.as_str() {
            // The catalogue's own text for a known mode (as for parameter names).
            Some(m) => model
                .modes
                .get_key_value(m)
                .map_or(m, |(known, _)| known.as_str()),
            None => {
                v.push(Violation {
                    path: "mode".into(),
                    rule: "type",
                    expected: "a mode name".into(),
                    found: m.to_json(),
                });
                ""
            }
        },
        None => model
            .default_mode
            .as_deref()
            .or_else(|| model.modes.keys().next().map(String::as_str))
            .unwrap_or_default(),
    };
    if !model.modes.is_empty() && !model.modes.contains_key(mode) {
        v.push(Violation {
            path: "mode".into(),
            rule: "mode_not_allowed",
            expected: model.modes.keys().cloned().collect::<Vec<_>>().join("|"),
            found: Value::String(mode.to_owned()),
        });
    }
    let top = request.fields().unwrap_or_default();
    let mut params = match shape {
        RequestShape::Flat => top
            .into_iter()
            .filter(|(k, _)| !ROUTING_KEYS.contains(k))
            .collect(),
        RequestShape::Nested => {
            for (key, value) in &top {
                if !ROUTING_KEYS.contains(key) && *key != "parameters" {
                    v.push(Violation {
                        path: (*key).to_owned(),
                        rule: "unknown_field",
                        expected: "model, type, mode or parameters (nested request shape)".into(),
                        found: value.to_json(),
                    });
                }
            }
            match request.field("parameters") {
                None => Vec::new(),
                Some(p) => match p.fields() {
                    Some(fields) => fields,
                    None => {
                        v.push(Violation {
                            path: "parameters".into(),
                            rule: "type",
                            expected: "an object".into(),
                            found: p.to_json(),
                        });
                        Vec::new()
                    }
                },
            }
        }
    };
    // Checked in name order (a JSON object's order), so violations come out the same
    // whatever order the caller's object keeps.
    params.sort_unstable_by(|a, b| a.0.cmp(b.0));
    // Common parameters, then the model's (a model's own definition wins: searched from the
    // back). An iterator, not a collected list: no allocation per request.
    let defs = || catalogue.common.iter().chain(model.parameters.iter());
    let mut payload: Vec<(&'a str, PayloadSource<'a, V>)> = Vec::new();
    // Sent values that did not go into the payload (refused, or fixed-only parameters):
    // they still count as sent (no default is filled in) and are checked against locks.
    let mut held: Vec<(&'a str, &'a V)> = Vec::new();
    // Paths are built only for violations: the accepted path allocates nothing extra.
    let path = |name: &str| match shape {
        RequestShape::Nested => format!("parameters.{name}"),
        RequestShape::Flat => name.to_owned(),
    };
    for (name, value) in params {
        match defs().rev().find(|(n, _)| n.as_str() == name) {
            None if model.fixed_parameters.contains_key(name) => held.push((name, value)),
            None => v.push(Violation {
                path: path(name),
                rule: "unknown_parameter",
                expected: "a catalogue parameter".into(),
                found: value.to_json(),
            }),
            Some((def_name, p)) => {
                // The payload names a sent value by its definition's name: the same text,
                // held by the catalogue (a binding can map it to a ready-made key by address).
                let name: &'a str = def_name.as_str();
                if !cond(
                    catalogue,
                    &p.visible_if,
                    p.parsed.visible_if.as_ref(),
                    mode,
                    true,
                )? {
                    v.push(Violation {
                        path: path(name),
                        rule: "not_visible_in_mode",
                        expected: format!("not sent in mode {mode:?}"),
                        found: value.to_json(),
                    });
                    held.push((name, value));
                    continue;
                }
                if let Some((kind, problem)) = value_problem_kind(p, value) {
                    v.push(Violation {
                        path: path(name),
                        rule: kind.rule(),
                        expected: problem,
                        found: value.to_json(),
                    });
                    held.push((name, value));
                    continue;
                }
                let source = match normalized_number(p.kind, value) {
                    Some(n) => PayloadSource::Number(value, n),
                    None => PayloadSource::Sent(value),
                };
                put(&mut payload, name, source);
            }
        }
    }
    // Fixed values first (the payload holds only accepted sent values here), so a default
    // never masks a fixed value.
    for (name, fixed) in &model.fixed_parameters {
        let sent = payload
            .iter()
            .find(|(n, _)| *n == name.as_str())
            .and_then(|(_, s)| match s {
                PayloadSource::Sent(v) | PayloadSource::Number(v, _) => Some(*v),
                PayloadSource::Catalogue(_) => None,
            })
            .or_else(|| {
                held.iter()
                    .find(|(n, _)| *n == name.as_str())
                    .map(|(_, v)| *v)
            });
        match sent {
            Some(value) if fixed.locked => {
                if !json_equals(value, &fixed.value) {
                    v.push(Violation {
                        path: path(name),
                        rule: "locked",
                        expected: format!("{}", fixed.value),
                        found: value.to_json(),
                    });
                }
                put(&mut payload, name, PayloadSource::Catalogue(&fixed.value));
            }
            // An unlocked fixed value is the catalogue's choice that a request may override
            // with a value of the same JSON type.
            Some(value) if same_json_type(value, &fixed.value) => {
                put(&mut payload, name, PayloadSource::Sent(value));
            }
            Some(value) => v.push(Violation {
                path: path(name),
                rule: "invalid_value",
                expected: format!(
                    "a value of the same type as the fixed value {}",
                    fixed.value
                ),
                found: value.to_json(),
            }),
            // A fixed value validation would refuse is never emitted (the catalogue was
            // loaded with invalid values allowed, and check() reports it).
            None if fixed.invalid => {}
            None => put(&mut payload, name, PayloadSource::Catalogue(&fixed.value)),
        }
    }
    for (name, p) in defs().rev() {
        if payload.iter().any(|(n, _)| *n == name.as_str())
            || !cond(
                catalogue,
                &p.visible_if,
                p.parsed.visible_if.as_ref(),
                mode,
                true,
            )?
        {
            continue;
        }
        let was_sent = held.iter().any(|(n, _)| *n == name.as_str());
        let required = p.required == Some(true)
            || cond(
                catalogue,
                &p.required_if,
                p.parsed.required_if.as_ref(),
                mode,
                false,
            )?;
        match &p.default {
            // An invalid default is never emitted (check() reports it); a required
            // parameter must then be sent.
            Some(_) if p.parsed.default_invalid && !was_sent && required => {
                v.push(Violation {
                    path: path(name),
                    rule: "required",
                    expected: format!(
                        "required in mode {mode:?} (the catalogue default is invalid)"
                    ),
                    found: Value::Null,
                });
            }
            Some(_) if p.parsed.default_invalid => {}
            Some(d) if !was_sent => {
                payload.push((name.as_str(), PayloadSource::Catalogue(d)));
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
    payload.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Ok(RequestPlan {
        model_id: &model.id,
        kind: &model.kind,
        mode,
        payload,
    })
}
