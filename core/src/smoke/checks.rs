//! The checks, in run order. Each one states a rule of the platform contract, sends the
//! requests that exercise it, and passes, fails (naming what it saw) or skips (naming what
//! it lacked). The throttle check runs after everything else that opens sessions, and the
//! error-contract and secret-canary checks run last, over every response of the run.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::http::{Http, Response};
use super::options::{SmokeOptions, HOSTILE_TASK_IDS};
use super::report::{CheckResult, CheckStatus};
use crate::audit::AUDIT_MANDATORY_FIELDS;
use crate::error::ErrorCode;
use crate::lifecycle::TaskStatus;
use crate::routing::encode_path_segment as encode_segment;

/// A local id that exists nowhere: with an accepted credential the answer is
/// `404 task_not_found`, so the status tells whether the credential passed the gate.
const PROBE: &str = "/status/smoke-probe-does-not-exist";

type Outcome = (CheckStatus, String);

fn pass(detail: impl Into<String>) -> Outcome {
    (CheckStatus::Pass, detail.into())
}

fn fail(detail: impl Into<String>) -> Outcome {
    (CheckStatus::Fail, detail.into())
}

fn skip(detail: impl Into<String>) -> Outcome {
    (CheckStatus::Skipped, detail.into())
}

/// Called with a line while long checks poll.
pub type Progress = dyn Fn(&str) + Send + Sync;

/// One run's state.
pub struct Run<'a> {
    http: Http,
    options: &'a SmokeOptions,
    progress: &'a Progress,
    results: Vec<CheckResult>,
    session: Option<String>,
    revoked_session: Option<String>,
    signed_media_url: Option<String>,
}

fn expect_code(r: &Response, status: u16, codes: &[&str]) -> Outcome {
    expect_refusal(r, &[status], codes)
}

/// Passes when the response has one of `statuses` and one of `codes`.
fn expect_refusal(r: &Response, statuses: &[u16], codes: &[&str]) -> Outcome {
    let code = r.code().unwrap_or_default();
    if statuses.contains(&r.status) && codes.contains(&code.as_str()) {
        pass(format!("{} -> {}", r.request, r.summary()))
    } else {
        let statuses: Vec<String> = statuses.iter().map(u16::to_string).collect();
        fail(format!(
            "{} -> {}, expected {} {}",
            r.request,
            r.summary(),
            statuses.join("/"),
            codes.join(" or ")
        ))
    }
}

fn accepted(r: &Response) -> Outcome {
    // The probe id does not exist: a credential that passed the gate meets `task_not_found`.
    if (200..300).contains(&r.status) || r.code().as_deref() == Some("task_not_found") {
        pass(format!(
            "{} -> {} (credential accepted)",
            r.request,
            r.summary()
        ))
    } else {
        fail(format!(
            "{} -> {}, expected the credential to be accepted",
            r.request,
            r.summary()
        ))
    }
}

impl<'a> Run<'a> {
    /// A run with `options`.
    pub fn new(options: &'a SmokeOptions, progress: &'a Progress) -> Result<Self, String> {
        let p = options.poll_timeout_s;
        if !(p.is_finite() && p > 0.0 && p <= 86_400.0) {
            return Err("the poll timeout must be between 0 and 86400 seconds".to_owned());
        }
        Ok(Run {
            http: Http::new(
                &options.base_url,
                &options.run_id,
                options.request_timeout_s,
            )?,
            options,
            progress,
            results: Vec::new(),
            session: None,
            revoked_session: None,
            signed_media_url: None,
        })
    }

