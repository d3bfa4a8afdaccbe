//! Tests for `parity/deadline.rs`: a TypeScript file the parser cannot finish within its
//! budget is that file's error, and while its parser thread still runs further files are
//! refused at once (at most one such thread). In its own test binary: the abandoned parser
//! thread would refuse the other parity tests' files until this process exits.
#![cfg(feature = "parity")]

#[test]
fn a_file_the_parser_cannot_finish_in_time_is_the_files_error() {
    // Found by the parity_typescript fuzz target after the nesting bound: 514 bytes (88
    // brackets deep, 45 `<`) take oxc 17 s in a release build. The reader gives up at its
    // budget and reports the file; the parser thread runs on until the process exits.
    let text = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../tests/fuzz/regressions/parity_typescript/oxc-exponential-type-argument-speculation",
    ))
    .unwrap();
    let text = String::from_utf8_lossy(&text);
    let source: inferwarden::parity::TypeScriptSource =
        serde_json::from_value(serde_json::json!({"path": "src/App.tsx"})).unwrap();
    let started = std::time::Instant::now();
    let facts = inferwarden::parity::extract_typescript_within(
        &source,
        &text,
        &Default::default(),
        &Default::default(),
        std::time::Duration::from_millis(300),
    );
    let took = started.elapsed();
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    assert!(
        facts
            .errors
            .iter()
            .any(|e| e.message.contains("did not finish within 0.3 s")),
        "{:?}",
        facts.errors
    );
    // The abandoned parse still runs (17 s in a release build): the next file is refused at
    // once instead of starting a second one.
    let started = std::time::Instant::now();
    let facts = inferwarden::parity::extract_typescript(
        &source,
        "export type ModelId = 'a' | 'b';\nexport const x = f<number>(1);\n",
        &Default::default(),
        &Default::default(),
    );
    assert!(started.elapsed() < std::time::Duration::from_millis(100));
    assert!(
        facts.errors.iter().any(|e| e
            .message
            .contains("still being parsed past its time budget")),
        "{:?}",
        facts.errors
    );
}
