//! The SQLite session store's record cache (`session::sqlite_record_cache`): repeated
//! lookups are answered without reading the database, and every change to the database
//! (through the store, through another connection, from another process) is seen by the
//! very next lookup; unknown ids are never kept; an entry is read again after its answers
//! run out; the cache is bounded; an in-memory store has none.
#![cfg(feature = "sqlite")]

use std::sync::Arc;

use inferwarden::clock::ManualClock;
use inferwarden::config::SessionConfig;
use inferwarden::session::{
    RecordCacheCounts, SessionCheck, SessionKind, SessionManager, SessionRecord, SessionStore,
    SqliteSessionStore,
};
use rusqlite::Connection;

#[path = "support/temp_dir.rs"]
mod temp_dir;

const T0: i64 = 2_000_000_000_000;
/// `sqlite_record_cache::REFRESH_AFTER_HITS`.
const REFRESH_AFTER_HITS: u64 = 1_000;
/// `sqlite_record_cache::CAPACITY`.
const CAPACITY: usize = 10_000;

fn record(n: u32) -> SessionRecord {
    SessionRecord {
        id: format!("{n:064x}"),
        kind: SessionKind::Generation,
        principal: "api_key#0".into(),
        created_ms: T0,
        expires_ms: T0 + 3_600_000,
        idle_timeout_ms: None,
        last_seen_ms: T0,
        revoked_ms: None,
    }
}

fn store() -> (temp_dir::Dir, SqliteSessionStore) {
    let dir = temp_dir::Dir::new("iw-session-cache");
    let store = SqliteSessionStore::open(dir.path().join("sessions.db")).unwrap();
    (dir, store)
}

fn counts(store: &SqliteSessionStore) -> RecordCacheCounts {
    store
        .cache_counts()
        .unwrap()
        .expect("a file store has a cache")
}

#[test]
fn repeated_lookups_are_answered_from_the_cache() {
    let (_dir, store) = store();
    let r = record(1);
    store.insert(&r).unwrap();
    assert_eq!(store.get(&r.id).unwrap(), Some(r.clone()));
    let first = counts(&store);
    assert_eq!((first.hits, first.kept), (0, 1));
    for _ in 0..10 {
        assert_eq!(store.get(&r.id).unwrap(), Some(r.clone()));
    }
    let after = counts(&store);
    assert_eq!(after.hits, 10);
    assert_eq!(after.misses, first.misses);
}

#[test]
fn a_revocation_through_the_store_is_seen_at_once() {
    let (_dir, store) = store();
    let r = record(2);
    store.insert(&r).unwrap();
    store.get(&r.id).unwrap();
    store.get(&r.id).unwrap();
    assert!(store.revoke(&r.id, T0 + 5).unwrap());
    assert_eq!(store.get(&r.id).unwrap().unwrap().revoked_ms, Some(T0 + 5));
}

#[test]
fn a_revocation_by_another_connection_is_seen_at_once() {
    let (dir, store) = store();
    let r = record(3);
    store.insert(&r).unwrap();
    store.get(&r.id).unwrap();
    store.get(&r.id).unwrap();
    assert_eq!(counts(&store).hits, 1);
    let other = Connection::open(dir.path().join("sessions.db")).unwrap();
    other
        .execute(
            "UPDATE inferwarden_sessions SET revoked_ms = ?2 WHERE id = ?1",
            rusqlite::params![r.id, T0 + 7],
        )
        .unwrap();
    assert_eq!(store.get(&r.id).unwrap().unwrap().revoked_ms, Some(T0 + 7));
    // A deleted row is gone at once too.
    other
        .execute("DELETE FROM inferwarden_sessions WHERE id = ?1", [&r.id])
        .unwrap();
    assert_eq!(store.get(&r.id).unwrap(), None);
}

#[test]
fn a_revocation_by_another_process_is_seen_at_once() {
    let (dir, store) = store();
    let clock = ManualClock::new(T0);
    let store: Arc<SqliteSessionStore> = Arc::new(store);
    let manager = SessionManager::new(
        store.clone(),
        SessionConfig::default(),
        Arc::new(clock.clone()),
    );
    let issued = manager.issue(SessionKind::Generation, "api_key#0").unwrap();
    for _ in 0..3 {
        assert!(matches!(
            manager.validate(SessionKind::Generation, issued.token.expose()),
            Ok(SessionCheck::Active(_))
        ));
    }
    assert!(counts(&store).hits >= 2);
    // The platform's admin tool, another process, revokes the session with its own SQLite.
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\n\
             c.execute('UPDATE inferwarden_sessions SET revoked_ms = 1 WHERE id = ?', (sys.argv[2],))\n\
             c.commit()",
        ])
        .arg(dir.path().join("sessions.db"))
        .arg(&issued.record.id)
        .status()
        .expect("python3 runs (the test command installs it)");
    assert!(status.success());
    assert!(matches!(
        manager.validate(SessionKind::Generation, issued.token.expose()),
        Ok(SessionCheck::Revoked)
    ));
}

