//! SQLite errors are classified by result code (`sqlite_error`): the store's own guard
//! triggers, duplicates, a locked database, damaged files and undecodable values each get
//! their own answer, a trigger someone else added is not mistaken for a guard, and
//! SQLite's text stays a server-side cause.
#![cfg(feature = "sqlite")]

use std::time::Duration;

use inferwarden::sqlite_error::{classify, unavailable, SqliteFailure};
use inferwarden::ErrorCode;
use rusqlite::Connection;

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER);
         CREATE TRIGGER guard BEFORE UPDATE ON t WHEN NEW.n < 0
             BEGIN SELECT RAISE(ABORT, 'invalid_transition: n never goes below zero'); END;
         CREATE TRIGGER someone_elses BEFORE DELETE ON t
             BEGIN SELECT RAISE(ABORT, 'disk gone: invalid_transition'); END;
         INSERT INTO t VALUES (1, 'a', 'not a number');",
    )
    .unwrap();
    c
}

#[test]
fn each_failure_is_told_apart_by_its_code() {
    let c = db();
    let guard = c.execute("UPDATE t SET n = -1", []).unwrap_err();
    assert_eq!(classify(&guard), SqliteFailure::Guard);
    // Same code, but not one of the store's guards (no prefix): a failed call.
    let foreign = c.execute("DELETE FROM t", []).unwrap_err();
    assert_eq!(classify(&foreign), SqliteFailure::Other);
    let dup = c
        .execute("INSERT INTO t VALUES (2, 'a', 1)", [])
        .unwrap_err();
    assert_eq!(classify(&dup), SqliteFailure::Duplicate);
    let pk = c
        .execute("INSERT INTO t VALUES (1, 'b', 1)", [])
        .unwrap_err();
    assert_eq!(classify(&pk), SqliteFailure::Duplicate);
    let undecodable = c
        .query_row("SELECT n FROM t", [], |r| r.get::<_, i64>(0))
        .unwrap_err();
    assert_eq!(classify(&undecodable), SqliteFailure::Corrupt);
    let syntax = c.execute("SELEC 1", []).unwrap_err();
    assert_eq!(classify(&syntax), SqliteFailure::Other);
}

#[test]
fn a_locked_database_is_busy_and_a_damaged_file_is_corrupt_database() {
    let dir = std::env::temp_dir().join(format!("iw_sqlite_error_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("locked.db");
    let _ = std::fs::remove_file(&path);
    let a = Connection::open(&path).unwrap();
    a.execute_batch("CREATE TABLE t (n INTEGER); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);")
        .unwrap();
    let b = Connection::open(&path).unwrap();
    b.busy_timeout(Duration::ZERO).unwrap();
    let busy = b.execute("INSERT INTO t VALUES (2)", []).unwrap_err();
    assert_eq!(classify(&busy), SqliteFailure::Busy);
    let e = unavailable("task store (sqlite)", busy);
    assert_eq!(e.code(), ErrorCode::DependencyUnavailable);
    assert_eq!(e.metadata().unwrap()["busy"], true);
    a.execute_batch("COMMIT").unwrap();

    let garbage = dir.join("garbage.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    let g = Connection::open(&garbage).unwrap();
    let damaged = g.execute_batch("SELECT * FROM sqlite_master").unwrap_err();
    assert_eq!(classify(&damaged), SqliteFailure::DamagedFile);
    let e = unavailable("task store (sqlite)", damaged);
    assert_eq!(e.metadata().unwrap()["reason"], "corrupt_database");
    assert_eq!(
        e.detail(),
        "task store (sqlite): the database file is damaged"
    );
    // SQLite's words are the server-side cause, not the client-facing body.
    assert!(e.cause().is_some());
    assert!(!e.to_json().to_string().contains("file is not a database"));
    std::fs::remove_dir_all(&dir).unwrap();
}
