//! The runner's HTTP side: one client (no redirects, no cookie jar: cookies are handled by
//! the checks themselves), every request tagged with the run's `x-request-id`, and every
//! response kept so the error-contract and secret-canary checks can look at all of them.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::Value;

/// One response as the checks see it.
#[derive(Debug, Clone)]
pub struct Response {
    /// `METHOD path` of the request (for failure messages; no query, no credential).
    pub request: String,
    /// HTTP status.
    pub status: u16,
    /// Headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The error code of an error envelope.
    pub fn code(&self) -> Option<String> {
        self.json()?.get("code")?.as_str().map(str::to_owned)
    }

    /// `name=value` of the first `Set-Cookie`.
    pub fn cookie_pair(&self) -> Option<String> {
        let set = self.header("set-cookie")?;
        let pair = set.split(';').next()?.trim();
        pair.contains('=').then(|| pair.to_owned())
    }

    /// `status code` for messages (`404 task_not_found`).
    pub fn summary(&self) -> String {
        match self.code() {
            Some(c) => format!("{} {c}", self.status),
            None => self.status.to_string(),
        }
    }
}

/// The client and the log of everything it received.
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    run_id: String,
    seen: Mutex<Vec<Response>>,
}

impl Http {
    /// A client for `base` (`http(s)://host[:port]`).
    pub fn new(base: &str, run_id: &str, timeout_s: f64) -> Result<Self, String> {
        if !(timeout_s.is_finite() && timeout_s > 0.0 && timeout_s <= 3600.0) {
            return Err("the request timeout must be between 0 and 3600 seconds".to_owned());
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs_f64(timeout_s))
            .user_agent("inferwarden-smoke")
            .build()
            .map_err(|_| "the HTTP client could not be built".to_owned())?;
        Ok(Http {
            client,
            base: base.trim_end_matches('/').to_owned(),
            run_id: run_id.to_owned(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// Sends `method path_and_query` with `headers` (and a JSON body). A transport failure
    /// is `Err` with its kind only (never reqwest's text, which names the URL and query).
    pub async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        json: Option<&Value>,
    ) -> Result<Response, String> {
        let method_v = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| format!("bad method {method}"))?;
        let mut req = self
            .client
            .request(method_v, format!("{}{path_and_query}", self.base))
            .header("x-request-id", &self.run_id);
        for (k, v) in headers {
            let mut value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| format!("header {k} is not sendable"))?;
            value.set_sensitive(true);
            req = req.header(*k, value);
        }
        if let Some(body) = json {
            let bytes = serde_json::to_vec(body).map_err(|_| "the body is not JSON".to_owned())?;
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        let path = path_and_query.split('?').next().unwrap_or_default();
        let request = format!("{method} {path}");
        let resp = req.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "could not connect"
            } else {
                "failed"
            };
            format!("{request}: the request {kind}")
        })?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .bytes()
            .await
            .map_err(|_| format!("{request}: the body could not be read"))?
            .to_vec();
        let r = Response {
            request,
            status,
            headers,
            body,
        };
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(r.clone());
        }
        Ok(r)
    }

    /// Every response so far.
    pub fn seen(&self) -> Vec<Response> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
