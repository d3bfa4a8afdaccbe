//! Proxy metrics: requests to remote workers by route and outcome (`ok` or the error code),
//! their latency by route (every attempt and backoff included), and retries by route.

#[cfg(feature = "proxy")]
use std::time::Duration;

use super::encode::{Encoder, Kind};
use super::primitives::{Counter, Histogram};
use super::FamilyInfo;
#[cfg(feature = "proxy")]
use crate::error::Error;
use crate::error::ERROR_SPECS;

pub(super) static REQUESTS: FamilyInfo = FamilyInfo {
    name: "inferwarden_proxy_requests",
    kind: Kind::Counter,
    help:
        "Requests sent to remote workers, by route and outcome (ok, cancelled, or the error code).",
    labels: &["route", "outcome"],
};
pub(super) static REQUEST_SECONDS: FamilyInfo = FamilyInfo {
    name: "inferwarden_proxy_request_duration_seconds",
    kind: Kind::Histogram,
    help: "Time to a remote worker's answer headers, every attempt and backoff included.",
    labels: &["route"],
};
pub(super) static RETRIES: FamilyInfo = FamilyInfo {
    name: "inferwarden_proxy_retries",
    kind: Kind::Counter,
    help: "Attempts after the first, by route.",
    labels: &["route"],
};

pub(super) static FAMILIES: &[&FamilyInfo] = &[&REQUESTS, &REQUEST_SECONDS, &RETRIES];

/// The `route` label values: [`crate::routing::ProxyRoute::as_str`] of each route.
const ROUTES: [&str; 5] = ["status", "results", "preview", "generate", "gallery"];
/// `ok`, `cancelled` (the caller dropped the request: a timeout around it, a client gone),
/// then every error code in declaration order.
const OUTCOMES: usize = 2 + ERROR_SPECS.len();
static REQUEST_COUNTS: [[Counter; OUTCOMES]; ROUTES.len()] =
    [const { [const { Counter::new() }; OUTCOMES] }; ROUTES.len()];
static LATENCY: [Histogram; ROUTES.len()] = [const { Histogram::new() }; ROUTES.len()];
static RETRY_COUNTS: [Counter; ROUTES.len()] = [const { Counter::new() }; ROUTES.len()];

/// One proxied request: how it ended, how long it took and how many attempts it made.
#[cfg(feature = "proxy")]
pub(crate) fn record_proxy_request(
    route: &str,
    outcome: Result<(), &Error>,
    took: Duration,
    attempts: u32,
) {
    if !super::enabled() {
        return;
    }
    let Some(r) = ROUTES.iter().position(|n| *n == route) else {
        return;
    };
    let o = match outcome {
        Ok(()) => 0,
        Err(e) => 2 + e.code() as usize,
    };
    REQUEST_COUNTS[r][o].inc();
    LATENCY[r].observe(took);
    RETRY_COUNTS[r].add(u64::from(attempts.saturating_sub(1)));
}

/// A proxied request its caller dropped before it finished (attempts unknown: not counted
/// as retries).
#[cfg(feature = "proxy")]
pub(crate) fn record_proxy_cancelled(route: &str, took: Duration) {
    if !super::enabled() {
        return;
    }
    if let Some(r) = ROUTES.iter().position(|n| *n == route) {
        REQUEST_COUNTS[r][1].inc();
        LATENCY[r].observe(took);
    }
}

pub(super) fn encode(enc: &mut Encoder) {
    enc.family(&REQUESTS);
    for (r, route) in ROUTES.iter().enumerate() {
        for (o, counter) in REQUEST_COUNTS[r].iter().enumerate() {
            let v = counter.get();
            if o == 0 || v > 0 {
                let outcome = match o {
                    0 => "ok",
                    1 => "cancelled",
                    n => ERROR_SPECS[n - 2].code,
                };
                enc.counter(&REQUESTS, &[("route", route), ("outcome", outcome)], v);
            }
        }
    }
    enc.family(&REQUEST_SECONDS);
    for (r, route) in ROUTES.iter().enumerate() {
        enc.histogram(&REQUEST_SECONDS, &[("route", route)], &LATENCY[r]);
    }
    enc.family(&RETRIES);
    for (r, route) in ROUTES.iter().enumerate() {
        enc.counter(&RETRIES, &[("route", route)], RETRY_COUNTS[r].get());
    }
}
