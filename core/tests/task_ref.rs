//! Tests for `task_ref.rs` beyond the shared golden vectors.

use inferwarden::task_ref::{is_valid_workspace, TaskRef};
use inferwarden::{parse_task_ref, ErrorCode};

fn rule(input: &str) -> String {
    let err = parse_task_ref(input).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ProxyTargetInvalid);
    err.metadata().unwrap()["rule"].as_str().unwrap().to_owned()
}

#[test]
fn local_and_remote() {
    assert_eq!(
        parse_task_ref("abc").unwrap(),
        TaskRef::Local { task_id: "abc" }
    );
    let r = parse_task_ref("acme-1::t-1").unwrap();
    assert_eq!(
        r,
        TaskRef::Remote {
            workspace: "acme-1",
            task_id: "t-1"
        }
    );
    assert_eq!(r.to_public_id(), "acme-1::t-1");
    assert_eq!(r.workspace(), Some("acme-1"));
    assert_eq!(r.task_id(), "t-1");
}

#[test]
fn each_rule_is_named() {
    assert_eq!(rule(""), "empty");
    assert_eq!(rule("abc::a::b"), "extra_separator");
    assert_eq!(rule("abc:::x"), "extra_separator");
    assert_eq!(rule("ab::x"), "workspace_length");
    assert_eq!(rule(&format!("{}::x", "a".repeat(65))), "workspace_length");
    assert_eq!(rule("Abc::x"), "workspace_character");
    assert_eq!(rule("abc::"), "task_id_empty");
    assert_eq!(rule(&"x".repeat(129)), "task_id_length");
    assert_eq!(rule("abc::.."), "task_id_dot_segment");
    assert_eq!(rule("."), "task_id_dot_segment");
    assert_eq!(rule("abc::a/b"), "task_id_character");
}

#[test]
fn position_points_at_the_bad_byte() {
    let err = parse_task_ref("abc::ab%2F").unwrap_err();
    assert_eq!(err.metadata().unwrap()["position"], 7);
}

#[test]
fn detail_never_echoes_input() {
    let hostile = "evil.example%23::canary-value";
    let err = parse_task_ref(hostile).unwrap_err();
    assert!(!err.to_string().contains("canary"));
    assert!(!err.to_string().contains("evil"));
}

#[test]
fn workspace_predicate() {
    assert!(is_valid_workspace("---"));
    assert!(is_valid_workspace(&"a".repeat(64)));
    assert!(!is_valid_workspace("ab"));
    assert!(!is_valid_workspace("abc\n"));
}

#[test]
fn never_panics_on_any_short_byte_string() {
    // Exhaustive over a small alphabet that includes every separator-relevant byte.
    let alphabet = [b'a', b':', b'.', b'/', b'%', b'A', b'-', 0u8];
    let mut buf = Vec::new();
    for len in 0..=5u32 {
        for n in 0..alphabet.len().pow(len) {
            buf.clear();
            let mut k = n;
            for _ in 0..len {
                buf.push(alphabet[k % alphabet.len()]);
                k /= alphabet.len();
            }
            let s = std::str::from_utf8(&buf).unwrap();
            if let Ok(r) = parse_task_ref(s) {
                assert_eq!(r.to_public_id(), s, "parse must round-trip");
            }
        }
    }
}
