//! Whole-configuration validation. Each rule names the field it is about; rules that relate
//! fields (a stale TTL shorter than the worker timeout it guards) are checked here, after
//! every source has been merged.

use serde::Serialize;

use super::sections::{PolicyConfig, RateLimit, RouteTimeouts, SameSite};
use crate::error::Error;

/// One problem with the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigIssue {
    /// Dotted path of the field (or the environment variable) at fault.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// Errors (the config is unusable) and warnings (usable, but a surface fails closed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ValidationReport {
    /// Problems that make the configuration invalid.
    pub errors: Vec<ConfigIssue>,
    /// Problems that make part of the platform fail closed at run time.
    pub warnings: Vec<ConfigIssue>,
}

impl ValidationReport {
    fn error(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigIssue {
            field: field.into(),
            message: message.into(),
        });
    }

    fn warn(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigIssue {
            field: field.into(),
            message: message.into(),
        });
    }

    /// Whether there are no errors.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// `Ok(())` when valid, else a `config_invalid` error listing every issue.
    pub fn into_result(self) -> Result<(), Error> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let summary = self
            .errors
            .iter()
            .map(|i| format!("{}: {}", i.field, i.message))
            .collect::<Vec<_>>()
            .join("; ");
        let issues: Vec<serde_json::Value> = self
            .errors
            .iter()
            .map(|i| serde_json::json!({"field": i.field, "message": i.message}))
            .collect();
        Err(Error::with_detail(
            crate::error::ErrorCode::ConfigInvalid,
            format!("invalid configuration: {summary}"),
        )
        .meta("issues", serde_json::Value::Array(issues)))
    }
}

fn check_rate_limit(report: &mut ValidationReport, field: &str, rl: &RateLimit) {
    if rl.limit == 0 {
        report.error(format!("{field}.limit"), "must be at least 1");
    }
    if rl.window_s == 0 {
        report.error(format!("{field}.window_s"), "must be at least 1 second");
    }
}

fn check_timeouts(report: &mut ValidationReport, field: &str, t: &RouteTimeouts) {
    for (name, v) in [("connect_s", t.connect_s), ("read_s", t.read_s)] {
        if !(v.is_finite() && v > 0.0 && v <= 3600.0) {
            report.error(
                format!("{field}.{name}"),
                "must be a number of seconds in (0, 3600]",
            );
        }
    }
}

/// Checks an origin is exactly `scheme://host[:port]` with an http(s) scheme.
fn origin_problem(origin: &str) -> Option<&'static str> {
    if origin == "*" || origin.contains('*') {
        return Some("wildcard origins are never allowed with credentials");
    }
    if origin.eq_ignore_ascii_case("null") {
        return Some("the `null` origin is never allowed");
    }
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Some("must start with https:// or http://");
    };
    if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ', ',']) {
        return Some("must be scheme://host[:port] with no path, query, userinfo or list");
    }
    if rest.bytes().any(|b| b.is_ascii_uppercase()) {
        return Some("host must be lowercase (origins are compared exactly)");
    }
    None
}

