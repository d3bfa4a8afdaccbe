//! Sessions against a state-machine model (property-based, proptest): random sequences of
//! issue, use, peek, idle time, revoke, revoke-all, pruning and expiry over both kinds, on
//! the memory and SQLite stores (and PostgreSQL when the test command started it). Every
//! check (`Active`/`Expired`/`Revoked`/`Unknown`), every revoke answer and every count must
//! be the model's: absolute expiry, the admin idle timeout sliding on use only (a use is
//! written only once the stored one is `admin_last_use_write_interval_s` old, capped at 1 % of
//! the idle timeout), revocation final, a token of one kind never valid as the other.

#[path = "support/services.rs"]
mod services;

use std::sync::Arc;

use inferwarden::clock::ManualClock;
use inferwarden::config::SessionConfig;
use inferwarden::session::{
    MemorySessionStore, SessionCheck, SessionKind, SessionManager, SessionStore,
};
use proptest::prelude::*;

const T0: i64 = 1_800_000_000_000;

#[derive(Debug, Clone)]
enum Op {
    Issue(bool),
    Use(usize, bool),
    Peek(usize, bool),
    Revoke(usize),
    RevokeAll(Option<bool>),
    Prune,
    Advance(i64),
}

fn kind(admin: bool) -> SessionKind {
    if admin {
        SessionKind::Admin
    } else {
        SessionKind::Generation
    }
}

fn op(config: &SessionConfig) -> impl Strategy<Value = Op> {
    let idle = config.admin_idle_timeout_s as i64 * 1000;
    let life = config.generation_lifetime_s as i64 * 1000;
    let admin_life = config.admin_absolute_lifetime_s as i64 * 1000;
    let write = write_interval_ms(config);
    prop_oneof![
        2 => any::<bool>().prop_map(Op::Issue),
        4 => (0usize..6, any::<bool>()).prop_map(|(i, a)| Op::Use(i, a)),
        1 => (0usize..6, any::<bool>()).prop_map(|(i, a)| Op::Peek(i, a)),
        1 => (0usize..6).prop_map(Op::Revoke),
        1 => prop::option::of(any::<bool>()).prop_map(Op::RevokeAll),
        1 => Just(Op::Prune),
        3 => prop_oneof![
            Just(1i64),
            Just(idle - 1),
            Just(idle),
            Just(idle / 2),
            Just(life),
            Just(admin_life - idle),
            Just(write - 1),
            Just(write),
        ]
        .prop_map(Op::Advance),
    ]
}

/// The model's view of one issued session.
#[derive(Debug, Clone)]
struct Session {
    token: String,
    admin: bool,
    expires: i64,
    idle: Option<i64>,
    last_seen: i64,
    revoked: Option<i64>,
    pruned: bool,
}

impl Session {
    fn check(&self, admin: bool, now: i64) -> &'static str {
        if self.pruned || admin != self.admin {
            return "unknown";
        }
        if self.revoked.is_some() {
            return "revoked";
        }
        if now >= self.expires || self.idle.is_some_and(|i| now >= self.last_seen + i) {
            return "expired";
        }
        "active"
    }
}

fn name(c: &SessionCheck) -> &'static str {
    match c {
        SessionCheck::Active(_) => "active",
        SessionCheck::Expired => "expired",
        SessionCheck::Revoked => "revoked",
        SessionCheck::Unknown => "unknown",
    }
}

