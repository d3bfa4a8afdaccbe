//! PostgreSQL over TLS (`pg_tls`) against the test command's server, whose certificate names
//! `localhost` and is signed by a throw-away CA (`INFERWARDEN_TEST_POSTGRES_TLS_ROOT`): each
//! `sslmode` encrypts or checks what libpq's does, a refused certificate is a typed error
//! naming TLS, and every store works over `verify-full`.
#![cfg(feature = "postgres")]

#[path = "support/services.rs"]
mod services;

use inferwarden::audit::{AuditStore, PostgresAuditStore};
use inferwarden::lifecycle::{PostgresTaskStore, TaskStore, TimeSource};
use inferwarden::pg_tls::{PgTarget, SslMode};
use inferwarden::session::{PostgresSessionStore, SessionStore};
use inferwarden::ErrorCode;

/// The server's URL, its CA file, and the URL with `localhost` for the host.
fn server() -> Option<(String, String, String)> {
    let base = services::postgres_url()?;
    let root = std::env::var("INFERWARDEN_TEST_POSTGRES_TLS_ROOT")
        .expect("the test command exports INFERWARDEN_TEST_POSTGRES_TLS_ROOT with the URL");
    let by_name = base.replace("127.0.0.1", "localhost");
    Some((base, root, by_name))
}

fn with(url: &str, query: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{query}")
}

/// Whether the connection `url` opens is encrypted, as the server sees it.
fn encrypted(url: &str) -> bool {
    let mut c = PgTarget::parse(url).unwrap().connect().unwrap();
    c.query_one(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )
    .unwrap()
    .get(0)
}

#[test]
fn each_sslmode_encrypts_as_libpq_does() {
    let Some((base, root, by_name)) = server() else {
        return;
    };
    assert!(!encrypted(&with(&base, "sslmode=disable")));
    assert!(encrypted(&base), "prefer is the default, as in libpq");
    assert!(encrypted(&with(&base, "sslmode=require")));
    assert!(encrypted(&with(
        &base,
        &format!("sslmode=verify-ca&sslrootcert={root}")
    )));
    assert!(encrypted(&with(
        &by_name,
        &format!("sslmode=verify-full&sslrootcert={root}")
    )));
    assert_eq!(
        PgTarget::parse(&with(&base, "sslmode=verify-full"))
            .unwrap()
            .ssl_mode(),
        SslMode::VerifyFull
    );
}

#[test]
fn a_certificate_that_does_not_check_out_is_a_tls_error() {
    let Some((base, root, by_name)) = server() else {
        return;
    };
    let url_with_password = |u: &str| u.replace("postgres@", "postgres:hunter2@");
    // The certificate names localhost, not 127.0.0.1.
    let wrong_name = url_with_password(&with(
        &base,
        &format!("sslmode=verify-full&sslrootcert={root}"),
    ));
    // Not signed by a root the library ships.
    let unknown_ca = url_with_password(&with(&by_name, "sslmode=verify-full"));
    // Under require, a given root must sign the certificate (libpq's rule): the Mozilla roots
    // do not.
    let require_with_roots = with(&by_name, "sslmode=require&sslrootcert=system");
    for url in [wrong_name, unknown_ca, require_with_roots] {
        let e = PostgresSessionStore::connect(&url).unwrap_err();
        assert_eq!(e.code(), ErrorCode::DependencyUnavailable, "{url}");
        assert!(e.detail().contains("TLS"), "{}", e.detail());
        let shown = format!("{} {:?}", e.to_json(), e);
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[test]
fn every_store_works_over_verify_full() {
    let Some((_, root, by_name)) = server() else {
        return;
    };
    let schema = format!("iw_tls_{}", std::process::id());
    let url = with(&by_name, &format!("sslmode=verify-full&sslrootcert={root}"));
    let mut admin = PgTarget::parse(&url).unwrap().connect().unwrap();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
        ))
        .unwrap();
    let url = with(&url, &format!("options=-csearch_path%3D{schema}"));
    let tasks = PostgresTaskStore::connect(&url, TimeSource::Database).unwrap();
    tasks.create("t-tls", "image", "test").unwrap();
    assert!(tasks.get("t-tls").unwrap().is_some());
    let audit = PostgresAuditStore::connect(&url).unwrap();
    assert_eq!(audit.count().unwrap(), 0);
    let sessions = PostgresSessionStore::connect(&url).unwrap();
    assert!(sessions.get("none").unwrap().is_none());
    let registry = inferwarden::routing::PostgresRegistry::connect(
        &url,
        inferwarden::routing::TargetPolicy::default(),
    );
    assert!(registry.is_ok(), "{:?}", registry.err());
}