    fn record(&mut self, id: &str, title: &str, started: Instant, outcome: Outcome) {
        self.results.push(CheckResult {
            id: id.to_owned(),
            title: title.to_owned(),
            status: outcome.0,
            detail: outcome.1,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
        self.http.send("GET", path, headers, None).await
    }

    /// Runs every check and returns the results.
    pub async fn all(mut self) -> Vec<CheckResult> {
        let t = Instant::now();
        let o = self.health().await.unwrap_or_else(fail);
        self.record("health", "GET /health answers 200", t, o);

        let key = self.options.api_key.as_ref().map(|k| k.expose().to_owned());
        let no_key = || skip("no API key given (--api-key-env)");

        macro_rules! check {
            ($id:literal, $title:literal, $body:expr) => {{
                let t = Instant::now();
                let o = $body;
                self.record($id, $title, t, o);
            }};
        }

        check!(
            "credential_valid_header",
            "a valid X-API-Key passes the gate",
            match &key {
                Some(k) => self
                    .get(PROBE, &[("x-api-key", k)])
                    .await
                    .map(|r| accepted(&r))
                    .unwrap_or_else(fail),
                None => no_key(),
            }
        );
        check!(
            "credential_no_credential",
            "no credential at all -> 401 session_required",
            self.get(PROBE, &[])
                .await
                .map(|r| expect_code(&r, 401, &["session_required"]))
                .unwrap_or_else(fail)
        );
        check!(
            "session_round_trip",
            "POST/GET/DELETE /auth/session: issue, check, revoke",
            match &key {
                Some(k) => self.session_round_trip(k).await.unwrap_or_else(fail),
                None => no_key(),
            }
        );
        check!(
            "session_cookie_attributes",
            "the session cookie is HttpOnly, Secure and SameSite",
            match &key {
                Some(k) => self.cookie_attributes(k).await.unwrap_or_else(fail),
                None => no_key(),
            }
        );
        check!(
            "credential_wrong_header_with_session",
            "a wrong X-API-Key beside a valid session cookie -> 403 invalid_api_key",
            match self.session.clone() {
                Some(c) => self
                    .get(
                        PROBE,
                        &[
                            ("x-api-key", "smoke-wrong-key-0000000000000000"),
                            ("cookie", &c)
                        ]
                    )
                    .await
                    .map(|r| expect_code(&r, 403, &["invalid_api_key"]))
                    .unwrap_or_else(fail),
                None => skip("no session was issued"),
            }
        );
        check!(
            "credential_revoked_session",
            "a revoked session cookie -> 401 session_expired",
            match self.revoked_session.clone() {
                Some(c) => self
                    .get(PROBE, &[("cookie", &c)])
                    .await
                    .map(|r| expect_code(&r, 401, &["session_expired"]))
                    .unwrap_or_else(fail),
                None => skip("no session was revoked"),
            }
        );
        check!(
            "credential_unknown_session",
            "an unknown session cookie -> 401 session_invalid",
            {
                let name = self
                    .session
                    .as_deref()
                    .and_then(|c| c.split('=').next())
                    .unwrap_or("gg_session")
                    .to_owned();
                let cookie = format!("{name}=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
                self.get(PROBE, &[("cookie", &cookie)])
                    .await
                    .map(|r| expect_code(&r, 401, &["session_invalid"]))
                    .unwrap_or_else(fail)
            }
        );

        let admin = self
            .options
            .admin_key
            .as_ref()
            .map(|k| k.expose().to_owned());
        let no_admin = || skip("no admin key given (--admin-key-env)");
        check!(
            "admin_key_outside_bootstrap",
            "x-admin-key on a non-bootstrap admin route is refused",
            match &admin {
                Some(a) => self
                    .get("/admin/accounts", &[("x-admin-key", a)])
                    .await
                    .map(|r| expect_refusal(
                        &r,
                        &[401, 403],
                        &["admin_key_invalid", "admin_session_required"]
                    ))
                    .unwrap_or_else(fail),
                None => no_admin(),
            }
        );
        check!(
            "admin_key_in_query",
            "an admin key in the query string is refused",
            match &admin {
                Some(a) => {
                    let path = format!("/admin/session?admin_key={}", encode_segment(a));
                    self.http
                        .send("POST", &path, &[], None)
                        .await
                        .map(|r| expect_refusal(&r, &[401, 403], &["admin_key_invalid"]))
                        .unwrap_or_else(fail)
                }
                None => no_admin(),
            }
        );
        check!(
            "admin_session_round_trip",
            "POST /admin/session, an admin route, DELETE /admin/session",
            match &admin {
                Some(a) => self.admin_round_trip(a).await.unwrap_or_else(fail),
                None => no_admin(),
            }
        );

        check!(
            "cors_allowed_origin",
            "an allowed origin gets exact ACAO, ACAC and Vary: Origin",
            match (&key, &self.options.allowed_origin) {
                (Some(k), Some(origin)) => self.cors_allowed(k, origin).await.unwrap_or_else(fail),
                (None, _) => no_key(),
                (_, None) => skip("no allowed origin given (--allowed-origin)"),
            }
        );
        check!(
            "cors_denied_origin",
            "a denied origin -> 403 cors_origin_blocked without ACAO",
            match (&key, &self.options.denied_origin) {
                (Some(k), Some(origin)) => self.cors_denied(k, origin).await.unwrap_or_else(fail),
                (None, _) => no_key(),
                (_, None) => skip("no denied origin given (--denied-origin)"),
            }
        );
        check!(
            "remote_task_ids",
            "hostile workspace::id values -> proxy_target_invalid, task_not_found or validation_error, never 5xx",
            match &key {
                Some(k) => self.remote_ids(k).await.unwrap_or_else(fail),
                None => no_key(),
            }
        );
        check!(
            "generation_lifecycle",
            "one image task: legal status path, result and preview media",
            match (&key, &self.options.generation) {
                (Some(k), Some(payload)) => self.generation(k, payload).await.unwrap_or_else(fail),
                (None, _) => no_key(),
                (_, None) => skip("opt-in (--generation): it spends GPU time"),
            }
        );
        check!(
            "signed_media_url",
            "a signed media URL is accepted without credentials; a tampered one is refused",
            match self.signed_media_url.clone() {
                Some(url) => self.signed_media(&url).await.unwrap_or_else(fail),
                None => skip("no signed media URL (the generation check provides one)"),
            }
        );
        check!(
            "audit_visibility",
            "the admin audit log holds this run's admin actions with every mandatory field",
            match &admin {
                Some(a) => self.audit(a).await.unwrap_or_else(fail),
                None => no_admin(),
            }
        );
        check!(
            "rate_limit",
            "the (N+1)th POST /auth/session in a window -> 429 rate_limited with Retry-After",
            match self.options.rate_limit {
                Some(n) => self.rate_limit(n).await.unwrap_or_else(fail),
                None => skip("opt-in (--rate-limit N): it spends the auth quota"),
            }
        );
        check!("error_contract", "every error response is the {code, detail, user_action, metadata?} envelope with its code's status", self.error_contract());
        check!(
            "secret_canary",
            "no response body or header contains the API or admin key",
            self.canary()
        );
        self.results
    }

    async fn health(&self) -> Result<Outcome, String> {
        let r = self.get("/health", &[]).await?;
        Ok(if r.status == 200 {
            pass("GET /health -> 200")
        } else {
            fail(format!("GET /health -> {}", r.summary()))
        })
    }

    async fn issue_session(&self, key: &str) -> Result<(Response, Option<String>), String> {
        let r = self
            .http
            .send("POST", "/auth/session", &[("x-api-key", key)], None)
            .await?;
        let cookie = r.cookie_pair();
        Ok((r, cookie))
    }

    async fn session_round_trip(&mut self, key: &str) -> Result<Outcome, String> {
        let (r, cookie) = self.issue_session(key).await?;
        let Some(cookie) = cookie.filter(|_| (200..300).contains(&r.status)) else {
            return Ok(fail(format!(
                "POST /auth/session -> {} without a session cookie",
                r.summary()
            )));
        };
        self.session = Some(cookie.clone());
        let check = self.get("/auth/session", &[("cookie", &cookie)]).await?;
        if !(200..300).contains(&check.status) {
            return Ok(fail(format!(
                "GET /auth/session with the new cookie -> {}",
                check.summary()
            )));
        }
        let used = self.get(PROBE, &[("cookie", &cookie)]).await?;
        if accepted(&used).0 != CheckStatus::Pass {
            return Ok(fail(format!(
                "the session cookie was not accepted: {}",
                used.summary()
            )));
        }
        // A second session to revoke, so the first stays usable for the precedence check.
        let (_, doomed) = self.issue_session(key).await?;
        let Some(doomed) = doomed else {
            return Ok(fail("a second POST /auth/session set no cookie"));
        };
        let revoke = self
            .http
            .send("DELETE", "/auth/session", &[("cookie", &doomed)], None)
            .await?;
        if !(200..300).contains(&revoke.status) {
            return Ok(fail(format!(
                "DELETE /auth/session -> {}",
                revoke.summary()
            )));
        }
        self.revoked_session = Some(doomed);
        Ok(pass("issued, checked, used and revoked a session"))
    }

    async fn cookie_attributes(&self, key: &str) -> Result<Outcome, String> {
        let (r, _) = self.issue_session(key).await?;
        let Some(set) = r.header("set-cookie") else {
            return Ok(fail(format!(
                "POST /auth/session -> {} without Set-Cookie",
                r.summary()
            )));
        };
        let attrs: Vec<String> = set
            .split(';')
            .skip(1)
            .map(|a| a.trim().to_ascii_lowercase())
            .collect();
        let has = |name: &str| {
            attrs
                .iter()
                .any(|a| a == name || a.starts_with(&format!("{name}=")))
        };
        let same_site = attrs
            .iter()
            .find_map(|a| a.strip_prefix("samesite="))
            .unwrap_or_default()
            .to_owned();
        let mut missing = Vec::new();
        if !has("httponly") {
            missing.push("HttpOnly");
        }
        if !has("secure") {
            missing.push("Secure");
        }
        if !matches!(same_site.as_str(), "lax" | "strict") {
            missing.push("SameSite=Lax|Strict");
        }
        Ok(if missing.is_empty() {
            pass(format!("HttpOnly; Secure; SameSite={same_site}"))
        } else {
            fail(format!("the session cookie lacks {}", missing.join(", ")))
        })
    }

    async fn admin_session(&self, admin: &str) -> Result<Result<String, Outcome>, String> {
        let r = self
            .http
            .send("POST", "/admin/session", &[("x-admin-key", admin)], None)
            .await?;
        Ok(match r.cookie_pair() {
            Some(c) if (200..300).contains(&r.status) => Ok(c),
            _ => Err(fail(format!(
                "POST /admin/session with x-admin-key -> {} without an admin cookie",
                r.summary()
            ))),
        })
    }

    async fn admin_round_trip(&self, admin: &str) -> Result<Outcome, String> {
        let cookie = match self.admin_session(admin).await? {
            Ok(c) => c,
            Err(o) => return Ok(o),
        };
        let r = self.get("/admin/accounts", &[("cookie", &cookie)]).await?;
        if !(200..300).contains(&r.status) {
            return Ok(fail(format!(
                "GET /admin/accounts with the admin cookie -> {}",
                r.summary()
            )));
        }
        let del = self
            .http
            .send("DELETE", "/admin/session", &[("cookie", &cookie)], None)
            .await?;
        if !(200..300).contains(&del.status) {
            return Ok(fail(format!("DELETE /admin/session -> {}", del.summary())));
        }
        let after = self.get("/admin/accounts", &[("cookie", &cookie)]).await?;
        Ok(if after.status == 401 {
            pass("issued, used and revoked an admin session")
        } else {
            fail(format!(
                "the revoked admin session still works: GET /admin/accounts -> {}",
                after.summary()
            ))
        })
    }

    async fn cors_allowed(&self, key: &str, origin: &str) -> Result<Outcome, String> {
        let r = self
            .get(PROBE, &[("x-api-key", key), ("origin", origin)])
            .await?;
        let acao = r.header("access-control-allow-origin");
        let acac = r.header("access-control-allow-credentials");
        let vary = r.headers_named("vary").iter().any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("origin"))
        });
        Ok(if acao == Some(origin) && acac == Some("true") && vary {
            pass(format!("ACAO {origin}, ACAC true, Vary: Origin"))
        } else {
            fail(format!(
                "origin {origin}: ACAO {acao:?}, ACAC {acac:?}, Vary: Origin {}",
                if vary { "present" } else { "missing" }
            ))
        })
    }

