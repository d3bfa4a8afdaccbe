//! `normalize_path` against a reference written out here (percent-decode, lowercase, drop
//! empty and `.` segments, resolve `..`): the fast path for paths already in normal form must
//! give exactly what the full normalisation gives, for any path.

use inferwarden::gate::normalize_path;
use proptest::prelude::*;

/// The rule, spelled out step by step with no shortcut.
fn reference(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                decoded.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded).to_ascii_lowercase();
    let mut segments: Vec<&str> = Vec::new();
    for seg in text.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    if segments.is_empty() {
        "/".to_owned()
    } else {
        segments.iter().map(|s| format!("/{s}")).collect()
    }
}

#[test]
fn paths_in_normal_form_come_back_unchanged_and_others_are_normalised() {
    for (path, want) in [
        ("/", "/"),
        ("", "/"),
        ("/status/t1", "/status/t1"),
        ("/Status/t1", "/status/t1"),
        ("/status/t1/", "/status/t1"),
        ("/status//t1", "/status/t1"),
        ("status/t1", "/status/t1"),
        ("/status/./t1", "/status/t1"),
        ("/status/../admin", "/admin"),
        ("/%61dmin", "/admin"),
        ("/a.b/c..d/.e", "/a.b/c..d/.e"),
        ("/caf\u{e9}", "/caf\u{e9}"),
        ("/CAF\u{c9}", "/caf\u{c9}"),
    ] {
        assert_eq!(normalize_path(path), want, "{path:?}");
        assert_eq!(reference(path), want, "reference, {path:?}");
    }
}

proptest! {
    #[test]
    fn normalize_path_matches_the_reference(
        segments in proptest::collection::vec(
            prop_oneof![
                Just(String::new()),
                Just(".".to_owned()),
                Just("..".to_owned()),
                Just("%2e".to_owned()),
                Just("%2F".to_owned()),
                Just("%zz".to_owned()),
                Just("%".to_owned()),
                "[a-zA-Z0-9._~-]{1,6}",
                "[a-z\u{e9}\u{c9}%]{1,4}",
            ],
            0..6,
        ),
        lead in any::<bool>(),
        trail in any::<bool>(),
    ) {
        let mut path = segments.join("/");
        if lead {
            path.insert(0, '/');
        }
        if trail {
            path.push('/');
        }
        prop_assert_eq!(normalize_path(&path), reference(&path), "{:?}", path);
    }
}