impl PolicyConfig {
    /// Validates the configuration as a whole.
    pub fn validate(&self) -> ValidationReport {
        let mut r = ValidationReport::default();
        if self.environment.trim().is_empty() {
            r.error("environment", "must not be empty");
        }

        // auth
        if self.auth.api_keys.iter().any(|k| k.is_empty()) {
            r.error("auth.api_keys", "contains an empty key");
        }
        if self.auth.api_keys.is_empty()
            && !(self.auth.allow_anonymous_dev && self.is_dev_environment())
        {
            r.warn(
                "auth.api_keys",
                "no API key configured: generation routes fail closed with server_misconfigured",
            );
        }
        if self.auth.allow_anonymous_dev && !self.is_dev_environment() {
            r.warn(
                "auth.allow_anonymous_dev",
                "ignored outside a dev environment (local, dev, development, test)",
            );
        }
        match &self.auth.admin_key {
            None => r.warn(
                "auth.admin_key",
                "not configured: admin routes fail closed with admin_misconfigured",
            ),
            Some(k) if k.len() < self.auth.admin_key_min_len => r.warn(
                "auth.admin_key",
                format!(
                    "shorter than {} characters: admin routes fail closed",
                    self.auth.admin_key_min_len
                ),
            ),
            Some(_) => {}
        }
        if self.auth.admin_key_min_len < 16 {
            r.error("auth.admin_key_min_len", "may not be lowered below 16");
        }

        // sessions
        let s = &self.sessions;
        if s.generation_lifetime_s == 0 {
            r.error(
                "sessions.generation_lifetime_s",
                "must be at least 1 second",
            );
        }
        if s.admin_idle_timeout_s == 0 {
            r.error("sessions.admin_idle_timeout_s", "must be at least 1 second");
        }
        if s.admin_idle_timeout_s > s.admin_absolute_lifetime_s {
            r.error(
                "sessions.admin_idle_timeout_s",
                "must not exceed sessions.admin_absolute_lifetime_s",
            );
        }
        if s.cookie_name.is_empty()
            || s.admin_cookie_name.is_empty()
            || s.cookie_name == s.admin_cookie_name
        {
            r.error(
                "sessions.admin_cookie_name",
                "cookie names must be non-empty and distinct",
            );
        }
        if s.same_site == SameSite::None && !s.secure {
            r.error("sessions.same_site", "SameSite=None requires secure = true");
        }

        // rate limits
        check_rate_limit(
            &mut r,
            "rate_limits.auth_session",
            &self.rate_limits.auth_session,
        );
        check_rate_limit(
            &mut r,
            "rate_limits.admin_bootstrap",
            &self.rate_limits.admin_bootstrap,
        );
        check_rate_limit(&mut r, "rate_limits.admin", &self.rate_limits.admin);

        // cors
        for (i, origin) in self.cors.frontend_origins.iter().enumerate() {
            if let Some(problem) = origin_problem(origin) {
                r.error(format!("cors.frontend_origins[{i}]"), problem);
            }
        }

        // proxy
        let p = &self.proxy;
        for (name, t) in [
            ("status", &p.status),
            ("results", &p.results),
            ("preview", &p.preview),
            ("generate", &p.generate),
            ("gallery", &p.gallery),
        ] {
            check_timeouts(&mut r, &format!("proxy.{name}"), t);
        }
        if !(1..=10).contains(&p.max_attempts) {
            r.error("proxy.max_attempts", "must be between 1 and 10");
        }
        if let Some(bad) = p.retry_statuses.iter().find(|s| !(400..=599).contains(*s)) {
            r.error(
                "proxy.retry_statuses",
                format!("{bad} is not an HTTP error status"),
            );
        }

        if crate::store_url::StoreUrl::parse(&p.registry).is_none_or(|u| {
            matches!(
                u,
                crate::store_url::StoreUrl::AllowAll | crate::store_url::StoreUrl::Redis(_)
            )
        }) {
            r.error(
                "proxy.registry",
                "must be memory, sqlite:PATH or postgres://...",
            );
        }
        let policy = p.target_policy();
        let mut seen = std::collections::BTreeSet::new();
        for (i, w) in p.workspaces.iter().enumerate() {
            let field = format!("proxy.workspaces[{i}]");
            if !seen.insert(w.workspace.as_str()) {
                r.error(
                    field.clone(),
                    format!("workspace {:?} is declared twice", w.workspace),
                );
            }
            let entry =
                crate::workspace::WorkspaceStatus::from_name(&w.status).and_then(|status| {
                    crate::workspace::WorkspaceEntry::validated(
                        &w.workspace,
                        &w.base_url,
                        status,
                        &w.credential_ref,
                        &policy,
                        w.allow_private,
                    )
                });
            if let Err(e) = entry {
                r.error(field, e.detail().to_owned());
            }
        }

        // stale vs worker timeouts
        let st = &self.stale;
        if st.processing_ttl_s.is_empty() {
            r.error(
                "stale.processing_ttl_s",
                "must define at least one task type",
            );
        }
        for (task_type, ttl) in &st.processing_ttl_s {
            if *ttl == 0 {
                r.error(
                    format!("stale.processing_ttl_s.{task_type}"),
                    "must be at least 1 second",
                );
            }
        }
        if st.pending_start_timeout_s == 0 {
            r.error("stale.pending_start_timeout_s", "must be at least 1 second");
        }
        if st.sweep_interval_s == 0 {
            r.error("stale.sweep_interval_s", "must be at least 1 second");
        }
        if st.sweep_batch_size == 0 {
            r.error("stale.sweep_batch_size", "must be at least 1");
        }
        if st.heartbeat_timeout_s > 0 {
            if let Some((task_type, ttl)) = st
                .processing_ttl_s
                .iter()
                .find(|(_, ttl)| **ttl <= st.heartbeat_timeout_s)
            {
                r.error(
                    "stale.heartbeat_timeout_s",
                    format!(
                        "must be shorter than every processing TTL ({task_type} is {ttl} s); 0 disables it"
                    ),
                );
            }
        }
        for (lane_name, lane) in &self.workers.lanes {
            let lane_field = format!("workers.lanes.{lane_name}");
            match st.processing_ttl_s.get(&lane.task_type) {
                None => r.error(
                    format!("{lane_field}.task_type"),
                    format!("task type `{}` has no stale.processing_ttl_s entry", lane.task_type),
                ),
                Some(ttl) if *ttl < lane.timeout_s => r.error(
                    format!("stale.processing_ttl_s.{}", lane.task_type),
                    format!(
                        "{ttl} s is shorter than the {} s timeout of worker lane `{lane_name}`: tasks still running would be failed",
                        lane.timeout_s
                    ),
                ),
                Some(_) => {}
            }
            if lane.timeout_s == 0 {
                r.error(
                    format!("{lane_field}.timeout_s"),
                    "must be at least 1 second",
                );
            }
            if lane.max_containers == 0 || lane.min_containers > lane.max_containers {
                r.error(
                    format!("{lane_field}.min_containers"),
                    "must be <= max_containers, and max_containers >= 1",
                );
            }
            if lane.concurrency == 0 {
                r.error(format!("{lane_field}.concurrency"), "must be at least 1");
            }
        }

        // queue
        let q = &self.queue;
        if q.degraded_max_depth == 0 {
            r.error("queue.degraded_max_depth", "must be at least 1");
        }
        if q.degraded_max_wait_s == 0 {
            r.error("queue.degraded_max_wait_s", "must be at least 1 second");
        }
        if !matches!(
            crate::store_url::StoreUrl::parse(&q.backend),
            Some(crate::store_url::StoreUrl::Memory | crate::store_url::StoreUrl::Redis(_))
        ) {
            r.error("queue.backend", "must be memory or redis://...");
        }

        // audit
        let a = &self.audit;
        if !matches!(
            crate::store_url::StoreUrl::parse(&a.store),
            Some(
                crate::store_url::StoreUrl::Memory
                    | crate::store_url::StoreUrl::Sqlite(_)
                    | crate::store_url::StoreUrl::Postgres(_)
            )
        ) {
            r.error(
                "audit.store",
                "must be memory, sqlite:PATH or postgres://...",
            );
        }
        if a.memory_capacity == 0 {
            r.error("audit.memory_capacity", "must be at least 1");
        }
        if a.retention_days < super::MIN_RETENTION_DAYS {
            r.error(
                "audit.retention_days",
                format!("must be at least {} days", super::MIN_RETENTION_DAYS),
            );
        }
        if a.batch_size == 0 {
            r.error("audit.batch_size", "must be at least 1");
        }
        if a.max_wait_ms > 1000 {
            r.error(
                "audit.max_wait_ms",
                "must be at most 1000 (an action waits for it)",
            );
        }
        if a.checkpoint_origin.trim().is_empty() || a.checkpoint_origin.contains('\n') {
            r.error("audit.checkpoint_origin", "must be one non-empty line");
        }
        if a.checkpoint_interval_s == 0 {
            r.error("audit.checkpoint_interval_s", "must be at least 1 second");
        }
        for (i, field) in a.hmac_fields.iter().enumerate() {
            if let Err(message) = super::check_hmac_field(field) {
                r.error(format!("audit.hmac_fields[{i}]"), message);
            }
        }

        // gpu
        let g = &self.gpu;
        if !(g.green_min_mib > g.yellow_min_mib && g.yellow_min_mib > g.orange_min_mib) {
            r.error(
                "gpu.green_min_mib",
                "levels must be strictly decreasing: green > yellow > orange",
            );
        }
        if g.default_budget_gb == 0 || g.budget_gb.values().any(|v| *v == 0) {
            r.error("gpu.budget_gb", "budgets must be at least 1 GB");
        }
        r
    }
}
