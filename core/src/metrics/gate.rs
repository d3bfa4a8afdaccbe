//! Gate metrics: decisions by route class and outcome code, rate-limit checks by policy and
//! result, and sessions issued, checked and revoked.

use super::encode::{Encoder, Kind};
use super::primitives::Counter;
use super::{enabled, FamilyInfo};
use crate::error::{ErrorCode, ERROR_SPECS};

/// The `route_class` label values, in the declaration order of
/// [`crate::config::RouteClass`] (the gate passes `class as usize`; a test pins the order).
pub const ROUTE_CLASSES: [&str; 7] = [
    "generation",
    "media",
    "session_issue",
    "session",
    "admin_bootstrap",
    "admin",
    "public",
];
const CODES: usize = ERROR_SPECS.len();
/// `allowed`, `preflight`, then every error code in declaration order.
const OUTCOMES: usize = 2 + CODES;

pub(super) static DECISIONS: FamilyInfo = FamilyInfo {
    name: "inferwarden_gate_decisions",
    kind: Kind::Counter,
    help: "Gate decisions by route class and outcome (allowed, preflight or the error code).",
    labels: &["route_class", "outcome"],
};
pub(super) static RATE_LIMIT: FamilyInfo = FamilyInfo {
    name: "inferwarden_rate_limit_checks",
    kind: Kind::Counter,
    help: "Rate-limit checks by policy and result (allowed, limited, store_unavailable).",
    labels: &["policy", "result"],
};
pub(super) static ISSUED: FamilyInfo = FamilyInfo {
    name: "inferwarden_sessions_issued",
    kind: Kind::Counter,
    help: "Sessions issued, by kind.",
    labels: &["kind"],
};
pub(super) static CHECKS: FamilyInfo = FamilyInfo {
    name: "inferwarden_session_checks",
    kind: Kind::Counter,
    help: "Presented session tokens checked, by kind and result.",
    labels: &["kind", "result"],
};
pub(super) static REVOKED: FamilyInfo = FamilyInfo {
    name: "inferwarden_sessions_revoked",
    kind: Kind::Counter,
    help: "Sessions revoked, one at a time (scope=one) or by revoke-all (scope=all).",
    labels: &["scope"],
};

pub(super) static ACTIVE: FamilyInfo = FamilyInfo {
    name: "inferwarden_sessions_active",
    kind: Kind::Gauge,
    help: "Sessions active in the session stores this process uses, by kind (the stores' own count: every process sharing a store reports it, so aggregate with max).",
    labels: &["kind"],
};

pub(super) static FAMILIES: &[&FamilyInfo] =
    &[&DECISIONS, &RATE_LIMIT, &ISSUED, &CHECKS, &REVOKED, &ACTIVE];

/// What a session store said when asked for its active sessions.
pub(crate) enum SessionsReading {
    /// The store was dropped: forget it.
    Gone,
    /// It could not count now (an outage, or a store that cannot count).
    Unavailable,
    /// `(generation, admin)` active sessions.
    Counts(u64, u64),
}

/// Asks one store for its count.
pub(crate) type SessionsSource = Box<dyn Fn() -> SessionsReading + Send + Sync>;

/// The stores counted at each rendering, by address (one entry per store).
static SESSION_SOURCES: std::sync::Mutex<std::collections::BTreeMap<usize, SessionsSource>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Counts the store at `key` (its address) at each rendering.
pub(crate) fn register_session_source(key: usize, source: SessionsSource) {
    if let Ok(mut sources) = SESSION_SOURCES.lock() {
        sources.insert(key, source);
    }
}

static DECISION_COUNTS: [[Counter; OUTCOMES]; ROUTE_CLASSES.len()] =
    [const { [const { Counter::new() }; OUTCOMES] }; ROUTE_CLASSES.len()];

const POLICIES: [&str; 4] = ["auth_session", "admin_bootstrap", "admin", "other"];
const RATE_RESULTS: [&str; 3] = ["allowed", "limited", "store_unavailable"];
static RATE_COUNTS: [[Counter; RATE_RESULTS.len()]; POLICIES.len()] =
    [const { [const { Counter::new() }; RATE_RESULTS.len()] }; POLICIES.len()];

