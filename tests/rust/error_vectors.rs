//! The error-contract vectors: the Rust table lists exactly the pinned codes.

use inferwarden::legacy::from_legacy_code;
use inferwarden::list_all_errors;
use inferwarden_tests::load_vectors;

#[test]
fn error_table_matches_vectors() {
    let doc = load_vectors("errors.json");
    let pinned = doc["codes"].as_array().unwrap();
    let table = list_all_errors();
    assert_eq!(
        table.len(),
        pinned.len(),
        "code count differs from tests/vectors/errors.json"
    );
    for (spec, want) in table.iter().zip(pinned) {
        assert_eq!(spec.code, want["code"]);
        assert_eq!(
            u64::from(spec.http_status),
            want["http_status"].as_u64().unwrap(),
            "{}",
            spec.code
        );
        assert_eq!(spec.family.as_str(), want["family"], "{}", spec.code);
        assert_eq!(spec.class_name, want["class_name"], "{}", spec.code);
    }
}

#[test]
fn legacy_map_matches_vectors() {
    let doc = load_vectors("errors.json");
    for row in doc["legacy"].as_array().unwrap() {
        let legacy = row["legacy"].as_str().unwrap();
        let code = from_legacy_code(legacy).unwrap_or_else(|| panic!("{legacy} unmapped"));
        assert_eq!(code.code(), row["code"]);
    }
}
