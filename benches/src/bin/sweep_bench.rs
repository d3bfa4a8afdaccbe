//! Sweep cost on SQLite versus the naive sweep platforms run today.
//!
//! For N total rows (2,000 of them `processing`) and k stale among those, it times:
//! - inferwarden's sweep (partial index on the deadline, compare-and-set update, transition
//!   rows written in the same transaction), median of repeated runs;
//! - the baseline: `UPDATE ... SET status = 'failed' WHERE status = 'processing' AND
//!   updated_at < ?` over ISO-8601 text timestamps with no index (a full scan).
//!
//! Usage: `cargo run --release -p inferwarden-benches --bin sweep_bench -- [N...]`
//! (default N = 10000 1000000). Prints a markdown table.

use std::sync::Arc;
use std::time::Instant;

use inferwarden::clock::ManualClock;
use inferwarden::lifecycle::{SqliteTaskStore, SweepPolicy, TaskStore, TimeSource};
use rusqlite::{params, Connection};

const NOW: i64 = 1_800_000_000_000;
const PROCESSING: i64 = 2_000;
const TTL: i64 = 600_000;
/// The default policy's batch size, or `INFERWARDEN_BENCH_BATCH`.
fn policy() -> SweepPolicy {
    SweepPolicy {
        pending_timeout_ms: 120_000,
        heartbeat_timeout_ms: None,
        batch: inferwarden_benches::sweep_batch(),
    }
}

