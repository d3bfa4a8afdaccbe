//! The task-ref golden vectors, run against the Rust API (pytest and node:test run the same file).

use inferwarden::parse_task_ref;
use inferwarden_tests::load_vectors;

#[test]
fn task_ref_vectors() {
    let doc = load_vectors("task_ref.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(cases.len() >= 40, "the vector file lost cases");
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = case["input"].as_str().unwrap();
        let got = parse_task_ref(input);
        match (&case.get("ok"), got) {
            (Some(expected), Ok(r)) => {
                let v = serde_json::to_value(r).unwrap();
                if &v != *expected {
                    failures.push(format!("{name}: expected {expected}, got {v}"));
                }
            }
            (Some(expected), Err(e)) => {
                failures.push(format!("{name}: expected {expected}, got error {e}"))
            }
            (None, Ok(r)) => failures.push(format!("{name}: expected an error, got {r:?}")),
            (None, Err(e)) => {
                let want = &case["error"];
                let rule = e
                    .metadata()
                    .and_then(|m| m.get("rule"))
                    .cloned()
                    .unwrap_or_default();
                if e.code_str() != want["code"] || rule != want["rule"] {
                    failures.push(format!(
                        "{name}: expected {want}, got {} rule {rule}",
                        e.code_str()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
