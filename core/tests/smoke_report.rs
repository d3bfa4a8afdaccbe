//! The smoke report: counts, release skips as failures, and the three renderings. (The
//! checks themselves run against real servers in tests/python/test_smoke.py and
//! tests/node/smoke.test.mjs, and against an unreachable one below.)
#![cfg(feature = "smoke")]

use inferwarden::smoke::{run, CheckResult, CheckStatus, SmokeOptions, SmokeReport};

fn check(id: &str, status: CheckStatus, detail: &str) -> CheckResult {
    CheckResult {
        id: id.into(),
        title: format!("title of {id}"),
        status,
        detail: detail.into(),
        duration_ms: 12,
    }
}

fn sample(release: bool) -> SmokeReport {
    SmokeReport::new(
        "http://127.0.0.1:1",
        "smoke-1",
        release,
        vec![
            check("health", CheckStatus::Pass, "GET /health -> 200"),
            check(
                "cors_denied_origin",
                CheckStatus::Fail,
                "got ACAO <evil> & \"x\"",
            ),
            check("rate_limit", CheckStatus::Skipped, "opt-in"),
        ],
    )
}

#[test]
fn counts_and_exit_codes() {
    let r = sample(false);
    assert_eq!((r.passed, r.failed, r.skipped, r.exit_code()), (1, 1, 1, 1));
    assert_eq!(r.failed_ids(), ["cors_denied_origin"]);
    let only_skips = SmokeReport::new(
        "u",
        "r",
        false,
        vec![check("x", CheckStatus::Skipped, "why")],
    );
    assert_eq!(
        only_skips.exit_code(),
        0,
        "a skip alone does not fail a normal run"
    );
}

#[test]
fn release_runs_turn_skips_into_named_failures() {
    let r = sample(true);
    assert_eq!((r.passed, r.failed, r.skipped), (1, 2, 0));
    assert_eq!(r.failed_ids(), ["cors_denied_origin", "rate_limit"]);
    assert_eq!(r.checks[2].detail, "skipped in a release run: opt-in");
    assert!(r.to_text().contains("(release: skips fail)"));
}

#[test]
fn renderings() {
    let r = sample(false);
    let text = r.to_text();
    assert!(text.contains("FAIL cors_denied_origin"));
    assert!(text.contains("SKIP rate_limit"));
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["checks"][1]["status"], "fail");
    let junit = r.to_junit();
    assert!(
        junit.contains(r#"<testsuite name="inferwarden-smoke" tests="3" failures="1" skipped="1""#)
    );
    assert!(junit.contains("<failure message=\"got ACAO &lt;evil&gt; &amp; &quot;x&quot;\">"));
    assert!(junit.contains("<skipped message=\"opt-in\"/>"));
    assert_eq!(junit.matches("<testcase ").count(), 3);
}

#[tokio::test]
async fn an_unreachable_platform_fails_health_and_leaks_nothing() {
    let mut o = SmokeOptions::new("http://127.0.0.1:1/").unwrap();
    o.api_key = Some(inferwarden::secret::Secret::new(
        "canary-key-never-printed-123",
    ));
    o.request_timeout_s = 2.0;
    let r = run(&o, &|_: &str| {}).await;
    assert_eq!(r.base_url, "http://127.0.0.1:1");
    assert!(r.failed_ids().contains(&"health"));
    assert!(!r.to_json().contains("canary-key-never-printed-123"));
    assert!(r.checks.iter().all(|c| !c.detail.contains("canary")));
}

#[test]
fn keys_come_by_value_or_from_a_named_variable() {
    use inferwarden::smoke::key_from;
    std::env::set_var("IW_SMOKE_TEST_KEY", "from-the-environment-123");
    std::env::set_var("IW_SMOKE_TEST_EMPTY", "");
    assert_eq!(
        key_from(Some("given".into()), Some("IW_SMOKE_TEST_KEY"))
            .unwrap()
            .expose(),
        "given"
    );
    assert_eq!(
        key_from(None, Some("IW_SMOKE_TEST_KEY")).unwrap().expose(),
        "from-the-environment-123"
    );
    assert!(key_from(None, Some("IW_SMOKE_TEST_EMPTY")).is_none());
    assert!(key_from(None, Some("IW_SMOKE_TEST_UNSET_NAME")).is_none());
    assert!(key_from(Some(String::new()), None).is_none());
    assert_eq!(
        format!("{:?}", key_from(None, Some("IW_SMOKE_TEST_KEY"))),
        "Some([REDACTED])"
    );
}

#[test]
fn the_base_url_must_be_http_or_https_with_a_host() {
    for bad in [
        "ftp://example.com",
        "example.com",
        "file:///etc/passwd",
        "http://",
        "https:///path",
        "http://user:pw@example.com",
        "http://exa mple.com",
        "",
    ] {
        let e = SmokeOptions::new(bad).unwrap_err();
        assert_eq!(e.code_str(), "validation_error", "{bad}");
    }
    for good in [
        "http://127.0.0.1:8000",
        "https://api.example.com/",
        "https://api.example.com/v1",
    ] {
        assert!(SmokeOptions::new(good).is_ok(), "{good}");
    }
}
