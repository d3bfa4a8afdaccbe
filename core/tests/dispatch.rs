//! Tests for `dispatch/`: VRAM levels and budgets at exact thresholds, placement, OOM
//! classification, the degraded queue (exact 25 / 30 s boundaries, 64 concurrent admissions,
//! killed holders reclaimed, release on every exit path), lane routing and the pipeline slot.

#[path = "support/queue_contract.rs"]
mod queue_contract;

use std::sync::Arc;

use inferwarden::clock::ManualClock;
use inferwarden::config::{GpuConfig, PolicyConfig};
use inferwarden::dispatch::{
    budget_gb, classify_worker_error, place_model, vram_level, DegradedQueue, DeviceInfo,
    FallbackCause, LaneHealth, LaneRouter, MemoryReading, PipelineSlot, Route, SlotState,
    VramLevel,
};
use inferwarden::ErrorCode;

#[test]
fn vram_levels_at_exact_thresholds() {
    let g = GpuConfig::default();
    for (mib, level) in [
        (Some(12288), VramLevel::Green),
        (Some(12287), VramLevel::Yellow),
        (Some(8192), VramLevel::Yellow),
        (Some(8191), VramLevel::Orange),
        (Some(4096), VramLevel::Orange),
        (Some(4095), VramLevel::Red),
        (Some(0), VramLevel::Red),
        (None, VramLevel::Red),
    ] {
        assert_eq!(vram_level(mib, &g), level, "{mib:?}");
    }
    assert_eq!(
        (
            budget_gb("A10G", &g),
            budget_gb("l4", &g),
            budget_gb("T4", &g),
            budget_gb("H100", &g)
        ),
        (24, 24, 16, 24)
    );
}

#[test]
fn catalogue_models_are_placed_by_their_vram_min_gb() {
    use inferwarden::catalogue::Catalogue;
    use inferwarden::dispatch::place_catalogue_model;
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/platform/src/inference_settings.json"),
    )
    .unwrap();
    let catalogue = Catalogue::from_json(&text).unwrap();
    let g = GpuConfig::default();
    let devices = vec![
        DeviceInfo {
            index: 0,
            kind: "T4".into(),
            free_mib: Some(12_000),
        },
        DeviceInfo {
            index: 1,
            kind: "L4".into(),
            free_mib: Some(20_000),
        },
    ];
    // sdxl-turbo states 8 GB, flux-dev 16 GB (the T4 has only 12,000 MiB free).
    assert_eq!(catalogue.vram_min_gb("sdxl-turbo").unwrap(), Some(8.0));
    assert_eq!(
        place_catalogue_model(&catalogue, "sdxl-turbo", &devices, &g).unwrap(),
        0
    );
    assert_eq!(
        place_catalogue_model(&catalogue, "flux-dev", &devices, &g).unwrap(),
        1
    );
    let need = catalogue
        .vram_min_gb("wan-remix")
        .unwrap()
        .expect("alias resolves");
    let err = place_catalogue_model(&catalogue, "wan-remix", &devices[..1], &g).unwrap_err();
    assert_eq!(err.code(), ErrorCode::GpuMemoryExceeded, "{need}");
    assert_eq!(err.metadata().unwrap()["model"], "wan-remix");
    assert_eq!(
        place_catalogue_model(&catalogue, "nope", &devices, &g)
            .unwrap_err()
            .code(),
        ErrorCode::ValidationError
    );
    let bad = text.replacen("\"vram_min_gb\": 8", "\"vram_min_gb\": \"eight\"", 1);
    let bad = Catalogue::from_json(&bad).unwrap();
    assert_eq!(
        bad.vram_min_gb("sdxl-turbo").unwrap_err().code(),
        ErrorCode::ValidationError
    );
}

#[test]
fn placement_respects_free_memory_and_budget() {
    let g = GpuConfig::default();
    let devices = vec![
        DeviceInfo {
            index: 0,
            kind: "T4".into(),
            free_mib: Some(15_000),
        },
        DeviceInfo {
            index: 1,
            kind: "A10G".into(),
            free_mib: Some(23_000),
        },
        DeviceInfo {
            index: 2,
            kind: "L4".into(),
            free_mib: None,
        },
    ];
    assert_eq!(place_model(8.0, &devices, &g).unwrap(), 0);
    assert_eq!(
        place_model(16.0, &devices, &g).unwrap(),
        1,
        "T4 budget is 16 GB but only 15,000 MiB free"
    );
    let err = place_model(40.0, &devices, &g).unwrap_err();
    assert_eq!(err.code(), ErrorCode::GpuMemoryExceeded);
    assert_eq!(err.metadata().unwrap()["need_mib"], 40 * 1024);
    assert_eq!(
        place_model(f64::NAN, &devices, &g).unwrap_err().code(),
        ErrorCode::ValidationError
    );
}

