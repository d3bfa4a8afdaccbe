//! Tests for `gate/`: fail-closed seams, audit events, anonymous dev access, route
//! normalisation, and a canary secret driven through every rejection path.

use std::sync::{Arc, Mutex};

use inferwarden::audit::{AuditEvent, AuditSink, MemoryAuditSink, Outcome};
use inferwarden::clock::ManualClock;
use inferwarden::config::{PolicyConfig, RateLimit, RouteClass};
use inferwarden::gate::{Decision, Gate, Principal, RequestView};
use inferwarden::ratelimit::{MemoryRateLimiter, OutagePolicy, RateDecision, RateLimiter};
use inferwarden::secret::Secret;
use inferwarden::session::{MemorySessionStore, SessionKind, SessionRecord, SessionStore};
use inferwarden::{Error, ErrorCode};

const API: &str = "canary-api-key-5f1e2d3c4b5a69788796";
const ADMIN: &str = "canary-admin-key-0a1b2c3d4e5f60718293";
const SIGN: &str = "canary-signing-key-99887766554433221100";

fn config() -> PolicyConfig {
    let mut c = PolicyConfig::default();
    c.auth.api_keys = vec![Secret::new(API)];
    c.auth.admin_key = Some(Secret::new(ADMIN));
    c.auth.media_signing_key = Some(Secret::new(SIGN));
    c.cors.frontend_origins = vec!["https://app.example.com".into()];
    c
}

struct Fixture {
    gate: Gate,
    audit: Arc<MemoryAuditSink>,
    clock: ManualClock,
}

fn fixture(c: PolicyConfig) -> Fixture {
    let audit = Arc::new(MemoryAuditSink::new());
    let clock = ManualClock::new(1_700_000_000_000);
    let gate = Gate::builder(c)
        .audit_sink(audit.clone())
        .clock(Arc::new(clock.clone()))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .unwrap();
    Fixture { gate, audit, clock }
}

fn code(d: &Decision) -> &'static str {
    d.error().map(Error::code_str).unwrap_or("allowed")
}

#[derive(Debug)]
struct DownStore;

impl SessionStore for DownStore {
    fn insert(&self, _: &SessionRecord) -> Result<(), Error> {
        Err(Error::new(ErrorCode::DependencyUnavailable))
    }
    fn get(&self, _: &str) -> Result<Option<SessionRecord>, Error> {
        Err(Error::new(ErrorCode::DependencyUnavailable))
    }
    fn touch(&self, _: &str, _: i64) -> Result<(), Error> {
        Err(Error::new(ErrorCode::DependencyUnavailable))
    }
    fn revoke(&self, _: &str, _: i64) -> Result<bool, Error> {
        Err(Error::new(ErrorCode::DependencyUnavailable))
    }
    fn revoke_all(&self, _: Option<SessionKind>, _: i64) -> Result<u64, Error> {
        Err(Error::new(ErrorCode::DependencyUnavailable))
    }
    fn prune_expired(&self, _: i64) -> Result<u64, Error> {
        Err(Error::new(ErrorCode::DependencyUnavailable))
    }
}

#[derive(Debug)]
struct DownSink;

impl AuditSink for DownSink {
    fn record(&self, _: AuditEvent) -> Result<(), Error> {
        Err(Error::new(ErrorCode::DependencyUnavailable))
    }
}

#[derive(Debug)]
struct DownLimiter;

impl RateLimiter for DownLimiter {
    fn check(&self, _: &str, _: RateLimit, _: i64) -> Result<RateDecision, Error> {
        Err(Error::new(ErrorCode::DependencyUnavailable))
    }
}

#[test]
fn session_store_outage_fails_closed() {
    let gate = Gate::builder(config())
        .session_store(Arc::new(DownStore))
        .build()
        .unwrap();
    let req = RequestView::new("GET", "/status/t1")
        .header("Cookie", &format!("gg_session={}", "A".repeat(43)));
    assert_eq!(code(&gate.decide(&req)), "dependency_unavailable");
    // An API key does not need the store.
    assert!(gate
        .decide(&RequestView::new("GET", "/status/t1").header("X-API-Key", API))
        .is_allowed());
}

