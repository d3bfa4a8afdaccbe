//! The lifecycle service: TTLs from the one configuration, task ids validated, stale and
//! late-completion events written to the audit sink, and a sweeper loop that is safe with any
//! number of replicas (correctness comes from the conditional writes alone). The batch size
//! halves after a store error (a busy database or a timeout) and grows back as sweeps succeed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::model::{Claim, Completion, SweepPolicy, SweepReport, TaskRecord, TransitionRecord};
use super::store::TaskStore;
use crate::audit::{
    AuditEvent, AuditFields, AuditHandle, AuditLog, AuditSink, MaintenanceReport, Outcome,
};
use crate::clock::Clock;
use crate::config::PolicyConfig;
use crate::error::{Error, ErrorCode};
use crate::task_ref::{parse_task_ref, TaskRef};

/// Lifecycle operations over a [`TaskStore`].
#[derive(Debug, Clone)]
pub struct Lifecycle {
    store: Arc<dyn TaskStore>,
    ttls_ms: BTreeMap<String, i64>,
    pending_timeout_ms: i64,
    heartbeat_timeout_ms: Option<i64>,
    max_batch: u32,
    batch: Arc<AtomicU32>,
    interval: Duration,
    audit: Arc<dyn AuditSink>,
    audit_log: Option<Arc<AuditLog>>,
    clock: Arc<dyn Clock>,
}

fn secs_ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}

fn new_sweep_id() -> String {
    let mut b = [0u8; 6];
    let _ = getrandom::fill(&mut b);
    crate::hex::encode(&b)
}

impl Lifecycle {
    /// Opens the task store at `db` (`sqlite:PATH` or `postgres://...`) and builds the
    /// service over it with the limits of `config`, recording into `audit`: the one
    /// construction the bindings and services share. `clock`: an injected clock (tests; the
    /// store stamps its writes with it too); `None`: the database's clock for the store and
    /// the system clock for the service. Blocking (it may connect to a database).
    pub fn open(
        config: &PolicyConfig,
        db: &str,
        clock: Option<Arc<dyn Clock>>,
        audit: &crate::audit::AuditHandle,
    ) -> Result<Lifecycle, Error> {
        let (time, clock) = match clock {
            Some(c) => (super::store::TimeSource::Injected(c.clone()), c),
            None => (
                super::store::TimeSource::Database,
                Arc::new(crate::clock::SystemClock) as Arc<dyn Clock>,
            ),
        };
        let store = super::store::open_task_store(db, time)?;
        Ok(Lifecycle::new(store, config, audit.sink(), clock).with_audit(audit))
    }

    /// A service with the stale policy of `config`.
    pub fn new(
        store: Arc<dyn TaskStore>,
        config: &PolicyConfig,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Lifecycle {
            store,
            ttls_ms: config
                .stale
                .processing_ttl_s
                .iter()
                .map(|(k, v)| (k.clone(), secs_ms(*v)))
                .collect(),
            pending_timeout_ms: secs_ms(config.stale.pending_start_timeout_s),
            heartbeat_timeout_ms: match config.stale.heartbeat_timeout_s {
                0 => None,
                s => Some(secs_ms(s)),
            },
            max_batch: config.stale.sweep_batch_size.max(1),
            batch: Arc::new(AtomicU32::new(config.stale.sweep_batch_size.max(1))),
            interval: Duration::from_secs(config.stale.sweep_interval_s),
            audit,
            audit_log: None,
            clock,
        }
    }

    /// Records into the durable `log` and has the sweeper services maintain it (retention
    /// and scheduled checkpoints after every sweep).
    pub fn with_audit_log(mut self, log: Arc<AuditLog>) -> Self {
        self.audit = log.clone();
        self.audit_log = Some(log);
        self
    }

    /// Records into `audit` (the ring or a durable log); a durable log is also maintained by
    /// the sweeper services.
    pub fn with_audit(self, audit: &AuditHandle) -> Self {
        match audit {
            AuditHandle::Log(log) => self.with_audit_log(log.clone()),
            AuditHandle::Memory(ring) => Lifecycle {
                audit: ring.clone(),
                audit_log: None,
                ..self
            },
        }
    }

