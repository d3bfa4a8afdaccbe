//! Tests for `clock.rs`.

use inferwarden::clock::{Clock, ManualClock, SystemClock};

#[test]
fn manual_clock_moves_only_when_told() {
    let c = ManualClock::new(1_000);
    let shared = c.clone();
    assert_eq!(c.now_ms(), 1_000);
    c.advance_ms(500);
    assert_eq!(shared.now_ms(), 1_500);
    shared.set_ms(42);
    assert_eq!(c.now_ms(), 42);
}

#[test]
fn system_clock_is_after_2024() {
    assert!(SystemClock.now_ms() > 1_704_067_200_000);
}