    async fn cors_denied(&self, key: &str, origin: &str) -> Result<Outcome, String> {
        let r = self
            .get(PROBE, &[("x-api-key", key), ("origin", origin)])
            .await?;
        let o = expect_code(&r, 403, &["cors_origin_blocked"]);
        if o.0 != CheckStatus::Pass {
            return Ok(o);
        }
        Ok(match r.header("access-control-allow-origin") {
            Some(v) => fail(format!(
                "the denied origin got Access-Control-Allow-Origin: {v}"
            )),
            None => pass(format!("{origin} -> 403 cors_origin_blocked, no ACAO")),
        })
    }

    async fn remote_ids(&self, key: &str) -> Result<Outcome, String> {
        for id in HOSTILE_TASK_IDS {
            let path = format!("/status/{}", encode_segment(id));
            let r = self.get(&path, &[("x-api-key", key)]).await?;
            let code = r.code().unwrap_or_default();
            if r.status >= 500
                || !(400..500).contains(&r.status)
                || !matches!(
                    code.as_str(),
                    "proxy_target_invalid" | "task_not_found" | "validation_error"
                )
            {
                return Ok(fail(format!(
                    "GET /status/{id:?} -> {}, expected proxy_target_invalid, task_not_found or validation_error (a dot segment)",
                    r.summary()
                )));
            }
        }
        Ok(pass(format!(
            "{} hostile ids refused",
            HOSTILE_TASK_IDS.len()
        )))
    }

