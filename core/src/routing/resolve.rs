//! Resolution of a task reference to an outbound target: registry lookup only, the URL
//! rebuilt from the stored origin plus percent-encoded path segments, a final byte-for-byte
//! origin check, and the address policy applied to what the host resolves to. The result
//! carries the socket addresses to connect to, so no second DNS lookup can rebind the host.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;

use super::address_policy::{forbidden_reason, AddressResolver};
use super::registry::{WorkspaceEntry, WorkspaceRegistry, WorkspaceStatus};
use crate::error::{Error, ErrorCode};
use crate::task_ref::TaskRef;

/// The proxied routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyRoute {
    /// `GET /status/{id}`.
    Status,
    /// `GET /results/{id}` (streamed).
    Results,
    /// `GET /preview/{id}` (streamed).
    Preview,
    /// `POST /generate` on a workspace.
    Generate,
    /// `GET /gallery` on a workspace (fan-out).
    Gallery,
}

impl ProxyRoute {
    /// Parses `status`, `results`, `preview`, `generate` or `gallery`; else
    /// `validation_error`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "status" => Ok(ProxyRoute::Status),
            "results" => Ok(ProxyRoute::Results),
            "preview" => Ok(ProxyRoute::Preview),
            "generate" => Ok(ProxyRoute::Generate),
            "gallery" => Ok(ProxyRoute::Gallery),
            _ => Err(Error::with_detail(
                ErrorCode::ValidationError,
                "route must be status, results, preview, generate or gallery",
            )),
        }
    }

    /// The route's path segment (and its name).
    pub fn as_str(self) -> &'static str {
        match self {
            ProxyRoute::Status => "status",
            ProxyRoute::Results => "results",
            ProxyRoute::Preview => "preview",
            ProxyRoute::Generate => "generate",
            ProxyRoute::Gallery => "gallery",
        }
    }

    /// Whether the route addresses one task (`status`, `results`, `preview`) rather than a
    /// workspace (`generate`, `gallery`).
    pub fn takes_task_id(self) -> bool {
        matches!(
            self,
            ProxyRoute::Status | ProxyRoute::Results | ProxyRoute::Preview
        )
    }
}

/// A checked outbound target. It shares the registry entry it came from; serialised it is
/// `{workspace, url, origin, host, addresses, credential_ref}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    entry: Arc<WorkspaceEntry>,
    /// The full URL (origin from the registry, encoded path).
    pub url: String,
    /// The checked addresses to connect to (no second lookup).
    pub addresses: Vec<SocketAddr>,
}

impl ResolvedTarget {
    /// The workspace.
    pub fn workspace(&self) -> &str {
        &self.entry.workspace
    }

    /// The registered host (DNS name, or IP literal without brackets).
    pub fn host(&self) -> &str {
        &self.entry.base_url.host
    }

    /// The registry origin the credential is pinned to.
    pub fn origin(&self) -> String {
        self.entry.base_url.origin()
    }

    /// Which secret to attach (a name, never the secret).
    pub fn credential_ref(&self) -> &str {
        &self.entry.credential_ref
    }

    /// The registry entry.
    pub fn entry(&self) -> &WorkspaceEntry {
        &self.entry
    }
}

impl Serialize for ResolvedTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ResolvedTarget", 6)?;
        st.serialize_field("workspace", self.workspace())?;
        st.serialize_field("url", &self.url)?;
        st.serialize_field("origin", &self.origin())?;
        st.serialize_field("host", self.host())?;
        st.serialize_field("addresses", &self.addresses)?;
        st.serialize_field("credential_ref", self.credential_ref())?;
        st.end()
    }
}

/// Appends one percent-encoded path segment (everything outside RFC 3986 unreserved).
fn push_encoded_segment(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// Resolves `task_ref` for a task route (`status`, `results`, `preview`). Local ids are not
/// proxied (`proxy_target_invalid`).
pub fn resolve_target(
    registry: &dyn WorkspaceRegistry,
    resolver: &dyn AddressResolver,
    task_ref: &TaskRef<'_>,
    route: ProxyRoute,
) -> Result<ResolvedTarget, Error> {
    let TaskRef::Remote { workspace, task_id } = task_ref else {
        return Err(Error::with_detail(
            ErrorCode::ProxyTargetInvalid,
            "local task ids are not proxied",
        ));
    };
    if !route.takes_task_id() {
        return Err(Error::with_detail(
            ErrorCode::ValidationError,
            "generate and gallery address a workspace, not a task",
        ));
    }
    let entry = registry
        .get(workspace)?
        .ok_or_else(|| Error::new(ErrorCode::TaskNotFound))?;
    resolve_entry(&entry, resolver, route, Some(task_id))
}

/// Resolves one registry entry for `route`: `task_id` is required by the task routes and
/// refused by `generate`/`gallery`. Disabled entries are `task_not_found`, pending or failed
/// ones `remote_unavailable`.
pub fn resolve_entry(
    entry: &Arc<WorkspaceEntry>,
    resolver: &dyn AddressResolver,
    route: ProxyRoute,
    task_id: Option<&str>,
) -> Result<ResolvedTarget, Error> {
    match entry.status {
        WorkspaceStatus::Disabled => return Err(Error::new(ErrorCode::TaskNotFound)),
        WorkspaceStatus::Pending | WorkspaceStatus::Failed => {
            return Err(Error::with_detail(
                ErrorCode::RemoteUnavailable,
                "the workspace is not ready",
            ))
        }
        WorkspaceStatus::Ready => {}
    }
    let base = &entry.base_url;
    let mut url = String::with_capacity(base.host.len() + base.prefix.len() + 64);
    url.push_str(&base.scheme);
    url.push_str("://");
    if base.host.contains(':') {
        url.push('[');
        url.push_str(&base.host);
        url.push(']');
    } else {
        url.push_str(&base.host);
    }
    if let Some(port) = base.port {
        url.push(':');
        url.push_str(itoa_u16(port, &mut [0u8; 5]));
    }
    url.push_str(&base.prefix);
    url.push('/');
    url.push_str(route.as_str());
    match (route.takes_task_id(), task_id) {
        (true, Some(id)) => {
            if id == "." || id == ".." || id.is_empty() {
                return Err(Error::with_detail(
                    ErrorCode::ProxyTargetInvalid,
                    "task id is not a path segment",
                ));
            }
            url.push('/');
            push_encoded_segment(&mut url, id);
        }
        (false, None) => {}
        _ => {
            return Err(Error::with_detail(
                ErrorCode::ValidationError,
                "status, results and preview need a task id; generate and gallery take none",
            ))
        }
    }
    // Final check: the built URL, split again, has the registry's origin byte for byte.
    if !base.same_origin(&url) {
        return Err(Error::with_detail(
            ErrorCode::ProxyTargetInvalid,
            "built URL left the registered origin",
        ));
    }
    let port = base.effective_port();
    let addresses: Vec<SocketAddr> = match base.host_ip() {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => resolver.resolve(&base.host, port)?,
    };
    if !entry.allow_private_addresses {
        if let Some(reason) = addresses.iter().find_map(|a| forbidden_reason(a.ip())) {
            return Err(Error::with_detail(
                ErrorCode::ProxyTargetInvalid,
                "the worker host resolves to a forbidden address",
            )
            .meta("rule", reason));
        }
    }
    Ok(ResolvedTarget {
        entry: Arc::clone(entry),
        url,
        addresses,
    })
}

/// Formats `n` in decimal into `buf` without allocating.
fn itoa_u16(mut n: u16, buf: &mut [u8; 5]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}
