//! Dispatch metrics: where video requests were routed (dedicated lane, degraded lane,
//! refused) and why they fell back, lane readiness by registered model and cold starts, the
//! degraded queue (slots held, waits, timeouts, overloads), and the per-GPU pipeline slot
//! (cold and warm loads, switches, evictions, generations, budget overruns, missed cleanups).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::encode::{Encoder, Kind};
use super::primitives::{Counter, Gauge, Histogram};
use super::{enabled, FamilyInfo};

pub(super) static ROUTES: FamilyInfo = FamilyInfo {
    name: "inferwarden_lane_routes",
    kind: Kind::Counter,
    help: "Video requests routed, by lane (dedicated, degraded, refused).",
    labels: &["lane"],
};
pub(super) static FALLBACKS: FamilyInfo = FamilyInfo {
    name: "inferwarden_lane_fallbacks",
    kind: Kind::Counter,
    help: "Requests that could not use their dedicated lane, by cause.",
    labels: &["cause"],
};
pub(super) static READY: FamilyInfo = FamilyInfo {
    name: "inferwarden_lane_ready",
    kind: Kind::Gauge,
    help: "1 when a registered model's dedicated lane last reported ready, else 0.",
    labels: &["model"],
};
pub(super) static COLD_STARTS: FamilyInfo = FamilyInfo {
    name: "inferwarden_lane_cold_starts",
    kind: Kind::Counter,
    help: "Dedicated lanes that became ready after not being ready.",
    labels: &[],
};
pub(super) static SLOTS_HELD: FamilyInfo = FamilyInfo {
    name: "inferwarden_queue_slots_held",
    kind: Kind::Gauge,
    help: "Degraded-queue slots this process holds now (summed over replicas: the depth).",
    labels: &[],
};
pub(super) static QUEUE_WAIT: FamilyInfo = FamilyInfo {
    name: "inferwarden_queue_wait_seconds",
    kind: Kind::Histogram,
    help: "Wait from admission to start in the degraded queue.",
    labels: &[],
};
pub(super) static QUEUE_EVENTS: FamilyInfo = FamilyInfo {
    name: "inferwarden_queue_events",
    kind: Kind::Counter,
    help:
        "Degraded-queue events: admitted, overloaded (refused), timed_out (reclaimed before start).",
    labels: &["event"],
};
pub(super) static PIPELINE: FamilyInfo = FamilyInfo {
    name: "inferwarden_pipeline_events",
    kind: Kind::Counter,
    help: "Pipeline slot events: cold_load, warm_hit, switch, eviction, generation, budget_overrun, cleanup_missed.",
    labels: &["event"],
};

pub(super) static FAMILIES: &[&FamilyInfo] = &[
    &ROUTES,
    &FALLBACKS,
    &READY,
    &COLD_STARTS,
    &SLOTS_HELD,
    &QUEUE_WAIT,
    &QUEUE_EVENTS,
    &PIPELINE,
];

const LANES: [&str; 3] = ["dedicated", "degraded", "refused"];
static ROUTE_COUNTS: [Counter; LANES.len()] = [const { Counter::new() }; LANES.len()];
const CAUSES: [&str; 3] = ["capacity", "quota", "manual"];
static FALLBACK_COUNTS: [Counter; CAUSES.len()] = [const { Counter::new() }; CAUSES.len()];
static COLD_START_COUNT: Counter = Counter::new();
/// Readiness by model. Models come from the registered set; past this many the rest share
/// `other`, so a misbehaving caller cannot grow the series without bound.
const MAX_MODELS: usize = 256;
static READY_BY_MODEL: Mutex<BTreeMap<String, i64>> = Mutex::new(BTreeMap::new());
static HELD: Gauge = Gauge::new();
static WAIT: Histogram = Histogram::new();
const QUEUE_EVENT_NAMES: [&str; 3] = ["admitted", "overloaded", "timed_out"];
static QUEUE_EVENT_COUNTS: [Counter; QUEUE_EVENT_NAMES.len()] =
    [const { Counter::new() }; QUEUE_EVENT_NAMES.len()];

