//! The three instruments the metrics are made of: a [`Counter`] (a monotonic `u64`), a
//! [`Gauge`] (an `i64` that goes both ways) and a [`Histogram`] of durations over the fixed
//! [`LATENCY_BUCKETS_S`]. Each is a handful of relaxed atomics, constructible in a `static`,
//! so recording costs one or two uncontended atomic adds and no allocation or lock.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Zero.
    pub const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }

    /// Adds one.
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (a depth, a size, a readiness flag).
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    /// Zero.
    pub const fn new() -> Self {
        Gauge(AtomicI64::new(0))
    }

    /// Sets the value.
    #[inline]
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }

    /// Adds `d` (negative to subtract).
    #[inline]
    pub fn add(&self, d: i64) {
        self.0.fetch_add(d, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Upper bounds (seconds) of every duration histogram: from half a millisecond (a store
/// round trip on loopback) to a minute (a long sweep or a slow remote), then `+Inf`.
pub const LATENCY_BUCKETS_S: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];

const BUCKETS: usize = LATENCY_BUCKETS_S.len();

/// The same bounds in nanoseconds, for the comparison on the recording path.
const BUCKETS_NS: [u64; BUCKETS] = {
    let mut out = [0u64; BUCKETS];
    let mut i = 0;
    while i < BUCKETS {
        out[i] = (LATENCY_BUCKETS_S[i] * 1e9) as u64;
        i += 1;
    }
    out
};

/// A histogram of durations: a count per bucket (not cumulative; the encoder sums them),
/// the number of observations and their sum in nanoseconds.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    sum_ns: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

/// One histogram's figures at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    /// `(upper bound in seconds, observations at or below it)`, cumulative, ending with
    /// `f64::INFINITY` and the total count.
    pub cumulative: Vec<(f64, u64)>,
    /// Observations.
    pub count: u64,
    /// Their sum, seconds.
    pub sum_s: f64,
}

impl Histogram {
    /// Empty.
    pub const fn new() -> Self {
        Histogram {
            buckets: [const { AtomicU64::new(0) }; BUCKETS],
            count: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
        }
    }

    /// Records one duration.
    pub fn observe(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        if let Some(i) = BUCKETS_NS.iter().position(|&b| ns <= b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// The figures now. Read without a lock, so a concurrent observation may show in
    /// `count` before its bucket; the encoder keeps the buckets monotonic and `+Inf` equal
    /// to `count` regardless.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let count = self.count.load(Ordering::Relaxed);
        let mut running = 0u64;
        let mut cumulative = Vec::with_capacity(BUCKETS + 1);
        for (i, bound) in LATENCY_BUCKETS_S.iter().enumerate() {
            running = running.saturating_add(self.buckets[i].load(Ordering::Relaxed));
            cumulative.push((*bound, running.min(count)));
        }
        cumulative.push((f64::INFINITY, count));
        HistogramSnapshot {
            cumulative,
            count,
            sum_s: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// Elapsed time for a histogram: the one place the metrics read a clock, and a monotonic
/// one. It measures how long work took for operators; no policy decision ever reads it
/// (decisions use the injected [`crate::clock::Clock`]).
#[derive(Debug, Clone, Copy)]
pub struct Stopwatch(Instant);

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Self {
        Stopwatch(Instant::now())
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}
