//! Cost of one session lookup (the store call a decision with a session cookie makes), per
//! store: in-memory, SQLite (file, WAL) and, with `INFERWARDEN_BENCH_POSTGRES_URL`,
//! PostgreSQL on loopback (a pooled connection, the statement prepared once: one round
//! trip), beside the store as it was before (one connection, the SQL sent as text so the
//! driver prepares it on every call). Single-threaded; mean, p50 and p99 over the lookups.
//!
//! Usage: `cargo run --release -p inferwarden-benches --bin session_bench -- [LOOKUPS]`
//! (default 20000). Prints a markdown table.

use std::sync::Arc;
use std::time::Instant;

use inferwarden::clock::ManualClock;
use inferwarden::config::SessionConfig;
use inferwarden::session::{
    MemorySessionStore, PostgresSessionStore, SessionKind, SessionManager, SessionRecord,
    SessionStore, SqliteSessionStore,
};
use inferwarden::Error;

/// The lookup as the store did it before the pool: one connection behind a mutex and the
/// query passed as text, so the driver prepares it on every call (two round trips).
struct UnpreparedPg(std::sync::Mutex<postgres::Client>);

impl std::fmt::Debug for UnpreparedPg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UnpreparedPg")
    }
}

impl SessionStore for UnpreparedPg {
    fn insert(&self, r: &SessionRecord) -> Result<(), Error> {
        self.0
            .lock()
            .expect("lock")
            .execute(
                "INSERT INTO inferwarden_sessions (id, kind, principal, created_ms, expires_ms, idle_timeout_ms, last_seen_ms, revoked_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[&r.id, &r.kind.as_str(), &r.principal, &r.created_ms, &r.expires_ms, &r.idle_timeout_ms, &r.last_seen_ms, &r.revoked_ms],
            )
            .expect("insert");
        Ok(())
    }
    fn get(&self, id: &str) -> Result<Option<SessionRecord>, Error> {
        let row = self
            .0
            .lock()
            .expect("lock")
            .query_opt(
                "SELECT id, kind, principal, created_ms, expires_ms, idle_timeout_ms, last_seen_ms, revoked_ms
                 FROM inferwarden_sessions WHERE id = $1",
                &[&id],
            )
            .expect("query");
        Ok(row.map(|r| SessionRecord {
            id: r.get(0),
            kind: SessionKind::from_name(r.get::<_, &str>(1)).expect("kind"),
            principal: r.get(2),
            created_ms: r.get(3),
            expires_ms: r.get(4),
            idle_timeout_ms: r.get(5),
            last_seen_ms: r.get(6),
            revoked_ms: r.get(7),
        }))
    }
    fn touch(&self, _: &str, _: i64) -> Result<(), Error> {
        Ok(())
    }
    fn revoke(&self, _: &str, _: i64) -> Result<bool, Error> {
        Ok(false)
    }
    fn revoke_all(&self, _: Option<SessionKind>, _: i64) -> Result<u64, Error> {
        Ok(0)
    }
    fn prune_expired(&self, _: i64) -> Result<u64, Error> {
        Ok(0)
    }
}

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
        measure(
            "PostgreSQL (loopback), pooled + prepared",
            Arc::new(pg),
            lookups,
        );
        measure(
            "PostgreSQL (loopback), the previous store: one connection, SQL text each call",
            Arc::new(UnpreparedPg(std::sync::Mutex::new(
                postgres::Client::connect(&url, postgres::NoTls).expect("postgres"),
            ))),
            lookups,
        );
    }
}
