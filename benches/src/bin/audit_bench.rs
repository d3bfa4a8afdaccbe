//! Audit log throughput and verification cost.
//!
//! - Appends per second through `AuditLog` (group commit, hash chain, tiles) with 1 and 8
//!   writer threads, against a plain one-row-per-event `INSERT` in autocommit (each event
//!   durable before the call returns, like an audited action) from as many writers on their
//!   own connections, in the same run, on SQLite and (with `INFERWARDEN_BENCH_POSTGRES_URL`)
//!   PostgreSQL.
//! - Full verification of 1,000,000 records (SQLite), and the inclusion proof of a record in
//!   that log (mean of 1,000 random records).
//!
//! Usage: `cargo run --release -p inferwarden-benches --bin audit_bench -- [RECORDS]`
//! (default 1000000). Prints markdown tables.

use std::sync::Arc;
use std::time::{Duration, Instant};

use inferwarden::audit::{
    AuditEvent, AuditFields, AuditLog, AuditLogSettings, AuditStore, Outcome, PostgresAuditStore,
    SqliteAuditStore, VerifyOptions,
};
use inferwarden::clock::ManualClock;

const T0: i64 = 1_800_000_000_000;

fn event(i: u64) -> AuditEvent {
    AuditEvent::new(
        AuditFields {
            actor: "203.0.113.9",
            source: "gate",
            action: "cors_denied",
            target: "/status/abc123",
            outcome: Outcome::Denied,
            correlation_id: &format!("req-{i}"),
        },
        &ManualClock::new(T0 + i as i64),
    )
    .unwrap()
    .detail("origin", "https://evil.example")
    .detail("route_class", "public")
}

fn log_over(store: Arc<dyn AuditStore>) -> Arc<AuditLog> {
    Arc::new(
        AuditLog::new(
            store,
            AuditLogSettings::default(),
            Arc::new(ManualClock::new(T0)),
        )
        .unwrap(),
    )
}

/// Events per second appending `per_writer` events from each of `writers` threads.
fn rate(writers: u64, per_writer: u64, append: impl Fn(u64, u64) + Sync) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..writers {
            let append = &append;
            s.spawn(move || {
                for i in 0..per_writer {
                    append(w, w * per_writer + i);
                }
            });
        }
    });
    (writers * per_writer) as f64 / start.elapsed().as_secs_f64()
}

const PLAIN_SQLITE: &str = "CREATE TABLE IF NOT EXISTS plain_audit (
    id INTEGER PRIMARY KEY, timestamp_ms INTEGER NOT NULL, actor TEXT NOT NULL,
    source TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, outcome TEXT NOT NULL,
    correlation_id TEXT NOT NULL, details TEXT NOT NULL)";

fn sqlite_throughput(dir: &std::path::Path) {
    println!("\n### Appends per second, SQLite (WAL, synchronous=NORMAL)\n");
    println!("| writers | inferwarden AuditLog (group commit) | plain INSERT per event | ratio |");
    println!("|---:|---:|---:|---:|");
    for (writers, per) in [(1u64, 20_000u64), (8, 5_000)] {
        let path = dir.join(format!("log-{writers}.db"));
        let _ = std::fs::remove_file(&path);
        let log = log_over(Arc::new(SqliteAuditStore::open(&path).unwrap()));
        let ours = rate(writers, per, |_, i| {
            log.append(event(i)).unwrap();
        });
        assert!(log.verify(&VerifyOptions::default()).unwrap().intact);

        let plain_path = dir.join(format!("plain-{writers}.db"));
        let _ = std::fs::remove_file(&plain_path);
        let setup = rusqlite::Connection::open(&plain_path).unwrap();
        setup.pragma_update(None, "journal_mode", "WAL").unwrap();
        setup.execute_batch(PLAIN_SQLITE).unwrap();
        let conns: Vec<std::sync::Mutex<rusqlite::Connection>> = (0..writers)
            .map(|_| {
                let c = rusqlite::Connection::open(&plain_path).unwrap();
                c.busy_timeout(Duration::from_secs(30)).unwrap();
                c.pragma_update(None, "synchronous", "NORMAL").unwrap();
                std::sync::Mutex::new(c)
            })
            .collect();
        let plain = rate(writers, per, |w, i| {
            let c = conns[w as usize].lock().unwrap();
            let e = event(i);
            c.prepare_cached(
                "INSERT INTO plain_audit (timestamp_ms, actor, source, action, target, outcome, correlation_id, details)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'denied', ?6, ?7)",
            )
            .unwrap()
            .execute(rusqlite::params![
                e.timestamp_ms,
                e.actor,
                e.source,
                e.action,
                e.target,
                e.correlation_id,
                serde_json::to_string(&e.details).unwrap()
            ])
            .unwrap();
        });
        println!(
            "| {writers} | {ours:.0} | {plain:.0} | {:.2}x |",
            ours / plain
        );
    }
}

