//! Audit metrics: appends by sink and result with their latency (enqueue to commit for the
//! durable log), and verifications by result.

use std::time::Duration;

use super::encode::{Encoder, Kind};
use super::primitives::{Counter, Histogram};
use super::{enabled, FamilyInfo};

pub(super) static APPENDS: FamilyInfo = FamilyInfo {
    name: "inferwarden_audit_appends",
    kind: Kind::Counter,
    help: "Audit events appended, by sink (memory, log) and result (ok, error).",
    labels: &["sink", "result"],
};
pub(super) static APPEND_SECONDS: FamilyInfo = FamilyInfo {
    name: "inferwarden_audit_append_duration_seconds",
    kind: Kind::Histogram,
    help: "Time from handing an event to the durable audit log until its batch committed.",
    labels: &[],
};
pub(super) static VERIFICATIONS: FamilyInfo = FamilyInfo {
    name: "inferwarden_audit_verifications",
    kind: Kind::Counter,
    help: "Audit log verifications, by result (intact, broken, error).",
    labels: &["result"],
};

pub(super) static FAMILIES: &[&FamilyInfo] = &[&APPENDS, &APPEND_SECONDS, &VERIFICATIONS];

const SINKS: [&str; 2] = ["memory", "log"];
const RESULTS: [&str; 2] = ["ok", "error"];
static APPEND_COUNTS: [[Counter; RESULTS.len()]; SINKS.len()] =
    [const { [const { Counter::new() }; RESULTS.len()] }; SINKS.len()];
static APPEND_LATENCY: Histogram = Histogram::new();
const VERIFY_RESULTS: [&str; 3] = ["intact", "broken", "error"];
static VERIFY_COUNTS: [Counter; VERIFY_RESULTS.len()] =
    [const { Counter::new() }; VERIFY_RESULTS.len()];

/// One append to the memory sink (`took: None`) or the durable log.
pub(crate) fn record_append(ok: bool, took: Option<Duration>) {
    if enabled() {
        let sink = usize::from(took.is_some());
        APPEND_COUNTS[sink][usize::from(!ok)].inc();
        if let Some(d) = took {
            APPEND_LATENCY.observe(d);
        }
    }
}

/// One verification: `Some(intact)`, or `None` when it could not run.
pub(crate) fn record_verification(intact: Option<bool>) {
    if enabled() {
        let r = match intact {
            Some(true) => 0,
            Some(false) => 1,
            None => 2,
        };
        VERIFY_COUNTS[r].inc();
    }
}

pub(super) fn encode(enc: &mut Encoder) {
    enc.counter_grid(&APPENDS, &SINKS, &RESULTS, &APPEND_COUNTS);
    enc.family(&APPEND_SECONDS);
    enc.histogram(&APPEND_SECONDS, &[], &APPEND_LATENCY);
    enc.counter_family(&VERIFICATIONS, &VERIFY_RESULTS, &VERIFY_COUNTS);
}