const KINDS: [&str; 2] = ["generation", "admin"];
const CHECK_RESULTS: [&str; 5] = ["active", "expired", "revoked", "unknown", "store_error"];
static ISSUED_COUNTS: [Counter; KINDS.len()] = [const { Counter::new() }; KINDS.len()];
static CHECK_COUNTS: [[Counter; CHECK_RESULTS.len()]; KINDS.len()] =
    [const { [const { Counter::new() }; CHECK_RESULTS.len()] }; KINDS.len()];
const SCOPES: [&str; 2] = ["one", "all"];
static REVOKED_COUNTS: [Counter; SCOPES.len()] = [const { Counter::new() }; SCOPES.len()];

/// How a decision ended, for its `outcome` label.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DecisionOutcome {
    Allowed,
    Preflight,
    Rejected(ErrorCode),
}

fn outcome_index(o: DecisionOutcome) -> usize {
    match o {
        DecisionOutcome::Allowed => 0,
        DecisionOutcome::Preflight => 1,
        DecisionOutcome::Rejected(code) => 2 + code as usize,
    }
}

fn outcome_name(i: usize) -> &'static str {
    match i {
        0 => "allowed",
        1 => "preflight",
        n => ERROR_SPECS[n - 2].code,
    }
}

/// One gate decision for the route class at `class` in [`ROUTE_CLASSES`].
#[inline]
pub(crate) fn record_decision(class: usize, outcome: DecisionOutcome) {
    if enabled() {
        if let Some(row) = DECISION_COUNTS.get(class) {
            row[outcome_index(outcome)].inc();
        }
    }
}

/// What a rate-limit check answered.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RateLimitResult {
    Allowed,
    Limited,
    StoreUnavailable,
}

/// One rate-limit check under `policy`.
pub(crate) fn record_rate_limit(policy: &str, result: RateLimitResult) {
    if enabled() {
        let p = POLICIES
            .iter()
            .position(|n| *n == policy)
            .unwrap_or(POLICIES.len() - 1);
        RATE_COUNTS[p][result as usize].inc();
    }
}

/// What a presented session token turned out to be.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SessionCheckResult {
    Active,
    Expired,
    Revoked,
    Unknown,
    StoreError,
}

/// One session issued (`admin`: of the admin kind, else a generation session).
pub(crate) fn record_session_issued(admin: bool) {
    if enabled() {
        ISSUED_COUNTS[usize::from(admin)].inc();
    }
}

/// One presented token checked.
pub(crate) fn record_session_check(admin: bool, result: SessionCheckResult) {
    if enabled() {
        CHECK_COUNTS[usize::from(admin)][result as usize].inc();
    }
}

/// `n` sessions revoked, by one revoke (`all = false`) or a revoke-all.
pub(crate) fn record_sessions_revoked(all: bool, n: u64) {
    if enabled() {
        REVOKED_COUNTS[usize::from(all)].add(n);
    }
}

pub(super) fn encode(enc: &mut Encoder) {
    enc.family(&DECISIONS);
    for (c, class) in ROUTE_CLASSES.iter().enumerate() {
        for (o, counter) in DECISION_COUNTS[c].iter().enumerate() {
            let v = counter.get();
            // `allowed` always (so every class has a series from the start); the rest once seen.
            if o == 0 || v > 0 {
                enc.counter(
                    &DECISIONS,
                    &[("route_class", class), ("outcome", outcome_name(o))],
                    v,
                );
            }
        }
    }
    enc.counter_grid(&RATE_LIMIT, &POLICIES, &RATE_RESULTS, &RATE_COUNTS);
    enc.counter_family(&ISSUED, &KINDS, &ISSUED_COUNTS);
    enc.counter_grid(&CHECKS, &KINDS, &CHECK_RESULTS, &CHECK_COUNTS);
    enc.counter_family(&REVOKED, &SCOPES, &REVOKED_COUNTS);
    enc.family(&ACTIVE);
    let mut total: Option<(u64, u64)> = None;
    if let Ok(mut sources) = SESSION_SOURCES.lock() {
        sources.retain(|_, read| match read() {
            SessionsReading::Gone => false,
            SessionsReading::Unavailable => true,
            SessionsReading::Counts(g, a) => {
                let t = total.get_or_insert((0, 0));
                *t = (t.0.saturating_add(g), t.1.saturating_add(a));
                true
            }
        });
    }
    if let Some((generation, admin)) = total {
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        enc.gauge_value(&ACTIVE, &[("kind", "generation")], as_i64(generation));
        enc.gauge_value(&ACTIVE, &[("kind", "admin")], as_i64(admin));
    }
}