#[test]
fn a_use_written_by_the_store_is_seen_at_once() {
    let (_dir, store) = store();
    let mut r = record(4);
    r.kind = SessionKind::Admin;
    r.idle_timeout_ms = Some(600_000);
    store.insert(&r).unwrap();
    store.get(&r.id).unwrap();
    store.touch(&r.id, T0 + 60_000).unwrap();
    assert_eq!(store.get(&r.id).unwrap().unwrap().last_seen_ms, T0 + 60_000);
}

#[test]
fn a_change_to_another_row_makes_the_next_lookup_read_again() {
    let (_dir, store) = store();
    let (a, b) = (record(5), record(6));
    store.insert(&a).unwrap();
    store.get(&a.id).unwrap();
    let before = counts(&store);
    store.insert(&b).unwrap();
    assert_eq!(store.get(&a.id).unwrap(), Some(a.clone()));
    let after = counts(&store);
    assert_eq!(after.hits, before.hits);
    assert_eq!(after.misses, before.misses + 1);
    // Read again under the new stamp, it is answered from the cache once more.
    store.get(&a.id).unwrap();
    assert_eq!(counts(&store).hits, before.hits + 1);
}

#[test]
fn unknown_ids_are_never_kept() {
    let (_dir, store) = store();
    for n in 0..100 {
        assert_eq!(store.get(&record(1_000 + n).id).unwrap(), None);
    }
    let c = counts(&store);
    assert_eq!((c.hits, c.kept), (0, 0));
}

#[test]
fn an_entry_is_read_again_after_its_answers_run_out() {
    let (_dir, store) = store();
    let r = record(7);
    store.insert(&r).unwrap();
    store.get(&r.id).unwrap();
    let start = counts(&store);
    for _ in 0..REFRESH_AFTER_HITS {
        store.get(&r.id).unwrap();
    }
    let used_up = counts(&store);
    assert_eq!(used_up.hits, start.hits + REFRESH_AFTER_HITS);
    assert_eq!(used_up.misses, start.misses);
    store.get(&r.id).unwrap();
    let reread = counts(&store);
    assert_eq!(reread.misses, start.misses + 1);
    assert_eq!(reread.hits, used_up.hits);
    store.get(&r.id).unwrap();
    assert_eq!(counts(&store).hits, used_up.hits + 1);
}

#[test]
fn the_cache_is_bounded() {
    let (dir, store) = store();
    // Rows written straight into the file in one transaction (inserting 10,001 sessions
    // through the store would commit 10,001 times).
    let mut other = Connection::open(dir.path().join("sessions.db")).unwrap();
    let tx = other.transaction().unwrap();
    for n in 0..=CAPACITY as u32 {
        let r = record(n);
        tx.execute(
            "INSERT INTO inferwarden_sessions (id, kind, principal, created_ms, expires_ms, last_seen_ms) \
             VALUES (?1, 'generation', ?2, ?3, ?4, ?3)",
            rusqlite::params![r.id, r.principal, r.created_ms, r.expires_ms],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    for n in 0..CAPACITY as u32 {
        store.get(&record(n).id).unwrap().unwrap();
    }
    assert_eq!(counts(&store).kept, CAPACITY);
    store.get(&record(CAPACITY as u32).id).unwrap().unwrap();
    assert_eq!(counts(&store).kept, 1);
}

#[test]
fn an_in_memory_store_reads_every_time() {
    let store = SqliteSessionStore::in_memory().unwrap();
    assert_eq!(store.cache_counts().unwrap(), None);
    let r = record(8);
    store.insert(&r).unwrap();
    assert_eq!(store.get(&r.id).unwrap(), Some(r.clone()));
    assert!(store.revoke(&r.id, T0 + 1).unwrap());
    assert_eq!(store.get(&r.id).unwrap().unwrap().revoked_ms, Some(T0 + 1));
}

#[test]
fn under_concurrent_commits_every_lookup_after_a_revocation_sees_it() {
    let (dir, store) = store();
    let path = dir.path().join("sessions.db");
    const N: u32 = 200;
    for n in 0..N {
        store.insert(&record(100 + n)).unwrap();
    }
    let store = Arc::new(store);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Background commits to an unrelated row, and lookups that keep the cache busy.
    let noise = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let c = Connection::open(&path).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                c.execute(
                    "INSERT OR REPLACE INTO inferwarden_sessions (id, kind, principal, created_ms, expires_ms, last_seen_ms) \
                     VALUES ('noise', 'generation', 'x', 0, 1, ?1)",
                    [n],
                )
                .unwrap();
                // A pause, so the revoker's busy handler finds the write lock free.
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, store) = (stop.clone(), store.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for n in 0..N {
                        store.get(&record(100 + n).id).unwrap();
                    }
                }
            })
        })
        .collect();
    let revoker = Connection::open(&path).unwrap();
    revoker
        .busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    for n in 0..N {
        let id = record(100 + n).id;
        assert_eq!(store.get(&id).unwrap().unwrap().revoked_ms, None);
        revoker
            .execute(
                "UPDATE inferwarden_sessions SET revoked_ms = ?2 WHERE id = ?1",
                rusqlite::params![id, T0 + i64::from(n)],
            )
            .unwrap();
        assert_eq!(
            store.get(&id).unwrap().unwrap().revoked_ms,
            Some(T0 + i64::from(n)),
            "session {n}: the lookup after the revocation's commit must see it"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    noise.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert!(counts(&store).hits > 0);
}
