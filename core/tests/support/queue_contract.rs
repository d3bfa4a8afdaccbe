//! The degraded-queue contract every backend must meet (run on memory by `dispatch.rs` and
//! on Redis by `dispatch_redis.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};

use inferwarden::clock::ManualClock;
use inferwarden::dispatch::DegradedQueue;
use inferwarden::ErrorCode;

/// 25 admitted, the 26th refused with its metadata, slots released on drop and on panic.
pub fn depth_boundary_and_release_on_drop(q: &DegradedQueue) {
    let slots: Vec<_> = (0..25).map(|_| q.admit().unwrap()).collect();
    let err = q.admit().unwrap_err();
    assert_eq!(err.code(), ErrorCode::QueueOverloaded);
    let m = err.metadata().unwrap();
    assert_eq!(
        (
            m["depth"].as_u64(),
            m["max_depth"].as_u64(),
            m["max_wait_seconds"].as_u64()
        ),
        (Some(25), Some(25), Some(30))
    );
    assert_eq!(m["retry_after_seconds"], 30);
    drop(slots);
    assert_eq!(q.snapshot().depth, 0);
    // A panicking holder still releases its slot.
    let q2 = q.clone();
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _slot = q2.admit().unwrap();
        panic!("worker crashed");
    }));
    assert_eq!(q.snapshot().depth, 0);
}

/// A slot starts at 29,999 ms of waiting, not at 30,000; a dead holder is reclaimed.
pub fn wait_boundary_and_dead_holders(q: &DegradedQueue, clock: &ManualClock) {
    let waiting = q.admit().unwrap();
    clock.advance_ms(29_999);
    let started_after = waiting.start().unwrap();
    assert_eq!(started_after, 29_999);
    let late = q.admit().unwrap();
    clock.advance_ms(30_000);
    assert_eq!(
        late.start().unwrap_err().code(),
        ErrorCode::QueueOverloaded,
        "the wait was exceeded"
    );
    // A holder that dies without dropping (e.g. a killed worker) is reclaimed at lease end.
    let leaked = q.admit().unwrap();
    leaked.start().unwrap();
    std::mem::forget(leaked);
    assert!(q.snapshot().depth >= 1);
    clock.advance_ms(60_001);
    assert!(!waiting.renew(), "not renewed within the lease");
    assert_eq!(q.snapshot().depth, 0);
    assert!(q.snapshot().expired >= 2);
}

/// 64 threads admitting at once through queues from `make` (sharing one backend): exactly
/// 25 admitted, 39 refused.
pub fn sixty_four_concurrent_admissions(make: impl Fn() -> DegradedQueue + Sync) {
    let admitted = AtomicUsize::new(0);
    let barrier = std::sync::Barrier::new(64);
    let held: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|_| {
                let (make, admitted, barrier) = (&make, &admitted, &barrier);
                s.spawn(move || {
                    let q = make();
                    barrier.wait();
                    let slot = q.admit().ok();
                    if slot.is_some() {
                        admitted.fetch_add(1, Ordering::SeqCst);
                    }
                    slot
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(admitted.load(Ordering::SeqCst), 25);
    assert_eq!(held.len(), 25);
    assert_eq!(make().snapshot().overloads, 39);
}
