//! The lifecycle service: TTLs from the one configuration, task ids validated, stale and
//! late-completion events written to the audit sink, and a sweeper loop that is safe with any
//! number of replicas (correctness comes from the conditional writes alone).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::model::{Claim, Completion, SweepReport, TaskRecord, TransitionRecord};
use super::store::TaskStore;
use crate::audit::{AuditEvent, AuditFields, AuditSink, Outcome};
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
    batch: u32,
    interval: Duration,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
}

fn secs_ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}

fn new_sweep_id() -> String {
    let mut b = [0u8; 6];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Lifecycle {
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
            batch: config.stale.sweep_batch_size,
            interval: Duration::from_secs(config.stale.sweep_interval_s),
            audit,
            clock,
        }
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
        self.store.create(id, task_type, "api")
    }

    /// `pending -> processing` for `worker`; unknown task types are refused.
    pub fn claim(&self, id: &str, worker: &str) -> Result<Claim, Error> {
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
        self.store.report_progress(id, lease_id, progress)
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
        self.store
            .fail(id, lease_id, code, message, &format!("worker:{worker}"))
    }

    /// One sweep; every stale transition is audited (task id, type, runtime, TTL, sweep id).
    pub fn sweep(&self) -> Result<SweepReport, Error> {
        let sweep_id = new_sweep_id();
        let report = self
            .store
            .sweep(&sweep_id, self.pending_timeout_ms, self.batch)?;
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
                    ("swept_at", report.swept_at.into()),
                ],
            )?;
        }
        Ok(report)
    }

    /// Reads a task.
    pub fn get(&self, id: &str) -> Result<Option<TaskRecord>, Error> {
        self.store.get(id)
    }

    /// A task's transitions.
    pub fn transitions(&self, id: &str) -> Result<Vec<TransitionRecord>, Error> {
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
            wait = if result.is_ok() {
                self.interval
            } else {
                self.interval * 2
            };
            on_report(result);
        }
    }
}
