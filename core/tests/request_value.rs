//! Tests for `catalogue/request_value.rs` and the validator behind it (`plan_request`): a
//! request type of the caller's own, answering through `RequestValue`, is validated exactly
//! as its JSON is, and the plan says which payload values were sent and which came from the
//! catalogue.

#[path = "support/sample_tree.rs"]
mod sample_tree;

use inferwarden::catalogue::{
    plan_request, validate_request, Catalogue, PayloadSource, RequestValue,
};
use sample_tree::sample_catalogue;
use serde_json::{json, Value};

fn sample() -> Catalogue {
    sample_catalogue()
}

/// A caller's own request type: an object keeps its fields in the order given (not sorted),
/// scalars are JSON values.
enum Own {
    Scalar(Value),
    Object(Vec<(String, Own)>),
}

fn own(v: &Value) -> Own {
    match v {
        Value::Object(m) => Own::Object(m.iter().rev().map(|(k, v)| (k.clone(), own(v))).collect()),
        other => Own::Scalar(other.clone()),
    }
}

impl RequestValue for Own {
    fn as_str(&self) -> Option<&str> {
        match self {
            Own::Scalar(v) => v.as_str(),
            Own::Object(_) => None,
        }
    }
    fn as_f64(&self) -> Option<f64> {
        match self {
            Own::Scalar(v) => v.as_f64(),
            Own::Object(_) => None,
        }
    }
    fn is_array(&self) -> bool {
        matches!(self, Own::Scalar(Value::Array(_)))
    }
    fn fields(&self) -> Option<Vec<(&str, &Self)>> {
        match self {
            Own::Object(f) => Some(f.iter().map(|(k, v)| (k.as_str(), v)).collect()),
            Own::Scalar(_) => None,
        }
    }
    fn field(&self, name: &str) -> Option<&Self> {
        match self {
            Own::Object(f) => f.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            Own::Scalar(_) => None,
        }
    }
    fn equals_json(&self, other: &Value) -> bool {
        &self.to_json() == other
    }
    fn to_json(&self) -> Value {
        match self {
            Own::Scalar(v) => v.clone(),
            Own::Object(f) => {
                Value::Object(f.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }
}

#[test]
fn the_plan_says_what_was_sent_and_what_the_catalogue_filled_in() {
    let c = sample();
    let request = json!({"model": "wan-2.2", "mode": "i2v", "parameters": {"prompt": "a cat", "num_frames": 97, "image": "u", "cfg": 2.5}});
    let plan = plan_request(&c, &request).unwrap();
    assert_eq!(
        (plan.model_id, plan.kind, plan.mode),
        ("phr00t", "video", "i2v")
    );
    let names: Vec<&str> = plan.payload.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "cfg",
            "image",
            "num_frames",
            "prompt",
            "resolution",
            "seed",
            "steps"
        ],
        "sorted by name"
    );
    for (name, source) in &plan.payload {
        let sent = matches!(source, PayloadSource::Sent(_));
        let expect_sent = ["cfg", "image", "num_frames", "prompt"].contains(name);
        assert_eq!(sent, expect_sent, "{name}");
    }
    let steps = &plan.payload.iter().find(|(n, _)| *n == "steps").unwrap().1;
    assert_eq!(*steps, PayloadSource::Catalogue(&json!(8)));
}

#[test]
fn a_callers_own_request_type_is_validated_as_its_json_is() {
    let c = sample();
    let requests = [
        json!({"model": "wan-remix", "parameters": {"prompt": "a cat"}}),
        json!({"model": "wan-2.2", "parameters": {"x": 1, "num_frames": 80, "steps": 50, "cfg": "1"}}),
        json!({"model": "wan-2.2", "mode": 3, "type": "image", "parameters": []}),
        json!({"model": "sdxl-turbo", "mode": "i2i", "parameters": {"prompt": "p", "strength": 2, "reference_image": "u", "steps": 4}}),
        json!({"model": "nope"}),
        json!(["not", "an", "object"]),
    ];
    for request in requests {
        let by_json = validate_request(&c, &request);
        let theirs = own(&request);
        let by_own = plan_request(&c, &theirs).map(|plan| {
            let payload: serde_json::Map<String, Value> = plan
                .payload
                .iter()
                .map(|(n, s)| {
                    let v = match s {
                        PayloadSource::Sent(v) => v.to_json(),
                        PayloadSource::Catalogue(v) => (*v).clone(),
                        PayloadSource::Number(_, v) => v.clone(),
                    };
                    ((*n).to_owned(), v)
                })
                .collect();
            (plan.model_id.to_owned(), plan.mode.to_owned(), payload)
        });
        match (by_json, by_own) {
            (Ok(a), Ok(b)) => assert_eq!((a.model_id, a.mode, a.payload), b, "{request}"),
            (Err(a), Err(b)) => {
                assert_eq!(a.code(), b.code(), "{request}");
                assert_eq!(
                    a.metadata(),
                    b.metadata(),
                    "{request}: same violations, same order"
                );
            }
            (a, b) => panic!("{request}: json {a:?} vs own {b:?}"),
        }
    }
}
