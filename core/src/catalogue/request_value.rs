//! What request validation reads from a request value, as a trait: the validator works on
//! a JSON value here and on a binding's own objects (a Python dict) without converting them
//! to JSON first. Every decision stays in the validator; an implementation only answers
//! what the value is.

use serde_json::Value;

/// A request value as the validator sees it. Implementations must answer exactly as the
/// JSON value they stand for would ([`RequestValue::to_json`]): `as_f64` only for numbers
/// (never a boolean), `fields` only for objects.
pub trait RequestValue {
    /// The text, when the value is a string.
    fn as_str(&self) -> Option<&str>;
    /// The value as a number, when it is one.
    fn as_f64(&self) -> Option<f64>;
    /// Whether the value is a list.
    fn is_array(&self) -> bool;
    /// The fields of an object (any order; `None` when the value is not an object).
    fn fields(&self) -> Option<Vec<(&str, &Self)>>;
    /// One field of an object (`None` when absent or the value is not an object).
    fn field(&self, name: &str) -> Option<&Self>;
    /// Whether the value is an object (as `fields().is_some()`, without listing them).
    fn is_object(&self) -> bool {
        self.fields().is_some()
    }
    /// Whether the value equals a catalogue value, with JSON's equality (`1` is not `1.0`).
    fn equals_json(&self, other: &Value) -> bool;
    /// The value as JSON (for violations and payloads).
    fn to_json(&self) -> Value;
    /// Whether the value is a number written as a float (`8.0`), not an integer (`8`).
    fn is_float(&self) -> bool {
        matches!(self.to_json(), Value::Number(n) if n.is_f64())
    }
}

impl RequestValue for Value {
    fn as_str(&self) -> Option<&str> {
        Value::as_str(self)
    }

    fn as_f64(&self) -> Option<f64> {
        Value::as_f64(self)
    }

    fn is_array(&self) -> bool {
        Value::is_array(self)
    }

    fn fields(&self) -> Option<Vec<(&str, &Self)>> {
        self.as_object()
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
    }

    fn field(&self, name: &str) -> Option<&Self> {
        self.as_object().and_then(|m| m.get(name))
    }

    fn is_object(&self) -> bool {
        Value::is_object(self)
    }

    fn equals_json(&self, other: &Value) -> bool {
        self == other
    }

    fn to_json(&self) -> Value {
        self.clone()
    }

    fn is_float(&self) -> bool {
        matches!(self, Value::Number(n) if n.is_f64())
    }
}
