//! The real stores the test command starts (`scripts/services.sh`): their URLs, or `None`
//! outside it. Under `INFERWARDEN_REQUIRE_SERVICES` a missing URL fails the test instead.
#![allow(dead_code)]

/// `INFERWARDEN_TEST_REDIS_URL`.
pub fn redis_url() -> Option<String> {
    match std::env::var("INFERWARDEN_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("INFERWARDEN_REQUIRE_SERVICES").is_err(),
                "INFERWARDEN_TEST_REDIS_URL is not set but services are required"
            );
            eprintln!("INFERWARDEN_TEST_REDIS_URL not set: run scripts/test.sh to test against a real server");
            None
        }
    }
}

/// `INFERWARDEN_TEST_POSTGRES_URL`.
pub fn postgres_url() -> Option<String> {
    match std::env::var("INFERWARDEN_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("INFERWARDEN_REQUIRE_SERVICES").is_err(),
                "INFERWARDEN_TEST_POSTGRES_URL is not set but services are required"
            );
            eprintln!("INFERWARDEN_TEST_POSTGRES_URL not set: run scripts/test.sh to test against a real server");
            None
        }
    }
}

/// A fresh schema on the test server, dropped when this value is: each test (or each
/// property-test case) sees only its own tables.
#[cfg(feature = "postgres")]
pub struct IsolatedSchema {
    /// The server URL with `search_path` set to the schema.
    pub url: String,
    schema: String,
    admin: postgres::Client,
}

/// A fresh schema named after `prefix` on `INFERWARDEN_TEST_POSTGRES_URL`; `None` outside the
/// test command (see [`postgres_url`]).
#[cfg(feature = "postgres")]
pub fn isolated_postgres(prefix: &str) -> Option<IsolatedSchema> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let url = postgres_url()?;
    let schema = format!(
        "iw_{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
        ))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(IsolatedSchema {
        url: format!("{url}{sep}options=-csearch_path%3D{schema}"),
        schema,
        admin,
    })
}

#[cfg(feature = "postgres")]
impl Drop for IsolatedSchema {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
    }
}
