//! Tests for `parity/memory_guard.rs` (and the guarded half of `parity/deadline.rs`): with
//! `GuardedAllocator` installed, a TypeScript parse that passes its file's memory budget, or
//! its time budget, is stopped and holds no more memory; the next file is read as usual; and
//! past `MAX_STOPPED` stopped parses TypeScript files are refused. In its own binary (the
//! stopped threads and their count last as long as the process); the tests take `SERIAL`
//! one at a time, since one measures the resident size the other changes.
#![cfg(feature = "parity")]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use inferwarden::parity::{extract_typescript, extract_typescript_within, TypeScriptSource};

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[global_allocator]
static ALLOCATOR: inferwarden::parity::GuardedAllocator =
    inferwarden::parity::GuardedAllocator::system();

fn regression(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fuzz/regressions/parity_typescript")
        .join(name);
    String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
}

fn source() -> TypeScriptSource {
    serde_json::from_value(serde_json::json!({"path": "src/App.tsx"})).unwrap()
}

/// This process's resident set size in bytes.
fn resident() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb << 10
}

fn messages(facts: &inferwarden::parity::SourceFacts) -> Vec<String> {
    facts.errors.iter().map(|e| e.message.clone()).collect()
}

/// A large real source is within its budget.
fn reads_a_large_real_source() {
    // A 1 MB form (the sample's, repeated) holds about 22 MB while read: well inside its
    // budget of 80 MiB, so the guard leaves it alone and every copy is read.
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/platform/src/components/GenerationForm.tsx"),
    )
    .unwrap();
    let params: BTreeSet<String> = ["steps", "width", "height", "num_frames", "seed"]
        .map(String::from)
        .into();
    // A generous time budget: an unoptimised build reads 1 MB in about a second.
    let budget = Duration::from_secs(60);
    let one = extract_typescript_within(&source(), &unit, &Default::default(), &params, budget);
    assert!(one.errors.is_empty(), "{:?}", messages(&one));
    let copies = (1 << 20) / unit.len() + 1;
    let big = extract_typescript_within(
        &source(),
        &unit.repeat(copies),
        &Default::default(),
        &params,
        budget,
    );
    assert!(big.errors.is_empty(), "{:?}", messages(&big));
    assert_eq!(big.facts.len(), one.facts.len() * copies);
}

/// An ordinary file, read completely: a union and a call with type arguments.
fn reads_an_ordinary_file() {
    let ids: BTreeSet<String> = ["a", "b"].map(String::from).into();
    let facts = extract_typescript(
        &source(),
        "export type ModelId = 'a' | 'b';\nexport const x = f<number>(1);\n",
        &ids,
        &Default::default(),
    );
    assert!(facts.errors.is_empty(), "{:?}", messages(&facts));
    assert!(!facts.facts.is_empty());
}

#[test]
fn a_parse_past_its_budget_is_stopped_and_the_next_file_is_read() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    reads_a_large_real_source();
    assert_eq!(
        inferwarden::parity::memory_budget(359),
        inferwarden::parity::BASE_BUDGET + 359 * inferwarden::parity::BUDGET_PER_BYTE
    );
    // Found by the parity_typescript fuzz target: 359 bytes whose parse grows oxc's arena to
    // 3 GB within 5 s and goes on growing. It is stopped at its memory budget, long before
    // the time budget.
    let text = regression("oxc-unbounded-arena-growth");
    let before = resident();
    let started = Instant::now();
    let facts = extract_typescript(&source(), &text, &Default::default(), &Default::default());
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let budget_mib = inferwarden::parity::memory_budget(text.len()) >> 20;
    assert!(
        messages(&facts)
            .iter()
            .any(|m| m.contains(&format!("held more than {budget_mib} MiB"))),
        "{:?}",
        messages(&facts)
    );
    // The stopped parse holds what it had, and no more.
    let after = resident();
    std::thread::sleep(Duration::from_millis(500));
    let later = resident();
    let budget = inferwarden::parity::memory_budget(text.len());
    assert!(
        later <= after + (4 << 20),
        "still growing: {after} -> {later}"
    );
    assert!(
        later <= before + budget + (32 << 20),
        "{before} -> {later}, budget {budget}"
    );
    reads_an_ordinary_file();

    // Past its time budget (1 ms, far too little to reach the memory budget) a parse is
    // told to stop at its next allocation: reported as out of time, and stopped, so the next
    // file is read rather than refused for a parse still running.
    let text = regression("oxc-exponential-type-argument-speculation");
    let mut stopped = 1;
    while stopped < inferwarden::parity::MAX_STOPPED {
        let facts = extract_typescript_within(
            &source(),
            &text,
            &Default::default(),
            &Default::default(),
            Duration::from_millis(1),
        );
        assert!(
            messages(&facts)
                .iter()
                .any(|m| m.contains("did not finish within 0.001 s")),
            "{:?}",
            messages(&facts)
        );
        stopped += 1;
        if stopped < inferwarden::parity::MAX_STOPPED {
            reads_an_ordinary_file();
        }
    }

    // Each stopped parse keeps what it holds until the process exits: past MAX_STOPPED,
    // TypeScript files are refused.
    let facts = extract_typescript(
        &source(),
        "export type ModelId = 'a';\n",
        &Default::default(),
        &Default::default(),
    );
    assert!(
        messages(&facts)
            .iter()
            .any(|m| m.contains("16 earlier files were stopped") && m.contains("restart")),
        "{:?}",
        messages(&facts)
    );

    // The limits are the process's to set: keeping one more stopped parse lets the next
    // file be read, and a lower memory budget stops a parse sooner.
    let defaults = inferwarden::parity::parse_limits();
    assert_eq!(defaults, inferwarden::parity::ParseLimits::default());
    inferwarden::parity::set_parse_limits(inferwarden::parity::ParseLimits {
        memory_base: 256 << 10,
        memory_per_byte: 0,
        max_stopped: defaults.max_stopped + 1,
    });
    assert_eq!(inferwarden::parity::memory_budget(1000), 256 << 10);
    reads_an_ordinary_file();
    let text = regression("oxc-unbounded-arena-growth");
    let facts = extract_typescript(&source(), &text, &Default::default(), &Default::default());
    assert!(
        messages(&facts)
            .iter()
            .any(|m| m.contains("held more than 256 KiB")),
        "{:?}",
        messages(&facts)
    );
}

#[test]
fn the_guard_stops_an_allocation_past_the_limit_and_never_a_panicking_thread() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    use inferwarden::parity::stopped_under_watch;
    let wait = Duration::from_secs(30);
    // Within the limit: runs to its end.
    assert!(!stopped_under_watch(1 << 20, wait, || {
        std::hint::black_box(vec![0u8; 512 << 10]);
    }));
    // Past it: stopped at the allocation that passes it.
    assert!(stopped_under_watch(1 << 20, wait, || {
        std::hint::black_box(vec![0u8; 2 << 20]);
    }));
    // A panicking thread is never stopped (its panic hook holds the output and backtrace
    // locks): here its unwinding allocates past the limit, and it unwinds to its end.
    struct AllocatesOnDrop;
    impl Drop for AllocatesOnDrop {
        fn drop(&mut self) {
            std::hint::black_box(vec![1u8; 4 << 20]);
        }
    }
    assert!(!stopped_under_watch(1 << 20, wait, || {
        let _unwound = AllocatesOnDrop;
        panic!("a panic while watched (expected by this test)");
    }));
    // Panics and prints elsewhere still go through.
    assert!(std::panic::catch_unwind(|| panic!("a later panic (expected by this test)")).is_err());
}