/// A pipeline slot event.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SlotEvent {
    ColdLoad,
    WarmHit,
    Switch,
    Eviction,
    Generation,
    BudgetOverrun,
    CleanupMissed,
}
const SLOT_EVENTS: [&str; 7] = [
    "cold_load",
    "warm_hit",
    "switch",
    "eviction",
    "generation",
    "budget_overrun",
    "cleanup_missed",
];
static SLOT_COUNTS: [Counter; SLOT_EVENTS.len()] = [const { Counter::new() }; SLOT_EVENTS.len()];

/// A routing outcome: `Some(true)` dedicated, `Some(false)` degraded, `None` refused.
pub(crate) fn record_route(dedicated: Option<bool>) {
    if enabled() {
        let i = match dedicated {
            Some(true) => 0,
            Some(false) => 1,
            None => 2,
        };
        ROUTE_COUNTS[i].inc();
    }
}

/// A fallback and its cause (`capacity`, `quota`, `manual`).
pub(crate) fn record_fallback(cause: &str) {
    if enabled() {
        if let Some(i) = CAUSES.iter().position(|c| *c == cause) {
            FALLBACK_COUNTS[i].inc();
        }
    }
}

/// A dedicated lane became ready.
pub(crate) fn record_cold_start() {
    if enabled() {
        COLD_START_COUNT.inc();
    }
}

/// What `model`'s lane last reported.
pub(crate) fn record_lane_ready(model: &str, ready: bool) {
    if !enabled() {
        return;
    }
    if let Ok(mut m) = READY_BY_MODEL.lock() {
        let key = if m.contains_key(model) || m.len() < MAX_MODELS {
            model
        } else {
            "other"
        };
        m.insert(key.to_owned(), i64::from(ready));
    }
}

/// A queue slot admitted (`held: +1`), released (`-1`) or refused (`overloaded`).
pub(crate) fn record_queue_slot(held: i64, overloaded: bool) {
    // Always kept, so a slot admitted while recording was off is not released below zero.
    HELD.add(held);
    if !enabled() {
        return;
    }
    if overloaded {
        QUEUE_EVENT_COUNTS[1].inc();
    } else if held > 0 {
        QUEUE_EVENT_COUNTS[0].inc();
    }
}

/// A queue refusal that is not a slot of this process (kept for the lane router).
pub(crate) fn record_queue_overload() {
    record_queue_slot(0, true);
}

/// A slot started after waiting `wait_ms` (`None`: it had been reclaimed: a timeout).
pub(crate) fn record_queue_start(wait_ms: Option<i64>) {
    if !enabled() {
        return;
    }
    match wait_ms {
        Some(ms) => WAIT.observe(Duration::from_millis(ms.max(0) as u64)),
        None => QUEUE_EVENT_COUNTS[2].inc(),
    }
}

/// A pipeline slot event.
pub(crate) fn record_slot(event: SlotEvent, n: u64) {
    if enabled() {
        SLOT_COUNTS[event as usize].add(n);
    }
}

pub(super) fn encode(enc: &mut Encoder) {
    enc.counter_family(&ROUTES, &LANES, &ROUTE_COUNTS);
    enc.counter_family(&FALLBACKS, &CAUSES, &FALLBACK_COUNTS);
    enc.family(&READY);
    let ready: Vec<(String, i64)> = READY_BY_MODEL
        .lock()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default();
    for (model, v) in &ready {
        enc.gauge_value(&READY, &[("model", model)], *v);
    }
    enc.family(&COLD_STARTS);
    enc.counter(&COLD_STARTS, &[], COLD_START_COUNT.get());
    enc.family(&SLOTS_HELD);
    enc.gauge(&SLOTS_HELD, &[], &HELD);
    enc.family(&QUEUE_WAIT);
    enc.histogram(&QUEUE_WAIT, &[], &WAIT);
    enc.counter_family(&QUEUE_EVENTS, &QUEUE_EVENT_NAMES, &QUEUE_EVENT_COUNTS);
    enc.counter_family(&PIPELINE, &SLOT_EVENTS, &SLOT_COUNTS);
}