#[test]
fn audit_outage_fails_closed_on_admin_routes() {
    let gate = Gate::builder(config())
        .audit_sink(Arc::new(DownSink))
        .build()
        .unwrap();
    let req = RequestView::new("POST", "/admin/session").header("x-admin-key", ADMIN);
    assert_eq!(code(&gate.decide(&req)), "dependency_unavailable");
}

#[test]
fn limiter_outage_policy() {
    let closed = Gate::builder(config())
        .rate_limiter(Arc::new(DownLimiter))
        .build()
        .unwrap();
    let req = RequestView::new("POST", "/admin/session").header("x-admin-key", ADMIN);
    assert_eq!(code(&closed.decide(&req)), "dependency_unavailable");
    let audit = Arc::new(MemoryAuditSink::new());
    let open = Gate::builder(config())
        .rate_limiter(Arc::new(DownLimiter))
        .rate_limiter_outage(OutagePolicy::FailOpen)
        .audit_sink(audit.clone())
        .build()
        .unwrap();
    assert!(open.decide(&req).is_allowed());
    assert!(audit
        .events()
        .iter()
        .any(|e| e.action == "rate_limiter_unavailable"));
}

#[test]
fn missing_api_key_fails_closed_unless_dev_anonymous() {
    let mut c = config();
    c.auth.api_keys.clear();
    let f = fixture(c.clone());
    assert_eq!(
        code(&f.gate.decide(&RequestView::new("GET", "/status/t1"))),
        "server_misconfigured"
    );
    c.auth.allow_anonymous_dev = true;
    let f = fixture(c.clone());
    assert_eq!(
        code(&f.gate.decide(&RequestView::new("GET", "/status/t1"))),
        "server_misconfigured",
        "not a dev environment"
    );
    c.environment = "dev".into();
    let f = fixture(c);
    let d = f.gate.decide(&RequestView::new("GET", "/status/t1"));
    assert!(matches!(
        d,
        Decision::Allow {
            principal: Principal::Anonymous,
            ..
        }
    ));
    // A presented key still has to be right.
    assert_eq!(
        code(
            &f.gate
                .decide(&RequestView::new("GET", "/status/t1").header("X-API-Key", "x"))
        ),
        "invalid_api_key"
    );
}

#[test]
fn short_or_missing_admin_key_fails_closed() {
    for key in [None, Some("short-key")] {
        let mut c = config();
        c.auth.admin_key = key.map(Secret::new);
        let f = fixture(c);
        let boot = RequestView::new("POST", "/admin/session").header("x-admin-key", "short-key");
        assert_eq!(code(&f.gate.decide(&boot)), "admin_misconfigured");
        assert_eq!(
            code(&f.gate.decide(&RequestView::new("GET", "/admin/accounts"))),
            "admin_misconfigured"
        );
    }
}

#[test]
fn query_channel_can_be_disabled_and_is_reported() {
    let mut c = config();
    c.auth.allow_query_api_key = false;
    let f = fixture(c);
    let req = RequestView::new("GET", "/results/t1").query_param("api_key", API);
    assert_eq!(
        code(&f.gate.decide(&req)),
        "session_required",
        "ignored, not a failure of its own"
    );
    let events = f.audit.events();
    assert!(events
        .iter()
        .any(|e| e.action == "query_api_key_ignored" && e.outcome == Outcome::Denied));
}

#[test]
fn admin_login_success_and_failure_are_audited() {
    let f = fixture(config());
    let ok = f.gate.decide(
        &RequestView::new("POST", "/admin/session")
            .header("x-admin-key", ADMIN)
            .header("X-Request-Id", "req-42"),
    );
    let Decision::Allow { principal, .. } = ok else {
        panic!("refused")
    };
    let issued = f
        .gate
        .issue_session(SessionKind::Admin, &principal, "req-42")
        .unwrap();
    f.gate
        .decide(&RequestView::new("POST", "/admin/session").header("x-admin-key", "wrong"));
    let events = f.audit.events();
    let logins: Vec<_> = events
        .iter()
        .filter(|e| e.action == "admin_login")
        .collect();
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[0].outcome, Outcome::Success);
    assert_eq!(logins[0].correlation_id, "req-42");
    assert_eq!(logins[1].outcome, Outcome::Failure);
    assert!(events.iter().any(|e| e.action == "admin_session_issued"));
    // A generation principal cannot open an admin session.
    assert!(f
        .gate
        .issue_session(SessionKind::Admin, &Principal::ApiKey { key_index: 0 }, "x")
        .is_err());
    // Admin routes with the new session are allowed and audited.
    let req = RequestView::new("GET", "/admin/accounts").header(
        "Cookie",
        &format!("gg_admin_session={}", issued.token.expose()),
    );
    assert!(f.gate.decide(&req).is_allowed());
    assert!(f
        .audit
        .events()
        .iter()
        .any(|e| e.action == "admin_access" && e.outcome == Outcome::Success));
}

