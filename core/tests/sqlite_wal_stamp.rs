//! The WAL-index stamp (`sqlite_wal_stamp`): equal while nothing commits, different after a
//! commit by this connection, by another connection, or by another process's `sqlite3`
//! library; a transaction rolled back leaves it as it was (also one that spilled pages into
//! the WAL); no stamp for a database in memory; and the two-copy rule of the header read.
#![cfg(feature = "sqlite")]

use inferwarden::sqlite_wal_stamp::WalStamp;
use rusqlite::Connection;

#[path = "support/temp_dir.rs"]
mod temp_dir;

/// The stamp of a connection `wal_db` opened (WAL mode, normal locking, a transaction run).
fn stamp(conn: &Connection) -> Option<WalStamp> {
    // SAFETY: every connection passed here is in WAL mode with normal locking and has run a
    // transaction since (`wal_db`, or a second connection that wrote), and no test changes
    // either mode; each test uses its connections from one thread.
    unsafe { WalStamp::read(conn) }
}

fn wal_db() -> (temp_dir::Dir, Connection) {
    let dir = temp_dir::Dir::new("iw-wal-stamp");
    let conn = Connection::open(dir.path().join("t.db")).unwrap();
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.execute_batch(
        "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');",
    )
    .unwrap();
    (dir, conn)
}

#[test]
fn the_stamp_is_stable_while_nothing_commits() {
    let (_dir, conn) = wal_db();
    let a = stamp(&conn).expect("a WAL database has a stamp");
    let _: String = conn
        .query_row("SELECT v FROM t WHERE k = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stamp(&conn), Some(a));
}

#[test]
fn a_commit_by_this_connection_changes_the_stamp() {
    let (_dir, conn) = wal_db();
    let a = stamp(&conn).unwrap();
    conn.execute("UPDATE t SET v = 'b' WHERE k = 1", [])
        .unwrap();
    let b = stamp(&conn).unwrap();
    assert_ne!(a, b);
    // A statement that changes no row commits no frame.
    conn.execute("UPDATE t SET v = 'c' WHERE k = 99", [])
        .unwrap();
    assert_eq!(stamp(&conn), Some(b));
}

#[test]
fn a_commit_by_another_connection_changes_the_stamp() {
    let (dir, conn) = wal_db();
    let a = stamp(&conn).unwrap();
    let other = Connection::open(dir.path().join("t.db")).unwrap();
    other
        .execute("UPDATE t SET v = 'z' WHERE k = 1", [])
        .unwrap();
    assert_ne!(stamp(&conn), Some(a));
}

#[test]
fn a_rolled_back_transaction_leaves_the_stamp() {
    let (dir, conn) = wal_db();
    let a = stamp(&conn).unwrap();
    let mut other = Connection::open(dir.path().join("t.db")).unwrap();
    let tx = other.transaction().unwrap();
    tx.execute("UPDATE t SET v = 'z' WHERE k = 1", []).unwrap();
    // Uncommitted: readers still see the old row, and the stamp says so.
    assert_eq!(stamp(&conn), Some(a));
    tx.rollback().unwrap();
    assert_eq!(stamp(&conn), Some(a));
}

#[test]
fn a_commit_into_a_restarted_wal_changes_the_stamp() {
    let (_dir, conn) = wal_db();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let a = stamp(&conn).unwrap();
    conn.execute("UPDATE t SET v = 'b' WHERE k = 1", [])
        .unwrap();
    let b = stamp(&conn).unwrap();
    assert_ne!(a, b);
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    conn.execute("UPDATE t SET v = 'a' WHERE k = 1", [])
        .unwrap();
    // The same frame count as after the first update, in a restarted WAL: a new stamp all
    // the same (the change counter moved on, and the restart drew new salts).
    assert_ne!(stamp(&conn), Some(b));
}

#[test]
fn a_rolled_back_transaction_that_spilled_into_the_wal_leaves_the_stamp() {
    let (dir, conn) = wal_db();
    let a = stamp(&conn).unwrap();
    let mut other = Connection::open(dir.path().join("t.db")).unwrap();
    // A one-page cache: the big transaction writes (uncommitted) frames into the WAL.
    other.execute_batch("PRAGMA cache_size = 1;").unwrap();
    let wal = dir.path().join("t.db-wal");
    let wal_before = std::fs::metadata(&wal).unwrap().len();
    let tx = other.transaction().unwrap();
    for k in 2..3_000 {
        tx.execute(
            "INSERT INTO t VALUES (?1, ?2)",
            rusqlite::params![k, "x".repeat(200)],
        )
        .unwrap();
    }
    assert!(
        std::fs::metadata(&wal).unwrap().len() > wal_before + 100_000,
        "the transaction spilled pages into the WAL"
    );
    assert_eq!(stamp(&conn), Some(a));
    tx.rollback().unwrap();
    assert_eq!(stamp(&conn), Some(a));
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(stamp(&conn), Some(a));
}

#[test]
fn a_commit_by_another_process_changes_the_stamp() {
    let Some(python) = python3() else {
        // Every CI image the test command runs on has python3 (the bindings need it).
        panic!("python3 is needed for the cross-process stamp test");
    };
    let (dir, conn) = wal_db();
    let a = stamp(&conn).unwrap();
    let path = dir.path().join("t.db");
    let status = std::process::Command::new(python)
        .args([
            "-c",
            "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute(\"UPDATE t SET v = 'p' WHERE k = 1\")\nc.commit()",
        ])
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    assert_ne!(stamp(&conn), Some(a));
    let v: String = conn
        .query_row("SELECT v FROM t WHERE k = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, "p");
}

#[test]
fn no_stamp_for_a_database_in_memory() {
    let memory = Connection::open_in_memory().unwrap();
    memory.execute_batch("CREATE TABLE t (k INTEGER);").unwrap();
    // SAFETY: a database with no file answers before any shared memory is asked for.
    assert_eq!(unsafe { WalStamp::read(&memory) }, None);
}

#[test]
fn the_header_is_taken_only_when_both_copies_match_and_it_is_initialised() {
    let mut header = [0u32; 12];
    header[0] = 3_007_000;
    header[2] = 41;
    // isInit is the byte at offset 12, the first byte of word 3 in memory order.
    header[3] = u32::from_ne_bytes([1, 0, 0x00, 0x10]);
    header[4] = 7;
    assert!(WalStamp::from_copies(header, header).is_some());
    let mut torn = header;
    torn[4] = 8;
    assert_eq!(WalStamp::from_copies(header, torn), None);
    let mut uninitialised = header;
    uninitialised[3] = u32::from_ne_bytes([0, 0, 0x00, 0x10]);
    assert_eq!(WalStamp::from_copies(uninitialised, uninitialised), None);
    assert_ne!(
        WalStamp::from_copies(header, header),
        WalStamp::from_copies(torn, torn)
    );
}

fn python3() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|p| {
        std::process::Command::new(p)
            .arg("-c")
            .arg("import sqlite3")
            .status()
            .is_ok_and(|s| s.success())
    })
}
