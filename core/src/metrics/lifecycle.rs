//! Lifecycle metrics: sweeps by result with their duration, tasks failed by reason, batch
//! halvings after store errors, and the batch size the next sweep will use.

use std::time::Duration;

use super::encode::{Encoder, Kind};
use super::primitives::{Counter, Gauge, Histogram};
use super::{bounded, enabled, FamilyInfo};

pub(super) static SWEEPS: FamilyInfo = FamilyInfo {
    name: "inferwarden_sweeps",
    kind: Kind::Counter,
    help: "Stale-task sweeps, by result (ok, store_error, audit_error).",
    labels: &["result"],
};
pub(super) static SWEEP_SECONDS: FamilyInfo = FamilyInfo {
    name: "inferwarden_sweep_duration_seconds",
    kind: Kind::Histogram,
    help: "How long one sweep took (every batch and its audit records).",
    labels: &[],
};
pub(super) static SWEPT: FamilyInfo = FamilyInfo {
    name: "inferwarden_tasks_swept",
    kind: Kind::Counter,
    help: "Tasks failed by a sweep, by reason.",
    labels: &["reason"],
};
pub(super) static HALVINGS: FamilyInfo = FamilyInfo {
    name: "inferwarden_sweep_batch_halvings",
    kind: Kind::Counter,
    help: "Times the sweep batch size was halved after a store error.",
    labels: &[],
};
pub(super) static BATCH: FamilyInfo = FamilyInfo {
    name: "inferwarden_sweep_batch_size",
    kind: Kind::Gauge,
    help: "The batch size the next sweep uses (the last sweeper to run in this process).",
    labels: &[],
};

pub(super) static FAMILIES: &[&FamilyInfo] = &[&SWEEPS, &SWEEP_SECONDS, &SWEPT, &HALVINGS, &BATCH];

const RESULTS: [&str; 3] = ["ok", "store_error", "audit_error"];
static SWEEP_COUNTS: [Counter; RESULTS.len()] = [const { Counter::new() }; RESULTS.len()];
static SWEEP_LATENCY: Histogram = Histogram::new();
const REASONS: [&str; 4] = [
    "stale_timeout",
    "heartbeat_timeout",
    "worker_start_timeout",
    "other",
];
static SWEPT_COUNTS: [Counter; REASONS.len()] = [const { Counter::new() }; REASONS.len()];
static HALVING_COUNT: Counter = Counter::new();
static BATCH_SIZE: Gauge = Gauge::new();

/// One sweep: its result (`ok`, `store_error`, `audit_error`), duration, the reasons of the
/// tasks it failed, and the batch size the next one uses.
pub(crate) fn record_sweep<'a>(
    result: &'static str,
    took: Duration,
    reasons: impl Iterator<Item = &'a str>,
    next_batch: u32,
) {
    if !enabled() {
        return;
    }
    let r = RESULTS.iter().position(|n| *n == result).unwrap_or(1);
    SWEEP_COUNTS[r].inc();
    SWEEP_LATENCY.observe(took);
    for reason in reasons {
        let label = bounded(reason, &REASONS);
        if let Some(i) = REASONS.iter().position(|n| *n == label) {
            SWEPT_COUNTS[i].inc();
        }
    }
    BATCH_SIZE.set(i64::from(next_batch));
}

/// The batch size was halved after a store error.
pub(crate) fn record_batch_halved() {
    if enabled() {
        HALVING_COUNT.inc();
    }
}

pub(super) fn encode(enc: &mut Encoder) {
    enc.counter_family(&SWEEPS, &RESULTS, &SWEEP_COUNTS);
    enc.family(&SWEEP_SECONDS);
    enc.histogram(&SWEEP_SECONDS, &[], &SWEEP_LATENCY);
    enc.counter_family(&SWEPT, &REASONS, &SWEPT_COUNTS);
    enc.family(&HALVINGS);
    enc.counter(&HALVINGS, &[], HALVING_COUNT.get());
    enc.family(&BATCH);
    enc.gauge(&BATCH, &[], &BATCH_SIZE);
}
