//! Replays every committed fuzz input on stable, in the ordinary test command: the
//! minimised corpus each cargo-fuzz target grew (`tests/fuzz/corpus/TARGET`) and every input
//! that once broke a property (`tests/fuzz/regressions/TARGET`), through the same oracles
//! the fuzz targets call (`inferwarden_tests::fuzz`). No nightly toolchain is needed.

use std::path::{Path, PathBuf};

/// As in the parity_typescript fuzz target: a TypeScript parse past its memory or time
/// budget is stopped (the corpus holds inputs whose oxc parse grows without bound).
#[global_allocator]
static ALLOCATOR: inferwarden::parity::GuardedAllocator =
    inferwarden::parity::GuardedAllocator::system();

use inferwarden_tests::fuzz::{Oracle, TARGETS};

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, oracle: Oracle, dir: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(dir)
        .join(target);
    let files = inputs(&root);
    for file in &files {
        // A running fuzzer replaces corpus files as it reduces them: one listed a moment
        // ago may be gone, which says nothing about any property.
        let data = match std::fs::read(file) {
            Ok(data) => data,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => panic!("{}: {e}", file.display()),
        };
        let outcome = std::panic::catch_unwind(|| oracle(&data));
        assert!(
            outcome.is_ok(),
            "{target}: {} breaks its property",
            file.display()
        );
    }
    files.len()
}

#[test]
fn every_corpus_and_regression_input_keeps_its_property() {
    // The fuzz target's limits: the corpus holds many inputs whose parse is stopped, each
    // keeping up to 1 MiB here (as it keeps it in the fuzzer) instead of the default 16.
    inferwarden::parity::set_parse_limits(inferwarden_tests::fuzz::FUZZ_PARSE_LIMITS);
    for (target, oracle) in TARGETS {
        let corpus = replay(target, oracle, "corpus");
        assert!(
            corpus > 0,
            "{target}: no committed corpus (run scripts/fuzz.sh {target})"
        );
        replay(target, oracle, "regressions");
    }
}

#[test]
fn the_oracles_catch_a_broken_property() {
    // A remote id the grammar accepts is accepted and round-trips; feeding the oracle an
    // input it must refuse would panic only if the parser disagreed with the model, so
    // check the model itself against hand-picked cases.
    let oracle = TARGETS.iter().find(|(n, _)| *n == "task_ref").unwrap().1;
    for id in [
        "abc::t-1",
        "t.1",
        "..",
        "ab::x",
        "abc::def::g",
        "",
        "ABC::t",
    ] {
        oracle(id.as_bytes());
    }
    let mut facts = inferwarden::parity::SourceFacts::default();
    facts.errors.push(inferwarden::parity::SourceError {
        at: inferwarden::parity::Location {
            file: "x.py".into(),
            line: 9,
            column: 1,
        },
        message: "past the end".into(),
    });
    let broken = std::panic::catch_unwind(|| {
        inferwarden_tests::fuzz::check_lines(&facts, "one line\ntwo lines")
    });
    assert!(broken.is_err(), "a location past the end is caught");
}
