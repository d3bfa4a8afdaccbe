//! The degraded queue's backends against a model (property-based, proptest): random
//! admissions, starts, renewals, releases and clock advances. Each answer (the slot or the
//! refusal with its depth and soonest expiry, the start's admission time, the renewal) and
//! the counters must be the model's; the depth never exceeds the maximum; every lease ends
//! released or expired (at the end, after the longest lease, the queue is empty and every
//! unreleased lease is counted as expired). In memory here; on Redis with two clients
//! sharing the queue when the test command started it.

#[path = "support/services.rs"]
mod services;

use std::collections::BTreeMap;

use inferwarden::dispatch::{Admission, MemoryQueueBackend, QueueBackend};
use proptest::prelude::*;

const MAX_DEPTH: u32 = 4;
const WAIT_MS: i64 = 30_000;
const LEASE_MS: i64 = 10_000;

#[derive(Debug, Clone)]
enum Op {
    Admit,
    Start(usize),
    Renew(usize),
    Release(usize),
    Advance(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Admit),
        2 => (0usize..10).prop_map(Op::Start),
        2 => (0usize..10).prop_map(Op::Renew),
        2 => (0usize..10).prop_map(Op::Release),
        2 => prop_oneof![
            Just(1i64),
            Just(LEASE_MS - 1),
            Just(LEASE_MS),
            Just(WAIT_MS - 1),
            Just(WAIT_MS),
        ]
        .prop_map(Op::Advance),
    ]
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    admitted: i64,
    expires: i64,
    started: bool,
}

#[derive(Default)]
struct Model {
    leases: BTreeMap<u64, Lease>,
    overloads: u64,
    expired: u64,
}

impl Model {
    fn reap(&mut self, now: i64) {
        let before = self.leases.len();
        self.leases.retain(|_, l| l.expires > now);
        self.expired += (before - self.leases.len()) as u64;
    }
}

fn run(queue: &dyn QueueBackend, ops: &[Op]) {
    let mut m = Model::default();
    let mut now = 1_800_000_000_000i64;
    // The ids the backend handed out, in order (an op names one by its index).
    let mut ids: Vec<u64> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Admit => {
                m.reap(now);
                let got = queue.admit(now, MAX_DEPTH, WAIT_MS).unwrap();
                let depth = m.leases.len() as u32;
                if depth >= MAX_DEPTH {
                    m.overloads += 1;
                    let soonest = m.leases.values().map(|l| l.expires).min().unwrap();
                    assert_eq!(
                        got,
                        Admission::Full {
                            depth,
                            soonest_expiry_ms: soonest
                        },
                        "step {step}"
                    );
                } else {
                    let Admission::Admitted(id) = got else {
                        panic!("step {step}: refused at depth {depth}: {got:?}");
                    };
                    assert!(!ids.contains(&id), "step {step}: id {id} handed out twice");
                    ids.push(id);
                    m.leases.insert(
                        id,
                        Lease {
                            admitted: now,
                            expires: now + WAIT_MS,
                            started: false,
                        },
                    );
                }
            }
            Op::Start(i) => {
                let Some(&id) = ids.get(i) else { continue };
                m.reap(now);
                let want = m.leases.get_mut(&id).map(|l| {
                    l.started = true;
                    l.expires = now + LEASE_MS;
                    l.admitted
                });
                assert_eq!(queue.start(id, now, LEASE_MS).unwrap(), want, "step {step}");
            }
            Op::Renew(i) => {
                let Some(&id) = ids.get(i) else { continue };
                m.reap(now);
                let want = match m.leases.get_mut(&id) {
                    Some(l) if l.started => {
                        l.expires = now + LEASE_MS;
                        true
                    }
                    _ => false,
                };
                assert_eq!(queue.renew(id, now, LEASE_MS).unwrap(), want, "step {step}");
            }
            Op::Release(i) => {
                let Some(&id) = ids.get(i) else { continue };
                queue.release(id);
                m.leases.remove(&id);
            }
            Op::Advance(ms) => now += ms,
        }
        m.reap(now);
        let counts = queue.counts(now).unwrap();
        assert!(
            counts.depth <= MAX_DEPTH,
            "step {step}: depth {}",
            counts.depth
        );
        assert_eq!(
            (counts.depth, counts.overloads, counts.expired),
            (m.leases.len() as u32, m.overloads, m.expired),
            "step {step} {op:?}"
        );
    }
    // After the longest lease every slot is released or expired.
    now += WAIT_MS.max(LEASE_MS);
    m.reap(now);
    let end = queue.counts(now).unwrap();
    assert_eq!(end.depth, 0);
    assert_eq!(end.expired, m.expired);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn memory_backend_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
        run(&MemoryQueueBackend::default(), &ops);
    }
}

#[cfg(feature = "redis")]
mod redis_backend {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use inferwarden::dispatch::{BackendCounts, RedisQueueBackend};
    use inferwarden::ratelimit::RedisTime;
    use inferwarden::Error;

    use super::*;

    /// Two clients (one connection each) on one queue, taking turns.
    #[derive(Debug)]
    struct Clients([RedisQueueBackend; 2], AtomicUsize);

    impl Clients {
        fn next(&self) -> &RedisQueueBackend {
            &self.0[self.1.fetch_add(1, Ordering::Relaxed) % 2]
        }
    }

    impl QueueBackend for Clients {
        fn admit(&self, now: i64, max_depth: u32, wait: i64) -> Result<Admission, Error> {
            self.next().admit(now, max_depth, wait)
        }
        fn start(&self, id: u64, now: i64, lease: i64) -> Result<Option<i64>, Error> {
            self.next().start(id, now, lease)
        }
        fn renew(&self, id: u64, now: i64, lease: i64) -> Result<bool, Error> {
            self.next().renew(id, now, lease)
        }
        fn release(&self, id: u64) {
            self.next().release(id)
        }
        fn counts(&self, now: i64) -> Result<BackendCounts, Error> {
            self.next().counts(now)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(60))]

        #[test]
        fn redis_backend_with_two_clients_matches_the_model(ops in prop::collection::vec(op(), 1..80)) {
            let Some(url) = services::redis_url() else {
                return Ok(());
            };
            static RUN: AtomicUsize = AtomicUsize::new(0);
            let prefix = format!("iw-qmodel:{}:{}:", std::process::id(), RUN.fetch_add(1, Ordering::SeqCst));
            let open = || RedisQueueBackend::new(&url, &prefix, RedisTime::Caller).unwrap();
            run(&Clients([open(), open()], AtomicUsize::new(0)), &ops);
        }
    }
}