fn postgres_throughput(url: &str) {
    println!("\n### Appends per second, PostgreSQL (default settings, fsync on)\n");
    println!("| writers | inferwarden AuditLog (group commit) | plain INSERT per event | ratio |");
    println!("|---:|---:|---:|---:|");
    for (writers, per) in [(1u64, 5_000u64), (8, 2_500)] {
        let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
        admin
            .batch_execute(
                "DROP SCHEMA IF EXISTS iw_audit_bench CASCADE; CREATE SCHEMA iw_audit_bench;",
            )
            .unwrap();
        let sep = if url.contains('?') { '&' } else { '?' };
        let schema_url = format!("{url}{sep}options=-c%20search_path%3Diw_audit_bench");
        // One log per replica (each with its own connection), as replicas would run.
        let logs: Vec<Arc<AuditLog>> = (0..writers)
            .map(|_| log_over(Arc::new(PostgresAuditStore::connect(&schema_url).unwrap())))
            .collect();
        let ours = rate(writers, per, |w, i| {
            logs[w as usize].append(event(i)).unwrap();
        });
        // The same replicas, each with 8 request threads sharing its log (group commit).
        let shared = log_over(Arc::new(PostgresAuditStore::connect(&schema_url).unwrap()));
        let grouped = if writers > 1 {
            Some(rate(writers, per, |_, i| {
                shared.append(event(i)).unwrap();
            }))
        } else {
            None
        };
        assert!(shared.verify(&VerifyOptions::default()).unwrap().intact);

        admin
            .batch_execute(
                &PLAIN_SQLITE
                    .replace("id INTEGER PRIMARY KEY", "id BIGSERIAL PRIMARY KEY")
                    .replace("INTEGER", "BIGINT")
                    .replace("plain_audit", "iw_audit_bench.plain_audit"),
            )
            .unwrap();
        let conns: Vec<std::sync::Mutex<postgres::Client>> = (0..writers)
            .map(|_| {
                std::sync::Mutex::new(
                    postgres::Client::connect(&schema_url, postgres::NoTls).unwrap(),
                )
            })
            .collect();
        let plain = rate(writers, per, |w, i| {
            let mut c = conns[w as usize].lock().unwrap();
            let e = event(i);
            c.execute(
                "INSERT INTO plain_audit (timestamp_ms, actor, source, action, target, outcome, correlation_id, details)
                 VALUES ($1, $2, $3, $4, $5, 'denied', $6, $7)",
                &[
                    &e.timestamp_ms,
                    &e.actor,
                    &e.source,
                    &e.action,
                    &e.target,
                    &e.correlation_id,
                    &serde_json::to_string(&e.details).unwrap(),
                ],
            )
            .unwrap();
        });
        println!(
            "| {writers} ({}) | {ours:.0} | {plain:.0} | {:.2}x |",
            if writers > 1 {
                "one log per writer, one connection each"
            } else {
                "one log"
            },
            ours / plain
        );
        if let Some(g) = grouped {
            println!(
                "| {writers} (threads sharing one log and connection) | {g:.0} | {plain:.0} | {:.2}x |",
                g / plain
            );
        }
    }
}

fn verification(dir: &std::path::Path, records: u64) {
    println!("\n### Verification and proofs, SQLite, {records} records\n");
    let path = dir.join("big.db");
    let _ = std::fs::remove_file(&path);
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(&path).unwrap());
    let start = Instant::now();
    let mut i = 0;
    while i < records {
        let end = (i + 10_000).min(records);
        let batch: Vec<AuditEvent> = (i..end).map(event).collect();
        store.append(&batch).unwrap();
        i = end;
    }
    let seeded = start.elapsed();
    let log = log_over(store);
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let report = log.verify(&VerifyOptions::default()).unwrap();
        times.push(start.elapsed());
        assert!(report.intact && report.size == records);
    }
    times.sort();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let n = 1000;
    let start = Instant::now();
    for _ in 0..n {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        log.prove(rng % records, None).unwrap();
    }
    let proof = start.elapsed() / n as u32;
    let start = Instant::now();
    log.root_at(records).unwrap();
    let head = start.elapsed();
    println!("| what | time |");
    println!("|---|---:|");
    println!(
        "| seed {records} records (batches of 10,000) | {:.2} s |",
        seeded.as_secs_f64()
    );
    println!(
        "| full verification (re-hash, links, tiles, head; median of 3) | {:.3} s (min {:.3}, max {:.3}) |",
        times[1].as_secs_f64(),
        times[0].as_secs_f64(),
        times[2].as_secs_f64()
    );
    println!(
        "| inclusion proof of a random record (mean of {n}) | {:.1} us |",
        proof.as_secs_f64() * 1e6
    );
    println!(
        "| tree head from tiles | {:.1} us |",
        head.as_secs_f64() * 1e6
    );
}

fn main() {
    let records: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("iw-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    sqlite_throughput(&dir);
    if let Ok(url) = std::env::var("INFERWARDEN_BENCH_POSTGRES_URL") {
        postgres_throughput(&url);
    }
    verification(&dir, records);
    let _ = std::fs::remove_dir_all(&dir);
}
