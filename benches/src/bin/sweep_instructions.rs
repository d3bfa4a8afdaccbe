//! One 1,000-task SQLite sweep, for a deterministic cost figure under valgrind (wall-clock
//! time on a shared virtual machine varies by 2x from one minute to the next; instruction
//! counts do not).
//!
//! It builds, through the public store API, 10,000 tasks with UUID-shaped ids and their
//! full transition history (created, claimed, completed): 8,000 done, 2,000 processing of
//! which 1,000 are past their deadline, then runs one sweep with the default batch size (or
//! the first argument). Count only the sweep:
//!
//! ```text
//! cargo build --release -p inferwarden-benches --bin sweep_instructions
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/sweep.cg \
//!     --toggle-collect='*SqliteTaskStore*TaskStore*sweep*' \
//!     target/release/sweep_instructions [batch]
//! ```
//!
//! `INFERWARDEN_SWEEP_SQL` runs SQL on the store's connection before the sweep (to measure
//! what a trigger or an index costs by dropping it).

use std::collections::BTreeMap;
use std::sync::Arc;

use inferwarden::clock::ManualClock;
use inferwarden::lifecycle::{SqliteTaskStore, SweepPolicy, TaskStore, TimeSource};

const T0: i64 = 1_800_000_000_000;
const TASKS: u64 = 10_000;
const STALE: u64 = 1_000;
const PROCESSING: u64 = 2_000;
const TTL: i64 = 600_000;

fn main() {
    let batch = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(inferwarden_benches::sweep_batch);
    let dir = std::env::temp_dir().join(format!("iw-sweep-instructions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let clock = ManualClock::new(T0);
    let store = SqliteTaskStore::open(
        dir.join("sweep.db"),
        TimeSource::Injected(Arc::new(clock.clone())),
    )
    .expect("open");
    let ttls = BTreeMap::from([("image".to_owned(), TTL)]);
    for i in 0..TASKS {
        // Spread over the key space the way random UUIDs are.
        let id = format!(
            "{:08x}-0000-4000-8000-{i:012x}",
            i.wrapping_mul(2_654_435_761) % 4_294_967_291
        );
        store.create(&id, "image", "api").expect("create");
        // The first STALE tasks start at T0; the rest later, so they are not stale yet.
        clock.set_ms(if i < STALE { T0 } else { T0 + TTL / 2 });
        let claim = store.claim(&id, &ttls, "worker").expect("claim");
        if i >= PROCESSING {
            store
                .complete(&id, &claim.lease_id, "/r.png", "worker")
                .expect("complete");
        }
        clock.set_ms(T0);
    }
    if let Ok(sql) = std::env::var("INFERWARDEN_SWEEP_SQL") {
        rusqlite::Connection::open(dir.join("sweep.db"))
            .and_then(|c| c.execute_batch(&sql))
            .expect("INFERWARDEN_SWEEP_SQL");
    }
    clock.set_ms(T0 + TTL + 1);
    let policy = SweepPolicy {
        pending_timeout_ms: 120_000,
        heartbeat_timeout_ms: None,
        batch,
    };
    let report = store.sweep("instructions", &policy).expect("sweep");
    assert_eq!(report.failed.len() as u64, STALE);
    println!(
        "swept {} tasks in {} batch(es) of at most {batch}",
        report.failed.len(),
        report.batches
    );
    let _ = std::fs::remove_dir_all(&dir);
}