fn run(store: Arc<dyn SessionStore>, config: &SessionConfig, ops: &[Op]) {
    let clock = ManualClock::new(T0);
    let m = SessionManager::new(store, config.clone(), Arc::new(clock.clone()));
    let mut model: Vec<Session> = Vec::new();
    let mut now = T0;
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Issue(admin) => {
                let s = m.issue(kind(admin), "actor").unwrap();
                let (life, idle) = if admin {
                    (
                        config.admin_absolute_lifetime_s,
                        Some(config.admin_idle_timeout_s as i64 * 1000),
                    )
                } else {
                    (config.generation_lifetime_s, None)
                };
                model.push(Session {
                    token: s.token.expose().to_owned(),
                    admin,
                    expires: now + life as i64 * 1000,
                    idle,
                    last_seen: now,
                    revoked: None,
                    pruned: false,
                });
            }
            Op::Use(i, admin) | Op::Peek(i, admin) => {
                let Some(s) = model.get_mut(i) else { continue };
                let want = s.check(admin, now);
                let got = if matches!(op, Op::Use(..)) {
                    m.validate(kind(admin), &s.token).unwrap()
                } else {
                    m.peek(kind(admin), &s.token).unwrap()
                };
                assert_eq!(name(&got), want, "step {step} {op:?}");
                if want == "active"
                    && matches!(op, Op::Use(..))
                    && s.idle.is_some()
                    && now - s.last_seen >= write_interval_ms(config)
                {
                    s.last_seen = now;
                }
            }
            Op::Revoke(i) => {
                let Some(s) = model.get_mut(i) else { continue };
                let want = !s.pruned && s.revoked.is_none();
                assert_eq!(m.revoke(&s.token).unwrap(), want, "step {step} {op:?}");
                if want {
                    s.revoked = Some(now);
                }
            }
            Op::RevokeAll(which) => {
                let mut want = 0;
                for s in model.iter_mut() {
                    if !s.pruned && s.revoked.is_none() && which.is_none_or(|a| a == s.admin) {
                        s.revoked = Some(now);
                        want += 1;
                    }
                }
                assert_eq!(m.revoke_all(which.map(kind)).unwrap(), want, "step {step}");
            }
            Op::Prune => {
                let mut want = 0;
                for s in model.iter_mut().filter(|s| !s.pruned) {
                    if s.expires <= now || s.revoked.is_some_and(|t| t < now) {
                        s.pruned = true;
                        want += 1;
                    }
                }
                assert_eq!(m.prune_expired().unwrap(), want, "step {step}");
            }
            Op::Advance(ms) => {
                now += ms;
                clock.set_ms(now);
            }
        }
    }
}

/// The model's rule for when a use is written: the configured interval, at most 1 % of the
/// idle timeout.
fn write_interval_ms(config: &SessionConfig) -> i64 {
    (config.admin_last_use_write_interval_s as i64 * 1000)
        .min(config.admin_idle_timeout_s as i64 * 10)
}

fn every_use() -> SessionConfig {
    SessionConfig {
        admin_last_use_write_interval_s: 0,
        ..config()
    }
}

fn config() -> SessionConfig {
    SessionConfig {
        generation_lifetime_s: 3_600,
        admin_idle_timeout_s: 900,
        admin_absolute_lifetime_s: 7_200,
        ..SessionConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn memory_store_matches_the_model(ops in prop::collection::vec(op(&config()), 1..50)) {
        run(Arc::new(MemorySessionStore::default()), &config(), &ops);
    }

    #[test]
    fn memory_store_matches_the_model_writing_every_use(
        ops in prop::collection::vec(op(&every_use()), 1..50)
    ) {
        run(Arc::new(MemorySessionStore::default()), &every_use(), &ops);
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_store_matches_the_model(ops in prop::collection::vec(op(&config()), 1..50)) {
        let store = inferwarden::session::SqliteSessionStore::open(":memory:").unwrap();
        run(Arc::new(store), &config(), &ops);
    }
}

#[cfg(feature = "postgres")]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn postgres_store_matches_the_model(ops in prop::collection::vec(op(&config()), 1..50)) {
        let Some(schema) = services::isolated_postgres("sess_model") else {
            return Ok(());
        };
        let store = inferwarden::session::PostgresSessionStore::connect(&schema.url).unwrap();
        run(Arc::new(store), &config(), &ops);
    }
}