#[test]
fn admin_throttle_is_keyed_by_valid_session_not_forged_tokens() {
    let mut c = config();
    c.rate_limits.admin = RateLimit {
        limit: 3,
        window_s: 60,
    };
    let f = fixture(c);
    let peer = "198.51.100.1".parse().unwrap();
    // Forged tokens from one IP share that IP's bucket.
    let codes: Vec<_> = (0..4)
        .map(|i| {
            let forged = format!("gg_admin_session={}{i}", "B".repeat(42));
            code(
                &f.gate.decide(
                    &RequestView::new("GET", "/admin/x")
                        .header("Cookie", &forged)
                        .peer(peer),
                ),
            )
            .to_owned()
        })
        .collect();
    assert_eq!(
        codes,
        [
            "session_invalid",
            "session_invalid",
            "session_invalid",
            "rate_limited"
        ]
    );
}

#[test]
fn revoke_all_sessions() {
    let f = fixture(config());
    let Decision::Allow { principal, .. } = f
        .gate
        .decide(&RequestView::new("POST", "/auth/session").header("X-API-Key", API))
    else {
        panic!()
    };
    let s = f
        .gate
        .issue_session(SessionKind::Generation, &principal, "c")
        .unwrap();
    let req = RequestView::new("GET", "/gallery")
        .header("Cookie", &format!("gg_session={}", s.token.expose()));
    assert!(f.gate.decide(&req).is_allowed());
    assert_eq!(
        f.gate.revoke_all_sessions(None, "operator", "c").unwrap(),
        1
    );
    assert_eq!(code(&f.gate.decide(&req)), "session_expired");
    assert!(f
        .audit
        .events()
        .iter()
        .any(|e| e.action == "sessions_revoked_all"));
}

#[test]
fn route_normalisation() {
    let f = fixture(config());
    for (m, p, class) in [
        ("POST", "/auth/session/", RouteClass::SessionIssue),
        ("POST", "/AUTH/session", RouteClass::SessionIssue),
        ("POST", "/auth/%73ession", RouteClass::SessionIssue),
        ("post", "//auth//session", RouteClass::SessionIssue),
        ("GET", "/auth/session", RouteClass::Session),
        ("HEAD", "/status/abc", RouteClass::Generation),
        ("GET", "/results/abc", RouteClass::Media),
        ("GET", "/status", RouteClass::Public),
        ("GET", "/status/a/b", RouteClass::Public),
        ("PUT", "/admin/accounts/x", RouteClass::Admin),
        ("GET", "/admin", RouteClass::Admin),
        ("GET", "/administrator", RouteClass::Public),
        ("GET", "/%2e%2e/admin/x", RouteClass::Admin),
        ("GET", "/status/../admin/x", RouteClass::Admin),
        ("GET", "/admin/../status/t1", RouteClass::Generation),
    ] {
        assert_eq!(f.gate.classify(m, p).class, class, "{m} {p}");
    }
}

#[test]
fn signed_media_url_rules() {
    let f = fixture(config());
    let qs = f.gate.sign_media_url("t-1", false, 100_000).unwrap();
    let (exp, sig) = qs.split_once('&').unwrap();
    let exp = exp.strip_prefix("exp=").unwrap();
    // TTL capped at media_url_max_ttl_s.
    assert_eq!(exp.parse::<i64>().unwrap(), 1_700_000_000 + 3600);
    let req = |path: &str| {
        RequestView::new("GET", path)
            .query_param("exp", exp)
            .query_param("sig", sig.strip_prefix("sig=").unwrap())
    };
    assert!(f.gate.decide(&req("/results/t-1")).is_allowed());
    assert_eq!(
        code(&f.gate.decide(&req("/results/T-1"))),
        "invalid_api_key",
        "task ids are case-sensitive"
    );
    f.clock.advance_ms(3_600_000);
    assert_eq!(
        code(&f.gate.decide(&req("/results/t-1"))),
        "invalid_api_key",
        "expired"
    );
    assert_eq!(
        f.gate.sign_media_url("../x", false, 10).unwrap_err().code(),
        ErrorCode::ProxyTargetInvalid
    );
}