    async fn generation(&mut self, key: &str, payload: &Value) -> Result<Outcome, String> {
        let r = self
            .http
            .send("POST", "/generate", &[("x-api-key", key)], Some(payload))
            .await?;
        let task_id = r
            .json()
            .and_then(|v| v.get("task_id").and_then(Value::as_str).map(str::to_owned));
        let Some(task_id) = task_id.filter(|_| (200..300).contains(&r.status)) else {
            return Ok(fail(format!(
                "POST /generate -> {} without a task_id",
                r.summary()
            )));
        };
        let deadline = Instant::now() + Duration::from_secs_f64(self.options.poll_timeout_s);
        let mut path: Vec<TaskStatus> = Vec::new();
        let status_path = format!("/status/{}", encode_segment(&task_id));
        let last = loop {
            let s = self.get(&status_path, &[("x-api-key", key)]).await?;
            let body = s.json().unwrap_or(Value::Null);
            let Some(status) = body
                .get("status")
                .and_then(Value::as_str)
                .and_then(TaskStatus::from_name)
            else {
                return Ok(fail(format!(
                    "GET /status/{task_id} -> {} without a lifecycle status",
                    s.summary()
                )));
            };
            if path.last() != Some(&status) {
                (self.progress)(&format!("generation {task_id}: {}", status.as_str()));
                if let Some(prev) = path.last() {
                    // Polling can miss a short `processing`: the path seen must be
                    // reachable, not a transition each step.
                    if !prev.can_reach(status) {
                        return Ok(fail(format!(
                            "illegal status path {} -> {}",
                            prev.as_str(),
                            status.as_str()
                        )));
                    }
                }
                path.push(status);
            }
            if status.is_terminal() {
                break body;
            }
            if Instant::now() > deadline {
                return Ok(fail(format!(
                    "{task_id} not terminal after {} s (last {})",
                    self.options.poll_timeout_s,
                    status.as_str()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        let seen: Vec<&str> = path.iter().map(|s| s.as_str()).collect();
        if path.last() != Some(&TaskStatus::Done) {
            return Ok(fail(format!(
                "the task ended {} (path {})",
                seen.last().unwrap_or(&"?"),
                seen.join(" -> ")
            )));
        }
        for (route, field) in [("results", "result_url"), ("preview", "preview_url")] {
            let media = self
                .get(
                    &format!("/{route}/{}", encode_segment(&task_id)),
                    &[("x-api-key", key)],
                )
                .await?;
            let ct = media
                .header("content-type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            if media.status != 200 || !(ct.starts_with("image/") || ct.starts_with("video/")) {
                return Ok(fail(format!(
                    "GET /{route}/{task_id} -> {} with content type {ct:?}",
                    media.summary()
                )));
            }
            if route == "results" {
                self.signed_media_url = last
                    .get(field)
                    .and_then(Value::as_str)
                    .filter(|u| u.contains("sig="))
                    .map(str::to_owned);
            }
        }
        Ok(pass(format!(
            "{task_id}: {}; result and preview served as media",
            seen.join(" -> ")
        )))
    }

    async fn signed_media(&self, url: &str) -> Result<Outcome, String> {
        let path = match url.find("://") {
            Some(i) => url[i + 3..].find('/').map_or("/", |p| &url[i + 3 + p..]),
            None => url,
        };
        let ok = self.get(path, &[]).await?;
        if ok.status != 200 {
            return Ok(fail(format!(
                "the signed URL without credentials -> {}",
                ok.summary()
            )));
        }
        // Flip the last character of the signature.
        let mut tampered = path.to_owned();
        if let Some(last) = tampered.pop() {
            tampered.push(if last == 'A' { 'B' } else { 'A' });
        }
        let bad = self.get(&tampered, &[]).await?;
        Ok(if matches!(bad.status, 401 | 403) {
            pass(format!("signed URL -> 200; tampered -> {}", bad.summary()))
        } else {
            fail(format!("a tampered signed URL -> {}", bad.summary()))
        })
    }

    async fn audit(&self, admin: &str) -> Result<Outcome, String> {
        let cookie = match self.admin_session(admin).await? {
            Ok(c) => c,
            Err(o) => return Ok(o),
        };
        // A durable log can be long: ask for this run's events (a server that ignores the
        // filter still lists them).
        let path = format!(
            "/admin/audit?correlation_id={}",
            crate::routing::encode_path_segment(&self.options.run_id)
        );
        let r = self.get(&path, &[("cookie", &cookie)]).await?;
        let _ = self
            .http
            .send("DELETE", "/admin/session", &[("cookie", &cookie)], None)
            .await;
        if !(200..300).contains(&r.status) {
            return Ok(fail(format!("GET /admin/audit -> {}", r.summary())));
        }
        let body = r.json().unwrap_or(Value::Null);
        let events = body
            .as_array()
            .or_else(|| body.get("events").and_then(Value::as_array))
            .cloned()
            .unwrap_or_default();
        let ours: Vec<&Value> = events
            .iter()
            .filter(|e| {
                e.get("correlation_id").and_then(Value::as_str) == Some(&self.options.run_id)
            })
            .collect();
        if ours.is_empty() {
            return Ok(fail(format!(
                "no audit event carries this run's x-request-id ({} events listed)",
                events.len()
            )));
        }
        for e in &ours {
            for f in AUDIT_MANDATORY_FIELDS {
                let present = match e.get(f) {
                    Some(Value::String(s)) => !s.is_empty(),
                    Some(Value::Number(_)) => true,
                    _ => false,
                };
                if !present {
                    return Ok(fail(format!(
                        "audit event {:?} lacks {f}",
                        e.get("action").and_then(Value::as_str).unwrap_or("?")
                    )));
                }
            }
        }
        let admin_actions = ours
            .iter()
            .filter(|e| {
                e.get("action")
                    .and_then(Value::as_str)
                    .is_some_and(|a| a.contains("admin"))
            })
            .count();
        Ok(if admin_actions > 0 {
            pass(format!(
                "{} events of this run, {admin_actions} admin actions",
                ours.len()
            ))
        } else {
            fail("none of this run's audit events is an admin action")
        })
    }

    async fn rate_limit(&self, n: u32) -> Result<Outcome, String> {
        for i in 1..=n + 1 {
            let r = self
                .http
                .send(
                    "POST",
                    "/auth/session",
                    &[("x-api-key", "smoke-wrong-key-rate-limit-000")],
                    None,
                )
                .await?;
            if r.status == 429 {
                let retry = r
                    .header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .filter(|s| *s > 0);
                return Ok(match (r.code().as_deref(), retry) {
                    (Some("rate_limited"), Some(s)) => pass(format!(
                        "request {i} of at most {} -> 429 rate_limited, Retry-After {s}",
                        n + 1
                    )),
                    _ => fail(format!(
                        "request {i} -> {} with Retry-After {:?}",
                        r.summary(),
                        r.header("retry-after")
                    )),
                });
            }
        }
        Ok(fail(format!(
            "{} POST /auth/session requests in a row were never throttled",
            n + 1
        )))
    }

    fn error_contract(&self) -> Outcome {
        let seen = self.http.seen();
        let errors: Vec<&Response> = seen.iter().filter(|r| r.status >= 400).collect();
        for r in &errors {
            let Some(Value::Object(map)) = r.json() else {
                return fail(format!(
                    "{} -> {} with a body that is not a JSON object",
                    r.request, r.status
                ));
            };
            if let Some(extra) = map
                .keys()
                .find(|k| !matches!(k.as_str(), "code" | "detail" | "user_action" | "metadata"))
            {
                return fail(format!(
                    "{} -> {}: unexpected envelope key {extra:?}",
                    r.request, r.status
                ));
            }
            for k in ["code", "detail", "user_action"] {
                if !map.get(k).is_some_and(Value::is_string) {
                    return fail(format!("{} -> {}: envelope lacks {k}", r.request, r.status));
                }
            }
            if map.get("metadata").is_some_and(|m| !m.is_object()) {
                return fail(format!(
                    "{} -> {}: metadata is not an object",
                    r.request, r.status
                ));
            }
            let code = map["code"].as_str().unwrap_or_default();
            let Some(known) = ErrorCode::from_code(code) else {
                return fail(format!(
                    "{} -> {}: unknown code {code:?}",
                    r.request, r.status
                ));
            };
            if known.http_status() != r.status {
                return fail(format!(
                    "{} -> {} {code}, but {code} is HTTP {}",
                    r.request,
                    r.status,
                    known.http_status()
                ));
            }
            if code == "rate_limited" && r.header("retry-after").is_none() {
                return fail(format!(
                    "{} -> 429 rate_limited without Retry-After",
                    r.request
                ));
            }
        }
        if errors.is_empty() {
            skip("no error response was observed")
        } else {
            pass(format!("{} error responses checked", errors.len()))
        }
    }

    fn canary(&self) -> Outcome {
        // Each key as sent and percent-encoded (as it would appear echoed from a URL).
        let secrets: Vec<String> = [&self.options.api_key, &self.options.admin_key]
            .into_iter()
            .flatten()
            .map(|s| s.expose())
            .filter(|s| s.len() >= 8)
            .flat_map(|s| [s.to_owned(), encode_segment(s)])
            .collect();
        if secrets.is_empty() {
            return skip("no key given to look for");
        }
        let seen = self.http.seen();
        for r in &seen {
            let body = String::from_utf8_lossy(&r.body);
            for s in &secrets {
                let s = s.as_str();
                if body.contains(s) {
                    return fail(format!(
                        "{} -> {}: a key appears in the body",
                        r.request, r.status
                    ));
                }
                if let Some((name, _)) = r.headers.iter().find(|(_, v)| v.contains(s)) {
                    return fail(format!(
                        "{} -> {}: a key appears in header {name}",
                        r.request, r.status
                    ));
                }
            }
        }
        pass(format!("{} responses free of keys", seen.len()))
    }
}
