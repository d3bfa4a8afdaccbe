//! The live contract smoke runner (feature `smoke`): a platform's release gate, run before
//! and after every deploy and after a rollback. It checks over real HTTP what the platform
//! must never get wrong — credential precedence, sessions and their cookies, the admin
//! boundary, CORS, the throttle, hostile remote task ids, one generation's lifecycle, audit
//! visibility, the error envelope of every error response and that no response ever carries
//! a key — and reports each check as pass, fail or skipped with its reason
//! ([`SmokeReport`]: text, JSON, JUnit XML). A skipped check is a failure of a release run.
//!
//! The routes it exercises are the gate's defaults: `GET /health`, `POST|GET|DELETE
//! /auth/session`, `POST|DELETE /admin/session`, `GET /admin/accounts` (any admin route),
//! `GET /admin/audit` (a JSON list of audit events, or `{"events": [...]}`),
//! `GET /status/{id}`, `GET /results/{id}`, `GET /preview/{id}`, `POST /generate`.

mod checks;
mod http;
mod options;
mod report;

pub use checks::Progress;
pub use options::{key_from, SmokeOptions, HOSTILE_TASK_IDS};
pub use report::{CheckResult, CheckStatus, SmokeReport};

/// Runs every check against `options.base_url`; `progress` receives a line while long
/// checks poll.
pub async fn run(options: &SmokeOptions, progress: &Progress) -> SmokeReport {
    let checks = match checks::Run::new(options, progress) {
        Ok(run) => run.all().await,
        Err(why) => vec![CheckResult {
            id: "setup".to_owned(),
            title: "the runner could start".to_owned(),
            status: CheckStatus::Fail,
            detail: why,
            duration_ms: 0,
        }],
    };
    SmokeReport::new(&options.base_url, &options.run_id, options.release, checks)
}
