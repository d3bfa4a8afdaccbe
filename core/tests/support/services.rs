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