fn iso(ms: i64) -> String {
    // Seconds resolution is enough for the baseline's lexical comparison.
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn load(path: &std::path::Path, n: i64) {
    let store = SqliteTaskStore::open(path, TimeSource::Injected(Arc::new(ManualClock::new(NOW))))
        .expect("open");
    drop(store);
    let mut c = Connection::open(path).expect("conn");
    c.execute_batch("DROP TRIGGER iw_tasks_insert_pending; DROP TRIGGER iw_tasks_terminal_immutable; DROP TRIGGER iw_tasks_legal_transition; DROP TRIGGER iw_tasks_terminal_fields;")
        .expect("drop triggers for loading");
    c.execute_batch("CREATE TABLE legacy_tasks (id TEXT PRIMARY KEY, task_type TEXT, status TEXT, updated_at TEXT)").expect("legacy");
    let tx = c.transaction().expect("tx");
    {
        let mut ins = tx
            .prepare("INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at, started_at, stale_deadline, lease_id, attempt, result_path, finished_at) VALUES (?1, 'image', ?2, ?3, ?3, ?4, ?5, 'l', 1, ?6, ?7)")
            .expect("prep");
        let mut leg = tx
            .prepare("INSERT INTO legacy_tasks VALUES (?1, 'image', ?2, ?3)")
            .expect("prep");
        for i in 0..n {
            let id = format!("t{i:08}");
            let processing = i >= n - PROCESSING;
            // Processing tasks started recently: not stale until the bench makes some stale.
            let (status, started, deadline, result, finished) = if processing {
                (
                    "processing",
                    Some(NOW - 1_000),
                    Some(NOW - 1_000 + TTL),
                    None,
                    None,
                )
            } else {
                (
                    "done",
                    Some(NOW - 86_400_000),
                    Some(NOW - 86_400_000 + TTL),
                    Some("/r"),
                    Some(NOW - 86_000_000),
                )
            };
            ins.execute(params![
                id,
                status,
                NOW - 90_000_000,
                started,
                deadline,
                result,
                finished
            ])
            .expect("insert");
            leg.execute(params![
                id,
                status,
                iso(if processing {
                    NOW - 1_000
                } else {
                    NOW - 86_400_000
                })
            ])
            .expect("insert legacy");
        }
    }
    tx.commit().expect("commit");
    c.execute_batch("ANALYZE").expect("analyze");
}

/// Makes `k` processing tasks stale (deadline in the past), outside the timing.
fn make_stale(path: &std::path::Path, n: i64, k: i64) {
    let c = Connection::open(path).expect("conn");
    // The triggers stay in place (the swept rows are terminal and immutable): the
    // processing rows are deleted and re-enter through legal transitions.
    let first = format!("t{:08}", n - PROCESSING);
    let first_fresh = format!("t{:08}", n - PROCESSING + k);
    let tx = c.unchecked_transaction().expect("tx");
    tx.execute("CREATE TEMP TABLE IF NOT EXISTS ids (id TEXT)", [])
        .expect("temp");
    tx.execute("DELETE FROM temp.ids", []).expect("temp clear");
    tx.execute(
        "INSERT INTO temp.ids SELECT id FROM iw_tasks WHERE id >= ?1",
        params![first],
    )
    .expect("ids");
    tx.execute("DELETE FROM iw_tasks WHERE id >= ?1", params![first])
        .expect("delete");
    tx.execute(
        "INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at) SELECT id, 'image', 'pending', ?1, ?1 FROM temp.ids",
        params![NOW - 90_000_000],
    )
    .expect("reinsert");
    tx.execute(
        // As a claim does: the claim is the first heartbeat.
        "UPDATE iw_tasks SET status = 'processing', started_at = ?1, heartbeat_at = ?1, lease_id = 'l', attempt = 1, stale_deadline = CASE WHEN id < ?3 THEN ?2 - 1 ELSE ?1 + 600000 END WHERE id >= ?4",
        params![NOW - 1_000, NOW, first_fresh, first],
    )
    .expect("claim");
    tx.execute("DELETE FROM iw_task_transitions", [])
        .expect("clear transitions");
    tx.commit().expect("commit");
    c.execute(
        "UPDATE legacy_tasks SET status = 'processing', updated_at = ?1 WHERE id >= ?2",
        params![iso(NOW - 1_000), format!("t{:08}", n - PROCESSING)],
    )
    .expect("legacy reset");
    if k > 0 {
        c.execute(
            "UPDATE legacy_tasks SET updated_at = ?1 WHERE id >= ?2 AND id < ?3",
            params![
                iso(NOW - 3_600_000),
                format!("t{:08}", n - PROCESSING),
                format!("t{:08}", n - PROCESSING + k)
            ],
        )
        .expect("legacy stale");
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let ns: Vec<i64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ns = if ns.is_empty() {
        vec![10_000, 1_000_000]
    } else {
        ns
    };
    let dir = std::env::temp_dir().join(format!("iw-sweep-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let policy = policy();
    println!("batch size {}\n", policy.batch);
    println!("| N rows | k stale | inferwarden sweep, long-lived sweeper (ms) | inferwarden sweep, fresh connection (ms) | naive full-scan sweep (ms) | ratio (long-lived) |");
    println!("|---|---|---|---|---|---|");
    for n in ns {
        let path = dir.join(format!("bench-{n}.db"));
        let _ = std::fs::remove_file(&path);
        load(&path, n);
        for k in [0i64, 10, 1000] {
            let runs = if n >= 1_000_000 { 5 } else { 15 };
            let mut ours = Vec::new();
            let mut warm = Vec::new();
            let mut naive = Vec::new();
            // The service's steady state: one long-lived sweeper connection while another
            // connection (the API) writes, which invalidates the sweeper's page cache.
            let api = Connection::open(&path).expect("api conn");
            let sweeper =
                SqliteTaskStore::open(&path, TimeSource::Injected(Arc::new(ManualClock::new(NOW))))
                    .expect("open");
            for _ in 0..runs {
                make_stale(&path, n, k);
                let t = Instant::now();
                let report = sweeper.sweep("bench", &policy).expect("sweep");
                warm.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(report.failed.len() as i64, k);
            }
            drop(sweeper);
            drop(api);
            for _ in 0..runs {
                make_stale(&path, n, k);
                let store = SqliteTaskStore::open(
                    &path,
                    TimeSource::Injected(Arc::new(ManualClock::new(NOW))),
                )
                .expect("open");
                let t = Instant::now();
                let report = store.sweep("bench", &policy).expect("sweep");
                ours.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(
                    report.failed.len() as i64,
                    k,
                    "sweep failed the wrong number of tasks"
                );
                drop(store);
                let c = Connection::open(&path).expect("conn");
                let t = Instant::now();
                let changed = c
                    .execute("UPDATE legacy_tasks SET status = 'failed' WHERE status = 'processing' AND updated_at < ?1", params![iso(NOW - TTL)])
                    .expect("naive");
                naive.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(changed as i64, k);
            }
            let (o, w, b) = (median(ours), median(warm), median(naive));
            println!("| {n} | {k} | {w:.3} | {o:.3} | {b:.3} | {:.0}x |", b / w);
        }
        let _ = std::fs::remove_file(&path);
    }
}