    /// The sweeper's audit maintenance: retention and a due checkpoint; nothing without a
    /// durable log.
    pub fn maintain_audit(&self) -> Result<Option<MaintenanceReport>, Error> {
        self.audit_log
            .as_ref()
            .map(|log| log.maintain())
            .transpose()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TaskStore> {
        &self.store
    }

    fn audit(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: Outcome,
        details: &[(&str, serde_json::Value)],
    ) -> Result<(), Error> {
        let mut event = AuditEvent::new(
            AuditFields {
                actor,
                source: "lifecycle",
                action,
                target,
                outcome,
                correlation_id: target,
            },
            self.clock.as_ref(),
        )?;
        for (k, v) in details {
            event = event.detail(k, v.clone());
        }
        self.audit.record(event)
    }

    /// Creates a `pending` task; the id must be a valid local task id.
    pub fn create(&self, id: &str, task_type: &str) -> Result<TaskRecord, Error> {
        match parse_task_ref(id)? {
            TaskRef::Local { .. } => {}
            TaskRef::Remote { .. } => {
                return Err(Error::with_detail(
                    ErrorCode::ProxyTargetInvalid,
                    "remote task ids cannot be created locally",
                ))
            }
        }
        if task_type.trim().is_empty() {
            return Err(Error::with_detail(
                ErrorCode::ValidationError,
                "task type is empty",
            ));
        }
        crate::trace::span!(
            "inferwarden::lifecycle",
            "task_store",
            op = "create",
            task_id = id
        );
        self.store.create(id, task_type, "api")
    }

    /// `pending -> processing` for `worker`; unknown task types are refused.
    pub fn claim(&self, id: &str, worker: &str) -> Result<Claim, Error> {
        crate::trace::span!(
            "inferwarden::lifecycle",
            "task_store",
            op = "claim",
            task_id = id
        );
        self.store
            .claim(id, &self.ttls_ms, &format!("worker:{worker}"))
    }

    /// Progress under the lease (never extends the deadline).
    pub fn report_progress(
        &self,
        id: &str,
        lease_id: &str,
        progress: u8,
    ) -> Result<Completion, Error> {
        crate::trace::span!(
            "inferwarden::lifecycle",
            "task_store",
            op = "progress",
            task_id = id
        );
        self.store.report_progress(id, lease_id, progress)
    }

    /// A liveness signal under the lease: refreshes `heartbeat_at` (checked when
    /// `stale.heartbeat_timeout_s` is set), never the stale deadline or the progress.
    pub fn heartbeat(&self, id: &str, lease_id: &str) -> Result<Completion, Error> {
        crate::trace::span!(
            "inferwarden::lifecycle",
            "task_store",
            op = "heartbeat",
            task_id = id
        );
        self.store.report_progress(id, lease_id, 0)
    }

    /// The batch size the next sweep uses (halved after store errors).
    pub fn current_batch(&self) -> u32 {
        self.batch.load(Ordering::SeqCst)
    }

    /// The sweep interval from the configuration.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// `processing -> done`. A report that arrives after the task was failed is refused and
    /// recorded as `late_completion_rejected` with the result location for an operator.
    pub fn complete(
        &self,
        id: &str,
        lease_id: &str,
        result_path: &str,
        worker: &str,
    ) -> Result<Completion, Error> {
        crate::trace::span!(
            "inferwarden::lifecycle",
            "task_store",
            op = "complete",
            task_id = id
        );
        let outcome =
            self.store
                .complete(id, lease_id, result_path, &format!("worker:{worker}"))?;
        if let Completion::AlreadyFailed {
            error_code,
            late_by_ms,
        } = &outcome
        {
            self.audit(
                &format!("worker:{worker}"),
                "late_completion_rejected",
                id,
                Outcome::Denied,
                &[
                    ("result_path", result_path.into()),
                    ("error_code", error_code.clone().into()),
                    ("late_by_ms", (*late_by_ms).into()),
                ],
            )?;
        }
        Ok(outcome)
    }

    /// `processing -> failed` with an error code and message.
    pub fn fail(
        &self,
        id: &str,
        lease_id: &str,
        code: &str,
        message: &str,
        worker: &str,
    ) -> Result<Completion, Error> {
        crate::trace::span!(
            "inferwarden::lifecycle",
            "task_store",
            op = "fail",
            task_id = id
        );
        self.store
            .fail(id, lease_id, code, message, &format!("worker:{worker}"))
    }

    /// One sweep; every stale transition is audited (task id, type, runtime, TTL, sweep id).
    pub fn sweep(&self) -> Result<SweepReport, Error> {
        crate::trace::span!("inferwarden::lifecycle", "sweep");
        let watch = crate::metrics::Stopwatch::start();
        let mut store_failed = false;
        let result = self.sweep_unrecorded(&mut store_failed);
        let label = match (&result, store_failed) {
            (Ok(_), _) => "ok",
            (Err(_), true) => "store_error",
            (Err(_), false) => "audit_error",
        };
        let reasons = result
            .iter()
            .flat_map(|r| r.failed.iter().map(|t| t.reason.as_str()));
        crate::metrics::record_sweep(label, watch.elapsed(), reasons, self.current_batch());
        #[cfg(feature = "tracing")]
        match &result {
            Ok(r) => tracing::info!(
                target: "inferwarden::lifecycle",
                sweep_id = %r.sweep_id,
                failed = r.failed.len(),
                batches = r.batches,
                elapsed_ms = watch.elapsed().as_millis() as u64,
                "sweep finished"
            ),
            Err(e) => tracing::warn!(
                target: "inferwarden::lifecycle",
                result = label,
                code = e.code_str(),
                next_batch = self.current_batch(),
                "sweep failed"
            ),
        }
        result
    }

    fn sweep_unrecorded(&self, store_failed: &mut bool) -> Result<SweepReport, Error> {
        let sweep_id = new_sweep_id();
        // Fail closed: a sweep the audit log cannot record is not run.
        self.audit(
            &format!("sweeper:{sweep_id}"),
            "sweep_started",
            "tasks",
            Outcome::Success,
            &[("batch", self.current_batch().into())],
        )?;
        let policy = SweepPolicy {
            pending_timeout_ms: self.pending_timeout_ms,
            heartbeat_timeout_ms: self.heartbeat_timeout_ms,
            batch: self.current_batch(),
        };
        let report = match self.store.sweep(&sweep_id, &policy) {
            Ok(report) => {
                let grown = policy.batch.saturating_mul(2).min(self.max_batch);
                self.batch.store(grown, Ordering::SeqCst);
                report
            }
            Err(e) => {
                *store_failed = true;
                self.batch
                    .store((policy.batch / 2).max(1), Ordering::SeqCst);
                crate::metrics::record_batch_halved();
                return Err(e);
            }
        };
        for t in &report.failed {
            self.audit(
                &format!("sweeper:{sweep_id}"),
                "stale_transition",
                &t.task_id,
                Outcome::Success,
                &[
                    ("task_type", t.task_type.clone().into()),
                    ("reason", t.reason.clone().into()),
                    ("runtime_ms", t.runtime_ms.into()),
                    ("ttl_ms", t.ttl_ms.into()),
                    ("sweep_id", sweep_id.clone().into()),
                    ("task_id", t.task_id.clone().into()),
                    ("swept_at", report.swept_at.into()),
                ],
            )?;
        }
        Ok(report)
    }

    /// Reads a task.
    pub fn get(&self, id: &str) -> Result<Option<TaskRecord>, Error> {
        crate::trace::span!(
            "inferwarden::lifecycle",
            "task_store",
            op = "get",
            task_id = id
        );
        self.store.get(id)
    }

    /// A task's transitions.
    pub fn transitions(&self, id: &str) -> Result<Vec<TransitionRecord>, Error> {
        crate::trace::span!(
            "inferwarden::lifecycle",
            "task_store",
            op = "transitions",
            task_id = id
        );
        self.store.transitions(id)
    }

    /// Sweeps every configured interval until `stop` is set, calling `on_report` after each
    /// sweep (errors are reported too, and the loop backs off to twice the interval).
    pub fn run_sweeper(
        &self,
        stop: &AtomicBool,
        mut on_report: impl FnMut(Result<SweepReport, Error>),
    ) {
        let mut wait = Duration::ZERO;
        while !stop.load(Ordering::SeqCst) {
            let step = Duration::from_millis(50);
            let mut slept = Duration::ZERO;
            while slept < wait && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(step);
                slept += step;
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let result = self.sweep();
            let maintained = self.maintain_audit();
            wait = if result.is_ok() && maintained.is_ok() {
                self.interval
            } else {
                self.interval * 2
            };
            on_report(result);
            if let Err(e) = maintained {
                on_report(Err(e));
            }
        }
    }
}

#[cfg(feature = "tokio")]
impl Lifecycle {
    /// The sweeper as a tokio service: a sweep every configured interval (the first one
    /// immediately) on the blocking pool, until `shutdown` resolves; after an error the next
    /// sweep waits an extra interval. Safe to run on every replica.
    pub async fn run_sweeper_async<F>(
        self,
        shutdown: F,
        mut on_report: impl FnMut(Result<SweepReport, Error>) + Send,
    ) where
        F: std::future::Future<Output = ()> + Send,
    {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = ticks.tick() => {}
            }
            let life = self.clone();
            let outcome =
                tokio::task::spawn_blocking(move || (life.sweep(), life.maintain_audit()));
            let (result, maintained) = match outcome.await {
                Ok(pair) => pair,
                Err(_) => (
                    Err(Error::with_detail(
                        ErrorCode::InternalError,
                        "the sweep task panicked",
                    )),
                    Ok(None),
                ),
            };
            let failed = result.is_err() || maintained.is_err();
            on_report(result);
            if let Err(e) = maintained {
                on_report(Err(e));
            }
            if failed {
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(self.interval) => {}
                }
            }
        }
    }
}