/// Drives every rejection path with canary secrets in every channel and asserts they never
/// reach an error (Display, Debug, JSON), a header, the decision's Debug, or an audit event.
#[test]
fn canary_secrets_never_leak() {
    let f = fixture(config());
    let Decision::Allow { principal, .. } = f
        .gate
        .decide(&RequestView::new("POST", "/auth/session").header("X-API-Key", API))
    else {
        panic!()
    };
    let token = f
        .gate
        .issue_session(SessionKind::Generation, &principal, "c")
        .unwrap()
        .token
        .expose()
        .to_owned();
    f.gate.revoke_session(&token, "test", "c").unwrap();
    let near = format!("{}x", &API[..API.len() - 1]);
    let requests = vec![
        RequestView::new("GET", "/status/t").header("X-API-Key", &near),
        RequestView::new("GET", "/status/t")
            .header("X-API-Key", API)
            .header("X-API-Key", &near),
        RequestView::new("GET", "/status/t").query_param("api_key", &near),
        RequestView::new("GET", "/status/t").header("Cookie", &format!("gg_session={token}")),
        RequestView::new("GET", "/status/t").header("Cookie", &format!("gg_session={API}")),
        RequestView::new("GET", "/results/t")
            .query_param("exp", "1")
            .query_param("sig", SIGN),
        RequestView::new("POST", "/admin/session").header("x-admin-key", &format!("{ADMIN}0")),
        RequestView::new("POST", "/admin/session").query_param("admin_key", ADMIN),
        RequestView::new("GET", "/admin/x").header("x-admin-key", ADMIN),
        RequestView::new("GET", "/admin/x").query_param("gg_admin_session", &token),
        RequestView::new("GET", "/status/t")
            .header("Origin", "https://evil.example")
            .header("X-API-Key", API),
        RequestView::new("DELETE", "/auth/session")
            .header("Cookie", &format!("gg_session={token}")),
    ];
    let secrets = [API, ADMIN, SIGN, token.as_str(), near.as_str()];
    for req in &requests {
        let d = f.gate.decide(req);
        let err = d.error().unwrap_or_else(|| panic!("{req:?} was allowed"));
        let rendered = format!(
            "{err} {err:?} {} {d:?} {:?}",
            err.to_json(),
            d.set_headers()
        );
        for s in secrets {
            assert!(
                !rendered.contains(s),
                "secret leaked for {req:?}: {rendered}"
            );
        }
    }
    for _ in 0..40 {
        f.gate
            .decide(&RequestView::new("POST", "/admin/session").header("x-admin-key", ADMIN));
    }
    let audit = serde_json::to_string(&f.audit.events()).unwrap();
    assert!(
        audit.contains("rate_limited")
            && audit.contains("admin_login")
            && audit.contains("cors_denied")
    );
    for s in secrets {
        assert!(!audit.contains(s), "secret leaked into audit");
    }
    let gate_debug = format!("{:?}", f.gate);
    for s in secrets {
        assert!(!gate_debug.contains(s), "secret leaked into Gate Debug");
    }
}

