//! The validate_request golden vectors against the Rust API (pytest and node:test run the
//! same file).

use std::collections::BTreeSet;

use inferwarden::catalogue::{validate_request_shaped, Catalogue, RequestShape};
use inferwarden_tests::load_vectors;
use serde_json::Value;

#[test]
fn catalogue_vectors() {
    let doc = load_vectors("catalogue.json");
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../").to_owned() + doc["catalogue"].as_str().unwrap();
    let catalogue = Catalogue::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let shape = RequestShape::parse(case["shape"].as_str().unwrap_or("nested")).unwrap();
        match (
            validate_request_shaped(&catalogue, &case["request"], shape),
            case.get("ok"),
        ) {
            (Ok(got), Some(want)) => {
                let got = serde_json::to_value(&got).unwrap();
                for key in ["model_id", "mode", "payload"] {
                    if got[key] != want[key] {
                        failures.push(format!("{name}: {key} {} != {}", got[key], want[key]));
                    }
                }
            }
            (Err(e), None) => {
                let got: BTreeSet<(String, String)> = e.metadata().unwrap()["violations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        (
                            v["path"].as_str().unwrap().to_owned(),
                            v["rule"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                let want: BTreeSet<(String, String)> = case["violations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p: &Value| {
                        (
                            p[0].as_str().unwrap().to_owned(),
                            p[1].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                if got != want || e.code_str() != "validation_error" {
                    failures.push(format!("{name}: {got:?} != {want:?}"));
                }
            }
            (got, _) => failures.push(format!("{name}: unexpected {got:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
