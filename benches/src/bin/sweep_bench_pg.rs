//! Sweep cost on PostgreSQL versus the naive sweep platforms run today.
//!
//! For N total rows (2,000 of them `processing`) and k stale among those, it times
//! inferwarden's sweep through `PostgresTaskStore` (one long-lived connection, the service's
//! steady state; candidates from the partial index, `FOR UPDATE SKIP LOCKED`, the update and
//! the transition rows in one statement) and, in the same run, the naive
//! `UPDATE ... WHERE status = 'processing' AND updated_at < $1` over ISO-8601 text with no
//! index. Medians of repeated runs.
//!
//! Usage: `INFERWARDEN_BENCH_POSTGRES_URL=postgres://... cargo run --release -p
//! inferwarden-benches --bin sweep_bench_pg -- [N...]` (default N = 10000 1000000).

use std::sync::Arc;
use std::time::Instant;

use inferwarden::clock::ManualClock;
use inferwarden::lifecycle::{PostgresTaskStore, SweepPolicy, TaskStore, TimeSource};
use postgres::{Client, NoTls};

const NOW: i64 = 1_800_000_000_000;
const PROCESSING: i64 = 2_000;
const TTL: i64 = 600_000;

fn load(c: &mut Client, n: i64) {
    let first = n - PROCESSING;
    c.batch_execute(&format!(
        "SET session_replication_role = replica;
         TRUNCATE iw_tasks, iw_task_transitions;
         DROP TABLE IF EXISTS legacy_tasks;
         CREATE TABLE legacy_tasks (id TEXT PRIMARY KEY, task_type TEXT, status TEXT, updated_at TEXT);
         INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at, started_at, stale_deadline, lease_id, attempt, result_path, finished_at, heartbeat_at)
           SELECT 't' || lpad(i::text, 9, '0'), 'image',
                  CASE WHEN i >= {first} THEN 'processing' ELSE 'done' END,
                  {NOW} - 90000000, {NOW} - 90000000,
                  CASE WHEN i >= {first} THEN {NOW} - 1000 ELSE {NOW} - 86400000 END,
                  CASE WHEN i >= {first} THEN {NOW} - 1000 + {TTL} ELSE {NOW} - 86400000 + {TTL} END,
                  'l', 1,
                  CASE WHEN i >= {first} THEN NULL ELSE '/r' END,
                  CASE WHEN i >= {first} THEN NULL ELSE {NOW} - 86000000 END,
                  {NOW} - 1000
           FROM generate_series(0, {n} - 1) AS i;
         INSERT INTO legacy_tasks
           SELECT 't' || lpad(i::text, 9, '0'), 'image',
                  CASE WHEN i >= {first} THEN 'processing' ELSE 'done' END,
                  to_char(to_timestamp(({NOW} - 1000) / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')
           FROM generate_series(0, {n} - 1) AS i;
         SET session_replication_role = origin;"
    ))
    .expect("load");
    c.batch_execute("VACUUM ANALYZE iw_tasks").expect("vacuum");
    c.batch_execute("VACUUM ANALYZE legacy_tasks")
        .expect("vacuum");
}

fn iso(ms: i64, c: &mut Client) -> String {
    c.query_one(
        "SELECT to_char(to_timestamp($1::BIGINT / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')",
        &[&ms],
    )
    .expect("iso")
    .get(0)
}

/// Makes k processing tasks stale (outside the timing); triggers are bypassed for this
/// session only, the sweeper's session keeps them.
fn make_stale(c: &mut Client, n: i64, k: i64) {
    let first = format!("t{:09}", n - PROCESSING);
    let first_fresh = format!("t{:09}", n - PROCESSING + k);
    let (fresh, old) = (iso(NOW - 1_000, c), iso(NOW - 3_600_000, c));
    let mut tx = c.transaction().expect("tx");
    tx.batch_execute("SET LOCAL session_replication_role = replica")
        .expect("replica");
    tx.execute(
        "UPDATE iw_tasks SET status = 'processing', error_code = NULL, error_message = NULL, finished_at = NULL,
         stale_deadline = CASE WHEN id < $2 THEN $1::BIGINT - 1 ELSE $1::BIGINT - 1000 + 600000 END WHERE id >= $3",
        &[&NOW, &first_fresh, &first],
    )
    .expect("reset");
    tx.execute(
        "UPDATE legacy_tasks SET status = 'processing', updated_at = CASE WHEN id < $2 THEN $3 ELSE $4 END WHERE id >= $1",
        &[&first, &first_fresh, &old, &fresh],
    )
    .expect("legacy reset");
    tx.batch_execute("TRUNCATE iw_task_transitions")
        .expect("clear");
    tx.commit().expect("commit");
    c.batch_execute("VACUUM iw_tasks").expect("vacuum");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let url = std::env::var("INFERWARDEN_BENCH_POSTGRES_URL")
        .expect("set INFERWARDEN_BENCH_POSTGRES_URL (scripts/services.sh start prints one)");
    let ns: Vec<i64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let ns = if ns.is_empty() {
        vec![10_000, 1_000_000]
    } else {
        ns
    };
    // Everything lives in its own schema of the given database.
    Client::connect(&url, NoTls)
        .expect("connect")
        .batch_execute("CREATE SCHEMA IF NOT EXISTS iw_bench")
        .expect("schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{sep}options=-c%20search_path%3Diw_bench");
    let mut admin = Client::connect(&url, NoTls).expect("connect");
    let sweeper =
        PostgresTaskStore::connect(&url, TimeSource::Injected(Arc::new(ManualClock::new(NOW))))
            .expect("store");
    let policy = SweepPolicy {
        pending_timeout_ms: 120_000,
        heartbeat_timeout_ms: None,
        batch: inferwarden_benches::sweep_batch(),
    };
    println!("batch size {}\n", policy.batch);
    println!("| N rows | k stale | inferwarden sweep (ms) | naive full-scan sweep (ms) | ratio |");
    println!("|---|---|---|---|---|");
    for n in ns {
        load(&mut admin, n);
        for k in [0i64, 10, 1000] {
            let runs = if n >= 1_000_000 { 7 } else { 15 };
            let (mut ours, mut naive) = (Vec::new(), Vec::new());
            let cutoff = iso(NOW - TTL, &mut admin);
            for _ in 0..runs {
                make_stale(&mut admin, n, k);
                let t = Instant::now();
                let report = sweeper.sweep("bench", &policy).expect("sweep");
                ours.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(report.failed.len() as i64, k, "wrong number failed");
                let t = Instant::now();
                let changed = admin
                    .execute(
                        "UPDATE legacy_tasks SET status = 'failed' WHERE status = 'processing' AND updated_at < $1",
                        &[&cutoff],
                    )
                    .expect("naive");
                naive.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(changed as i64, k, "naive changed the wrong number");
            }
            let (o, b) = (median(ours), median(naive));
            println!("| {n} | {k} | {o:.3} | {b:.3} | {:.0}x |", b / o);
        }
    }
}