#[test]
fn oom_text_maps_to_gpu_memory_exceeded() {
    for text in [
        "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
        "cuda OOM in decoder",
        "OUT OF MEMORY",
    ] {
        assert_eq!(
            classify_worker_error(text).unwrap().code(),
            ErrorCode::GpuMemoryExceeded,
            "{text}"
        );
    }
    assert!(classify_worker_error("connection reset").is_none());
    let e = classify_worker_error("CUDA out of memory at /home/user/secret-prompt.txt").unwrap();
    assert!(!e.to_string().contains("secret-prompt"));
}

fn queue(clock: &ManualClock) -> DegradedQueue {
    DegradedQueue::new(25, 30_000, 60_000, Arc::new(clock.clone()))
}

#[test]
fn queue_depth_boundary_and_release_on_drop() {
    let clock = ManualClock::new(1_000_000);
    queue_contract::depth_boundary_and_release_on_drop(&queue(&clock));
}

#[test]
fn wait_boundary_is_exactly_30_seconds_and_dead_holders_are_reclaimed() {
    let clock = ManualClock::new(1_000_000);
    queue_contract::wait_boundary_and_dead_holders(&queue(&clock), &clock);
}

#[test]
fn sixty_four_concurrent_admissions_never_exceed_25() {
    let clock = ManualClock::new(1_000_000);
    let q = queue(&clock);
    queue_contract::sixty_four_concurrent_admissions(|| q.clone());
}