#[test]
fn memory_store_handles_concurrent_validation() {
    let store = Arc::new(MemorySessionStore::new());
    let f = Gate::builder(config())
        .session_store(store)
        .build()
        .unwrap();
    let Decision::Allow { principal, .. } =
        f.decide(&RequestView::new("POST", "/auth/session").header("X-API-Key", API))
    else {
        panic!()
    };
    let token = f
        .issue_session(SessionKind::Generation, &principal, "c")
        .unwrap()
        .token
        .expose()
        .to_owned();
    let f = Arc::new(f);
    let allowed = Arc::new(Mutex::new(0));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (f, token, allowed) = (f.clone(), token.clone(), allowed.clone());
            std::thread::spawn(move || {
                for _ in 0..100 {
                    if f.decide(
                        &RequestView::new("GET", "/gallery")
                            .header("Cookie", &format!("gg_session={token}")),
                    )
                    .is_allowed()
                    {
                        *allowed.lock().unwrap() += 1;
                    }
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(*allowed.lock().unwrap(), 800);
}

#[test]
fn a_gate_built_without_a_limiter_still_throttles_the_auth_surface() {
    // The builder's default is an in-process limiter, never "allow everything".
    let gate = Gate::builder(config()).build().unwrap();
    let peer = "203.0.113.9".parse().unwrap();
    let codes: Vec<&str> = (0..11)
        .map(|_| {
            let req = RequestView::new("POST", "/auth/session")
                .header("X-API-Key", "wrong-key-000000000000")
                .peer(peer);
            code(&gate.decide(&req))
        })
        .collect();
    assert_eq!(codes[..10], ["invalid_api_key"; 10]);
    assert_eq!(codes[10], "rate_limited");
}

#[test]
fn may_block_is_false_only_when_every_store_is_in_process() {
    let memory = fixture(config());
    assert!(!memory.gate.may_block());
    let remote_sessions = Gate::builder(config())
        .session_store(Arc::new(DownStore))
        .audit_sink(Arc::new(MemoryAuditSink::new()))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .unwrap();
    assert!(remote_sessions.may_block());
    #[derive(Debug)]
    struct DurableSink;
    impl AuditSink for DurableSink {
        fn record(&self, _: AuditEvent) -> Result<(), Error> {
            Ok(())
        }
    }
    let durable_audit = Gate::builder(config())
        .audit_sink(Arc::new(DurableSink))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .unwrap();
    assert!(durable_audit.may_block());
}

#[cfg(feature = "tokio")]
#[test]
fn decide_async_answers_as_decide_and_fails_closed_when_the_store_is_down() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let req = |headers: Vec<(String, String)>| RequestView {
        method: "GET".into(),
        path: "/gallery".into(),
        headers,
        query: Vec::new(),
        peer: None,
    };
    let memory = Arc::new(fixture(config()).gate);
    let down = Arc::new(
        Gate::builder(config())
            .session_store(Arc::new(DownStore))
            .build()
            .unwrap(),
    );
    // A fixed request id: the correlation id is then the same on both paths.
    let id = || ("x-request-id".to_owned(), "req-1".to_owned());
    let cases = [
        vec![id(), ("x-api-key".to_owned(), API.to_owned())],
        vec![
            id(),
            (
                "cookie".to_owned(),
                format!("gg_session={}", "a".repeat(43)),
            ),
        ],
        vec![id()],
    ];
    for gate in [&memory, &down] {
        for headers in &cases {
            let sync = gate.decide(&req(headers.clone()));
            let not_sync = runtime.block_on(gate.decide_async(req(headers.clone())));
            assert_eq!(sync, not_sync);
        }
    }
    // A session lookup against a store that is down is refused on the async path too.
    let d = runtime.block_on(down.decide_async(req(cases[1].clone())));
    assert_eq!(code(&d), "dependency_unavailable");
}

#[test]
fn a_request_view_never_prints_its_credentials() {
    let req = RequestView {
        method: "GET".into(),
        path: "/results/t1".into(),
        headers: vec![
            ("X-API-Key".into(), API.into()),
            ("Authorization".into(), format!("Bearer {API}")),
            ("cookie".into(), format!("gg_session={}", "S".repeat(43))),
            ("X-Admin-Key".into(), ADMIN.into()),
            ("Accept".into(), "image/png".into()),
        ],
        query: vec![
            ("api_key".into(), API.into()),
            ("sig".into(), "c2lnbmF0dXJl".into()),
        ],
        peer: None,
    };
    let debug = format!("{req:?}");
    let json = serde_json::to_string(&req).unwrap();
    for printed in [&debug, &json] {
        for secret in [API, ADMIN, "SSSSSSSS", "c2lnbmF0dXJl"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        assert!(printed.contains("image/png"), "{printed}");
        assert!(
            printed.contains("api_key") && printed.contains("[REDACTED]"),
            "{printed}"
        );
    }
}

/// The API key header.
fn key() -> Vec<(String, String)> {
    vec![("x-api-key".to_owned(), API.to_owned())]
}

/// The admin bootstrap header.
fn admin() -> Vec<(String, String)> {
    vec![("x-admin-key".to_owned(), ADMIN.to_owned())]
}

/// A request with `headers` only (no query, no peer).
fn bare_request(method: &str, path: &str, headers: Vec<(String, String)>) -> RequestView {
    RequestView {
        method: method.into(),
        path: path.into(),
        headers,
        query: Vec::new(),
        peer: None,
    }
}

#[test]
fn sessions_are_issued_only_for_an_allowed_decision_of_their_bootstrap_route() {
    let f = fixture(config());
    let req = bare_request;
    let opened = f.gate.decide(&req("POST", "/auth/session", key()));
    assert!(f
        .gate
        .issue_session_for(&opened, SessionKind::Generation, "t")
        .is_ok());
    // Allowed, but not for the bootstrap route of that kind.
    let gallery = f.gate.decide(&req("GET", "/gallery", key()));
    assert!(gallery.is_allowed());
    let bootstrap = f.gate.decide(&req("POST", "/admin/session", admin()));
    for (decision, kind) in [
        (&gallery, SessionKind::Generation),
        (&opened, SessionKind::Admin),
        (&bootstrap, SessionKind::Generation),
    ] {
        let e = f.gate.issue_session_for(decision, kind, "t").unwrap_err();
        assert_eq!(e.code(), ErrorCode::SessionRequired, "{kind:?}");
    }
    assert!(f
        .gate
        .issue_session_for(&bootstrap, SessionKind::Admin, "t")
        .is_ok());
    // A rejection never yields a session.
    let refused = f.gate.decide(&req("POST", "/auth/session", Vec::new()));
    assert!(!refused.is_allowed());
    let e = f
        .gate
        .issue_session_for(&refused, SessionKind::Generation, "t")
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::SessionRequired);
}

#[test]
fn only_decisions_that_grant_a_session_can_issue_one_and_no_grant_is_session_required() {
    let f = fixture(config());
    let req = bare_request;
    let decisions = [
        f.gate.decide(&req("POST", "/auth/session", key())),
        f.gate.decide(&req("POST", "/admin/session", admin())),
        f.gate.decide(&req("GET", "/gallery", key())),
        f.gate.decide(&req("POST", "/auth/session", Vec::new())),
        f.gate.decide(&req("GET", "/health", Vec::new())),
    ];
    let grants: Vec<bool> = decisions.iter().map(Decision::grants_session).collect();
    assert_eq!(grants, [true, true, false, false, false]);
    // A decision that does not grant a session can issue none, of either kind: exactly what
    // a caller holding no decision (`None`) is told.
    for d in &decisions {
        for kind in [SessionKind::Generation, SessionKind::Admin] {
            let issued = f.gate.issue_session_for(d, kind, "t");
            if !d.grants_session() {
                assert_eq!(issued.unwrap_err().code(), ErrorCode::SessionRequired);
            }
        }
    }
    for kind in [SessionKind::Generation, SessionKind::Admin] {
        let e = f.gate.issue_session_for_grant(None, kind, "t").unwrap_err();
        assert_eq!(e.code(), ErrorCode::SessionRequired);
        assert!(e.detail().contains(kind.as_str()), "{}", e.detail());
    }
    let fresh = f.gate.decide(&req("POST", "/auth/session", key()));
    assert!(f
        .gate
        .issue_session_for_grant(Some(&fresh), SessionKind::Generation, "t")
        .is_ok());
}

#[test]
fn route_and_principal_names_are_their_json_names() {
    for class in [
        RouteClass::Generation,
        RouteClass::Media,
        RouteClass::SessionIssue,
        RouteClass::Session,
        RouteClass::AdminBootstrap,
        RouteClass::Admin,
        RouteClass::Public,
    ] {
        assert_eq!(serde_json::to_value(class).unwrap(), class.as_str());
    }
    for p in [
        Principal::Public,
        Principal::Anonymous,
        Principal::ApiKey { key_index: 2 },
        Principal::Session {
            session_id: "s".into(),
        },
        Principal::SignedMedia {
            task_id: "t".into(),
        },
        Principal::AdminBootstrap,
        Principal::AdminSession {
            session_id: "a".into(),
        },
    ] {
        assert_eq!(serde_json::to_value(&p).unwrap()["kind"], p.kind());
    }
}

/// Counts the calls a decision makes to its session store.
#[derive(Debug, Default)]
struct CountingStore {
    inner: MemorySessionStore,
    gets: std::sync::atomic::AtomicUsize,
    touches: std::sync::atomic::AtomicUsize,
}

impl SessionStore for CountingStore {
    fn insert(&self, r: &SessionRecord) -> Result<(), Error> {
        self.inner.insert(r)
    }
    fn get(&self, id: &str) -> Result<Option<SessionRecord>, Error> {
        self.gets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get(id)
    }
    fn touch(&self, id: &str, now_ms: i64) -> Result<(), Error> {
        self.touches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.touch(id, now_ms)
    }
    fn revoke(&self, id: &str, now_ms: i64) -> Result<bool, Error> {
        self.inner.revoke(id, now_ms)
    }
    fn revoke_all(&self, kind: Option<SessionKind>, now_ms: i64) -> Result<u64, Error> {
        self.inner.revoke_all(kind, now_ms)
    }
    fn prune_expired(&self, now_ms: i64) -> Result<u64, Error> {
        self.inner.prune_expired(now_ms)
    }
}

#[test]
fn an_admin_decision_reads_its_session_once() {
    use std::sync::atomic::Ordering::SeqCst;
    let store = Arc::new(CountingStore::default());
    let clock = ManualClock::new(1_700_000_000_000);
    let gate = Gate::builder(config())
        .session_store(store.clone())
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let view = |path: &str, headers: Vec<(String, String)>| RequestView {
        method: if path == "/admin/session" {
            "POST"
        } else {
            "GET"
        }
        .into(),
        path: path.into(),
        headers,
        query: Vec::new(),
        peer: None,
    };
    let boot = gate.decide(&view(
        "/admin/session",
        vec![("x-admin-key".into(), ADMIN.into())],
    ));
    let issued = gate
        .issue_session_for(&boot, SessionKind::Admin, "t")
        .unwrap();
    let cookie = issued
        .set_cookie
        .expose()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (gets, touches) = (store.gets.load(SeqCst), store.touches.load(SeqCst));
    let d = gate.decide(&view(
        "/admin/accounts",
        vec![("cookie".into(), cookie.clone())],
    ));
    assert!(d.is_allowed(), "{d:?}");
    // One read (shared by the throttle key and the authentication); the use is not written
    // while the stored one is younger than the write interval (60 s by default)...
    assert_eq!(store.gets.load(SeqCst) - gets, 1);
    assert_eq!(store.touches.load(SeqCst) - touches, 0);
    // ...and is written once it is that old.
    clock.advance_ms(60_000);
    let d = gate.decide(&view("/admin/accounts", vec![("cookie".into(), cookie)]));
    assert!(d.is_allowed(), "{d:?}");
    assert_eq!(store.gets.load(SeqCst) - gets, 2);
    assert_eq!(store.touches.load(SeqCst) - touches, 1);
}

#[test]
fn a_path_with_dot_segments_is_refused_whatever_route_it_resolves_to() {
    // `/admin/../status/t1` resolves to a status route (an API key would do), while a router
    // matching the literal path (Starlette) dispatches it to the admin route: the gate must
    // not pick one reading, so it refuses the path (found by the route differential test).
    let f = fixture(config());
    for path in [
        "/admin/../status/t1",
        "/admin/%2e%2e/status/t1",
        "/admin/%2E%2E/status/t1",
        "/status/./t1",
        "/status/t1/..",
        "/admin\\..\\status/t1",
        "/../status/t1",
    ] {
        let d = f
            .gate
            .decide(&RequestView::new("GET", path).header("X-API-Key", API));
        assert_eq!(code(&d), "validation_error", "{path}");
        assert_eq!(
            d.error().unwrap().metadata().unwrap()["rule"],
            "dot_segment",
            "{path}"
        );
    }
    // Dots inside a segment are ordinary characters.
    for path in ["/status/t.1", "/status/..t1", "/status/t1.."] {
        let d = f
            .gate
            .decide(&RequestView::new("GET", path).header("X-API-Key", API));
        assert_eq!(code(&d), "allowed", "{path}");
    }
}

#[test]
fn a_peer_that_is_not_an_ip_address_is_a_validation_error_naming_the_field() {
    let err = inferwarden::gate::parse_peer(Some("not-an-ip")).unwrap_err();
    assert_eq!(err.code_str(), "validation_error");
    assert_eq!(err.to_json()["metadata"]["field"], "peer");
    assert_eq!(
        inferwarden::gate::parse_peer(Some(" 192.0.2.7 ")).unwrap(),
        Some("192.0.2.7".parse().unwrap())
    );
    assert_eq!(inferwarden::gate::parse_peer(None).unwrap(), None);
}
