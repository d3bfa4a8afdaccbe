//! Cost of one session lookup (the store call a decision with a session cookie makes), per
//! store: in-memory, SQLite (file, WAL) and, with `INFERWARDEN_BENCH_POSTGRES_URL`,
//! PostgreSQL on loopback (a pooled connection, the statement prepared once: one round
//! trip). Single-threaded; mean, p50 and p99 over the lookups.
//!
//! Usage: `cargo run --release -p inferwarden-benches --bin session_bench -- [LOOKUPS]`
//! (default 20000). Prints a markdown table.

use std::sync::Arc;
use std::time::Instant;

use inferwarden::clock::ManualClock;
use inferwarden::config::SessionConfig;
use inferwarden::session::{
    MemorySessionStore, PostgresSessionStore, SessionKind, SessionManager, SessionStore,
    SqliteSessionStore,
};

fn measure(name: &str, store: Arc<dyn SessionStore>, lookups: usize) {
    let m = SessionManager::new(
        store.clone(),
        SessionConfig::default(),
        Arc::new(ManualClock::new(2_000_000_000_000)),
    );
    let issued = m
        .issue(SessionKind::Generation, "api_key#0")
        .expect("issue");
    let id = issued.record.id.clone();
    for _ in 0..lookups / 10 {
        store.get(&id).expect("warm-up");
    }
    let mut us: Vec<f64> = Vec::with_capacity(lookups);
    for _ in 0..lookups {
        let t = Instant::now();
        let got = store.get(&id).expect("get");
        us.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(got.is_some());
    }
    us.sort_by(f64::total_cmp);
    let mean = us.iter().sum::<f64>() / us.len() as f64;
    println!(
        "| {name} | {mean:.1} | {:.1} | {:.1} |",
        us[us.len() / 2],
        us[us.len() * 99 / 100]
    );
}

fn main() {
    let lookups: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    println!("| store | mean us | p50 us | p99 us |\n|---|---|---|---|");
    measure("in-memory", Arc::new(MemorySessionStore::new()), lookups);
    let dir = std::env::temp_dir().join(format!("iw-session-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let sqlite = SqliteSessionStore::open(dir.join("s.db")).expect("sqlite");
    measure("SQLite (file, WAL)", Arc::new(sqlite), lookups);
    if let Ok(url) = std::env::var("INFERWARDEN_BENCH_POSTGRES_URL") {
        let pg = PostgresSessionStore::connect(&url).expect("postgres");
        measure("PostgreSQL (loopback)", Arc::new(pg), lookups);
    }
}
