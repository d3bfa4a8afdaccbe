//! The one PostgreSQL connection type (`pg_pool`) under every store, on a real server
//! (`INFERWARDEN_TEST_POSTGRES_URL`, started by the test command): every store's next call
//! succeeds after the server ended its connections; a COMMIT the connection lost is
//! `commit_unknown` and never sent twice; the driver's text is a server-side cause, never
//! the client-facing detail. Each test has its own schema and `application_name`.
#![cfg(feature = "postgres")]

#[path = "support/audit_lab.rs"]
#[allow(dead_code)]
mod audit_lab;
#[path = "support/services.rs"]
mod services;

use inferwarden::audit::{AuditStore, PostgresAuditStore};
use inferwarden::lifecycle::{PostgresTaskStore, TaskStore, TimeSource};
use inferwarden::session::{PostgresSessionStore, SessionStore};
use inferwarden::ErrorCode;

/// A URL whose connections use the fresh schema `name` and carry `application_name=name`.
fn isolated(base: &str, name: &str) -> String {
    let name = format!("{name}_{}", std::process::id());
    let mut admin = postgres::Client::connect(base, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
        ))
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}application_name={name}&options=-csearch_path%3D{name}")
}

fn app_name(url: &str) -> String {
    let at = url.find("application_name=").unwrap() + "application_name=".len();
    url[at..].split('&').next().unwrap().to_owned()
}

/// Ends every connection of `url`'s application; returns how many.
fn end_connections(base: &str, url: &str) -> u64 {
    let mut admin = postgres::Client::connect(base, postgres::NoTls).unwrap();
    let rows = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&app_name(url)],
        )
        .unwrap();
    rows.len() as u64
}

#[test]
fn every_store_answers_its_next_call_after_the_server_ended_its_connections() {
    let Some(base) = services::postgres_url() else {
        return;
    };
    let url = isolated(&base, "iw_pool_tasks");
    let tasks = PostgresTaskStore::connect(&url, TimeSource::Database).unwrap();
    tasks.create("t-1", "image", "test").unwrap();
    assert!(end_connections(&base, &url) >= 1);
    // Before the shared pool the task store failed this call and reconnected on the next.
    assert_eq!(tasks.get("t-1").unwrap().unwrap().id, "t-1");
    tasks.create("t-2", "image", "test").unwrap();

    let url = isolated(&base, "iw_pool_audit");
    let audit = PostgresAuditStore::connect(&url).unwrap();
    audit.append(&[audit_lab::event(0)]).unwrap();
    assert!(end_connections(&base, &url) >= 1);
    let written = audit.append(&[audit_lab::event(1)]).unwrap();
    assert_eq!(written[0].seq, 1);
    assert_eq!(audit.count().unwrap(), 2);

    let url = isolated(&base, "iw_pool_sessions");
    let sessions = PostgresSessionStore::connect(&url).unwrap();
    assert!(end_connections(&base, &url) >= 1);
    assert!(sessions.get("no-such-session").unwrap().is_none());
}

#[test]
fn a_commit_the_connection_lost_is_commit_unknown_and_is_not_sent_again() {
    let Some(base) = services::postgres_url() else {
        return;
    };
    let url = isolated(&base, "iw_pool_commit");
    let tasks = PostgresTaskStore::connect(&url, TimeSource::Database).unwrap();
    // A deferred trigger runs at COMMIT: it counts the attempt (a sequence is not rolled
    // back) and ends its own connection, so the client loses the COMMIT's answer.
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "CREATE SEQUENCE commit_attempts;
             CREATE FUNCTION lose_commit() RETURNS trigger AS $$
             BEGIN PERFORM nextval('commit_attempts'); PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END
             $$ LANGUAGE plpgsql;
             CREATE CONSTRAINT TRIGGER lose_commit AFTER INSERT ON iw_tasks
                 DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lose_commit();",
        )
        .unwrap();
    let e = tasks.create("t-lost", "image", "test").unwrap_err();
    assert_eq!(e.code(), ErrorCode::DependencyUnavailable);
    assert_eq!(e.metadata().unwrap()["reason"], "commit_unknown");
    let attempts: i64 = admin
        .query_one("SELECT last_value FROM commit_attempts", &[])
        .unwrap()
        .get(0);
    assert_eq!(attempts, 1, "a lost COMMIT must not be sent again");
    admin
        .batch_execute("DROP TRIGGER lose_commit ON iw_tasks")
        .unwrap();
    // The store goes on with a new connection.
    tasks.create("t-next", "image", "test").unwrap();
}

#[test]
fn the_driver_text_is_a_cause_never_the_detail() {
    let Some(base) = services::postgres_url() else {
        return;
    };
    let url = isolated(&base, "iw_pool_detail");
    let tasks = PostgresTaskStore::connect(&url, TimeSource::Database).unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute("DROP TABLE iw_task_transitions; DROP TABLE iw_tasks")
        .unwrap();
    let e = tasks.get("t-1").unwrap_err();
    assert_eq!(e.code(), ErrorCode::DependencyUnavailable);
    assert_eq!(e.detail(), "task store (postgres): query failed");
    let body = e.to_json().to_string();
    assert!(
        !body.contains("iw_tasks") && !body.contains("relation"),
        "{body}"
    );
    // The server keeps the driver's words for its own log.
    assert!(e.cause().unwrap().contains("42P01"), "{:?}", e.cause());

    let e = PostgresTaskStore::connect(
        "postgres://someone:hunter2@127.0.0.1:1/db",
        TimeSource::Database,
    )
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::DependencyUnavailable);
    assert!(!e.to_json().to_string().contains("hunter2"));
    assert!(!format!("{e:?}").contains("hunter2"));
}