#[test]
fn lane_routing_order_and_causes() {
    let clock = ManualClock::new(1_000_000);
    let mut config = PolicyConfig::default();
    config.queue.degraded_max_depth = 2;
    let r = LaneRouter::new(&config, 60_000, Arc::new(clock.clone()));
    r.set_lane(
        "wan",
        LaneHealth {
            ready: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(matches!(r.route("wan").unwrap(), Route::Dedicated { .. }));
    // Health failing: tolerated for exactly 60 s.
    r.set_lane(
        "wan",
        LaneHealth {
            ready: true,
            failing_since_ms: Some(1_000_000),
            ..Default::default()
        },
    )
    .unwrap();
    clock.advance_ms(60_000);
    assert!(matches!(r.route("wan").unwrap(), Route::Dedicated { .. }));
    clock.advance_ms(1);
    let Route::Degraded { slot, cause } = r.route("wan").unwrap() else {
        panic!("expected degraded")
    };
    assert_eq!(cause, FallbackCause::Capacity);
    drop(slot);
    r.set_lane(
        "wan",
        LaneHealth {
            ready: true,
            quota_denied: true,
            ..Default::default()
        },
    )
    .unwrap();
    let Route::Degraded { cause, slot: s1 } = r.route("wan").unwrap() else {
        panic!()
    };
    assert_eq!(cause, FallbackCause::Quota);
    r.set_lane(
        "wan",
        LaneHealth {
            ready: true,
            manual_fallback: true,
            ..Default::default()
        },
    )
    .unwrap();
    let Route::Degraded { cause, slot: s2 } = r.route("wan").unwrap() else {
        panic!()
    };
    assert_eq!(cause, FallbackCause::Manual);
    // Workers pick both degraded slots up (leases now run 60 s).
    s1.start().unwrap();
    s2.start().unwrap();
    // Warm lane not assigned within 30 s of admission.
    let t = clock_now(&clock);
    r.set_lane(
        "ltx",
        LaneHealth {
            ready: true,
            awaiting_assignment_since_ms: Some(t),
            ..Default::default()
        },
    )
    .unwrap();
    clock.advance_ms(30_001);
    assert_eq!(
        r.route("ltx").unwrap_err().code(),
        ErrorCode::QueueOverloaded,
        "degraded queue (depth 2) is full"
    );
    drop((s1, s2));
    let m = r.metrics();
    assert_eq!((m.dedicated, m.degraded, m.overloaded), (2, 3, 1));
    assert_eq!(m.fallbacks["capacity"], 2);
    assert_eq!(m.queue.unwrap().max_depth, 2);
    assert!(matches!(
        r.route("unknown-model").unwrap(),
        Route::Degraded {
            cause: FallbackCause::Capacity,
            ..
        }
    ));
}

fn clock_now(c: &ManualClock) -> i64 {
    inferwarden::clock::Clock::now_ms(c)
}

#[test]
fn pipeline_slot_switches_models_through_release() {
    let clock = ManualClock::new(0);
    let slot = PipelineSlot::new(600_000, Arc::new(clock.clone()));
    assert!(!slot.acquire("wan", |_| panic!("nothing to clear")).unwrap());
    assert_eq!(
        slot.acquire("ltx", |_| Ok(())).unwrap_err().code(),
        ErrorCode::QueueOverloaded,
        "busy loading"
    );
    slot.mark_loaded("wan").unwrap();
    assert!(slot
        .acquire("wan", |_| panic!("same model stays warm"))
        .unwrap());
    let mut cleared = Vec::new();
    assert!(!slot
        .acquire("ltx", |m| {
            cleared.push(m.to_owned());
            Ok(())
        })
        .unwrap());
    assert_eq!(cleared, ["wan"]);
    assert_eq!(slot.state(), SlotState::Loading("ltx".into()));
    assert_eq!(
        slot.mark_loaded("wan").unwrap_err().code(),
        ErrorCode::InvalidTransition
    );
    slot.mark_loaded("ltx").unwrap();
    clock.advance_ms(600_001);
    assert_eq!(slot.evict_idle(|_| Ok(())).unwrap().as_deref(), Some("ltx"));
    assert_eq!(slot.state(), SlotState::Empty);
    // A failed cache clear leaves the slot empty, never "warm".
    slot.acquire("wan", |_| Ok(())).unwrap();
    slot.mark_loaded("wan").unwrap();
    let err = slot
        .acquire("ltx", |_| {
            Err(inferwarden::Error::new(ErrorCode::GpuMemoryExceeded))
        })
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::GpuMemoryExceeded);
    assert_eq!(slot.state(), SlotState::Empty);
}

#[test]
fn pipeline_slot_counts_and_memory_events_after_each_generation() {
    let clock = ManualClock::new(5_000);
    let gpu = GpuConfig::default();
    let slot = PipelineSlot::new(600_000, Arc::new(clock.clone()));
    let reading = |allocated_mib, reserved_mib, cleanup_done| MemoryReading {
        allocated_mib,
        reserved_mib,
        cleanup_done,
    };
    // Nothing active yet.
    assert_eq!(
        slot.record_generation("T4", reading(1, 1, true), &gpu)
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
    slot.acquire("wan", |_| Ok(())).unwrap();
    slot.mark_loaded("wan").unwrap();
    // T4: 16 GB = 16,384 MiB; the larger of allocated and reserved is compared, exactly.
    let at_budget = slot
        .record_generation(" t4 ", reading(9_000, 16_384, true), &gpu)
        .unwrap();
    assert_eq!(
        (at_budget.budget_mib, at_budget.budget_exceeded),
        (16_384, false)
    );
    assert_eq!(
        (at_budget.model.as_str(), at_budget.gpu_kind.as_str()),
        ("wan", "t4")
    );
    assert_eq!(at_budget.at_ms, 5_000);
    clock.advance_ms(1_000);
    let over = slot
        .record_generation("T4", reading(16_385, 16_000, false), &gpu)
        .unwrap();
    assert!(over.budget_exceeded && !over.cleanup_done);
    assert_eq!(over.at_ms, 6_000);
    // L4 and unknown kinds: 24 GB.
    let l4 = slot
        .record_generation("L4", reading(20_000, 24_576, true), &gpu)
        .unwrap();
    assert!(!l4.budget_exceeded);
    assert!(
        slot.record_generation("mystery", reading(0, 24_577, true), &gpu)
            .unwrap()
            .budget_exceeded
    );
    // Warm hit, switch (a cold load), idle eviction: all counted.
    assert!(slot.acquire("wan", |_| Ok(())).unwrap());
    assert!(!slot.acquire("ltx", |_| Ok(())).unwrap());
    slot.mark_loaded("ltx").unwrap();
    clock.advance_ms(600_001);
    slot.evict_idle(|_| Ok(())).unwrap();
    let m = slot.metrics();
    assert_eq!(
        (m.cold_loads, m.warm_hits, m.switches, m.evictions),
        (2, 1, 1, 1)
    );
    assert_eq!(
        (m.generations, m.budget_exceeded, m.cleanups_missed),
        (4, 2, 1)
    );
    assert_eq!(m.last_memory.unwrap().reserved_mib, 24_577);
    // The event's wire form.
    let json = serde_json::to_value(&over).unwrap();
    for key in [
        "model",
        "gpu_kind",
        "cleanup_done",
        "allocated_mib",
        "reserved_mib",
        "budget_mib",
        "budget_exceeded",
        "at_ms",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
}

#[test]
fn routing_metrics_report_lane_readiness_cold_starts_and_queue_waits() {
    let clock = ManualClock::new(1_000_000);
    let r = LaneRouter::new(&PolicyConfig::default(), 60_000, Arc::new(clock.clone()));
    let ready = |ready| LaneHealth {
        ready,
        ..Default::default()
    };
    r.set_lane("wan", ready(false)).unwrap();
    r.set_lane("wan", ready(true)).unwrap(); // cold start 1
    r.set_lane("wan", ready(true)).unwrap(); // still warm: not a cold start
    r.set_lane("wan", ready(false)).unwrap();
    r.set_lane("wan", ready(true)).unwrap(); // cold start 2
    r.set_lane("ltx", ready(true)).unwrap(); // first sight, ready: cold start
    r.set_lane(
        "hunyuan",
        LaneHealth {
            ready: true,
            quota_denied: true,
            ..Default::default()
        },
    )
    .unwrap();
    r.set_lane("ltx", ready(false)).unwrap();
    let m = r.metrics();
    assert_eq!(m.cold_starts, 4);
    assert_eq!(m.lanes["wan"].cold_starts, 2);
    assert!(m.lanes["wan"].available && m.lanes["wan"].unavailable_cause.is_none());
    assert_eq!(
        (m.lanes["ltx"].available, m.lanes["ltx"].unavailable_cause),
        (false, Some(FallbackCause::Capacity))
    );
    assert_eq!(
        m.lanes["hunyuan"].unavailable_cause,
        Some(FallbackCause::Quota)
    );

    // Waits: 4 s and 10 s starts; a third slot starts after the 30 s limit (a timeout).
    let Route::Degraded { slot: a, .. } = r.route("ltx").unwrap() else {
        panic!()
    };
    let Route::Degraded { slot: b, .. } = r.route("ltx").unwrap() else {
        panic!()
    };
    clock.advance_ms(4_000);
    assert_eq!(a.start().unwrap(), 4_000);
    clock.advance_ms(6_000);
    assert_eq!(b.start().unwrap(), 10_000);
    let Route::Degraded { slot: c, .. } = r.route("ltx").unwrap() else {
        panic!()
    };
    clock.advance_ms(30_001);
    assert_eq!(c.start().unwrap_err().code(), ErrorCode::QueueOverloaded);
    let q = r.metrics().queue.unwrap();
    assert_eq!(
        (q.started, q.timeouts, q.mean_wait_ms, q.longest_wait_ms),
        (2, 1, 7_000, 10_000)
    );
}

#[test]
fn a_route_handle_never_reports_a_renewal_it_did_not_get() {
    let clock = ManualClock::new(1_000_000);
    let config = PolicyConfig::default();
    let r = LaneRouter::new(&config, 60_000, Arc::new(clock.clone()));
    r.set_lane(
        "wan",
        LaneHealth {
            ready: true,
            ..Default::default()
        },
    )
    .unwrap();
    let dedicated = inferwarden::dispatch::RouteHandle::from(r.route("wan").unwrap());
    assert_eq!(
        (dedicated.lane(), dedicated.start().unwrap()),
        ("dedicated", 0)
    );
    assert!(dedicated.renew().unwrap());
    // An unknown model falls back to the degraded queue.
    let degraded = inferwarden::dispatch::RouteHandle::from(r.route("ltx").unwrap());
    assert_eq!(degraded.lane(), "degraded");
    degraded.start().unwrap();
    assert!(degraded.renew().unwrap());
    degraded.release();
    degraded.release();
    // Released: no lease to renew, and no start to report.
    assert!(!degraded.renew().unwrap());
    assert_eq!(
        degraded.start().unwrap_err().code(),
        ErrorCode::InvalidTransition
    );
}
