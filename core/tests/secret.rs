//! Tests for `secret.rs`: a secret never prints.

use inferwarden::secret::{Secret, REDACTED};

#[test]
fn never_printed() {
    let s = Secret::new("canary-7f3a9d");
    assert_eq!(format!("{s}"), REDACTED);
    assert_eq!(format!("{s:?}"), REDACTED);
    assert_eq!(
        format!("{:?}", Some(vec![s.clone()])),
        format!("Some([{REDACTED}])")
    );
    assert_eq!(
        serde_json::to_string(&s).unwrap(),
        format!("\"{REDACTED}\"")
    );
    assert_eq!(s.expose(), "canary-7f3a9d");
    assert_eq!(s.len(), 13);
}

#[test]
fn deserialises_from_string() {
    let s: Secret = serde_json::from_str("\"abc\"").unwrap();
    assert_eq!(s.expose(), "abc");
}

#[test]
fn the_printed_placeholder_is_refused_as_a_secret_value() {
    // A configuration rendered by `config show` and loaded back must not make the literal
    // placeholder a working key.
    let err = serde_json::from_str::<Secret>(&format!("\"{REDACTED}\"")).unwrap_err();
    assert!(err.to_string().contains("placeholder"), "{err}");
    // Anything else, including text around it, is a value like any other.
    let s: Secret = serde_json::from_str(&format!("\"x{REDACTED}\"")).unwrap();
    assert_eq!(s.expose(), format!("x{REDACTED}"));
}
