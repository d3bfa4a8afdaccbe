//! The task lifecycle as a JS class. Refused reports throw `invalid_transition` with
//! `metadata.outcome`.

use std::sync::Arc;

use inferwarden::audit::AuditHandle;
use inferwarden::clock::{Clock, SystemClock};
use inferwarden::error::to_json_value;
use inferwarden::lifecycle::Lifecycle as CoreLifecycle;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::config::PolicyConfig;
use crate::errors::guard;
use crate::gate::ManualClock;

/// Task lifecycle over a store (`sqlite:PATH`) with the stale policy of a `PolicyConfig`.
#[napi]
pub struct Lifecycle {
    inner: CoreLifecycle,
    audit: AuditHandle,
}

#[napi]
impl Lifecycle {
    /// Opens the store at `db`; `clock` injects time for tests (default: the database clock);
    /// `audit`: a store URL or an `AuditLog` (default: `config.audit.store`), a durable one
    /// maintained by `maintainAudit()` (retention, scheduled checkpoints).
    #[napi(constructor)]
    pub fn new(
        env: Env,
        config: &PolicyConfig,
        db: String,
        clock: Option<&ManualClock>,
        audit: Option<Either<String, &crate::audit::AuditLog>>,
    ) -> napi::Result<Self> {
        let clock: Option<Arc<dyn Clock>> = clock.map(|c| Arc::new(c.core().clone()) as _);
        let audit_clock = clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
        let audit = guard(&env, || {
            crate::audit::audit_handle(audit, config.inner(), audit_clock)
        })?;
        let inner = guard(&env, || {
            CoreLifecycle::open(config.inner(), &db, clock, &audit)
        })?;
        Ok(Lifecycle { inner, audit })
    }

    /// Creates a `pending` task.
    #[napi]
    pub fn create(
        &self,
        env: Env,
        task_id: String,
        task_type: String,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            to_json_value(&self.inner.create(&task_id, &task_type)?)
        })
    }

    /// `pending -> processing`: `{ lease_id, started_at, stale_deadline, ttl_ms, attempt }`.
    #[napi]
    pub fn claim(
        &self,
        env: Env,
        task_id: String,
        worker: String,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            to_json_value(&self.inner.claim(&task_id, &worker)?)
        })
    }

    /// Progress 0..=100 under the lease (also a heartbeat; never extends the deadline);
    /// throws `invalid_transition` when refused.
    #[napi]
    pub fn report_progress(
        &self,
        env: Env,
        task_id: String,
        lease_id: String,
        progress: u32,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            // Type conversion only: core clamps progress to 0..=100.
            let progress = u8::try_from(progress).unwrap_or(u8::MAX);
            to_json_value(
                &self
                    .inner
                    .report_progress(&task_id, &lease_id, progress)?
                    .into_result()?,
            )
        })
    }

    /// A heartbeat under the lease (refreshes `heartbeat_at`, never the deadline); throws
    /// `invalid_transition` when refused.
    #[napi]
    pub fn heartbeat(
        &self,
        env: Env,
        task_id: String,
        lease_id: String,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            to_json_value(&self.inner.heartbeat(&task_id, &lease_id)?.into_result()?)
        })
    }

    /// `processing -> done`; throws `invalid_transition` (with `metadata.outcome`) when refused.
    #[napi]
    pub fn complete(
        &self,
        env: Env,
        task_id: String,
        lease_id: String,
        result_path: String,
        worker: String,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            to_json_value(
                &self
                    .inner
                    .complete(&task_id, &lease_id, &result_path, &worker)?
                    .into_result()?,
            )
        })
    }

    /// `processing -> failed`; throws `invalid_transition` when refused.
    #[napi]
    pub fn fail(
        &self,
        env: Env,
        task_id: String,
        lease_id: String,
        code: String,
        message: String,
        worker: String,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            to_json_value(
                &self
                    .inner
                    .fail(&task_id, &lease_id, &code, &message, &worker)?
                    .into_result()?,
            )
        })
    }

    /// One sweep: `{ sweep_id, swept_at, failed, batches }`.
    #[napi]
    pub fn sweep(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || to_json_value(&self.inner.sweep()?))
    }

    /// The task, or `null`.
    #[napi]
    pub fn get(&self, env: Env, task_id: String) -> napi::Result<serde_json::Value> {
        guard(&env, || to_json_value(&self.inner.get(&task_id)?))
    }

    /// The task's transitions, oldest first.
    #[napi]
    pub fn transitions(&self, env: Env, task_id: String) -> napi::Result<serde_json::Value> {
        guard(&env, || to_json_value(&self.inner.transitions(&task_id)?))
    }

    /// The newest audit events (up to 10,000), oldest first.
    #[napi]
    pub fn audit_events(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            Ok(serde_json::Value::Array(self.audit.recent_json(10_000)?))
        })
    }

    /// The sweeper's audit maintenance (retention, a due checkpoint); `null` without a
    /// durable log.
    #[napi]
    pub fn maintain_audit(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || to_json_value(&self.inner.maintain_audit()?))
    }
}
