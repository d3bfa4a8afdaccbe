//! Resolution of a task reference to an outbound target: registry lookup only, the URL
//! rebuilt from the stored origin plus percent-encoded path segments, a final byte-for-byte
//! origin check, and the address policy applied to what the host resolves to. The result
//! carries the socket addresses to connect to, so no second DNS lookup can rebind the host.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;

use super::address_policy::{forbidden_reason, is_metadata, AddressResolver};
use super::registry::WorkspaceRegistry;
use crate::error::{Error, ErrorCode};
use crate::task_ref::TaskRef;
use crate::workspace::{WorkspaceEntry, WorkspaceStatus};

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

/// `s` percent-encoded as one path segment (everything outside RFC 3986 unreserved), as
/// resolution writes task ids into URLs.
pub fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    push_encoded_segment(&mut out, s);
    out
}

/// Appends one percent-encoded path segment (everything outside RFC 3986 unreserved); runs
/// of unreserved bytes are copied at once.
fn push_encoded_segment(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            continue;
        }
        // The run holds only ASCII bytes, so it is valid UTF-8 on its own.
        out.push_str(std::str::from_utf8(&bytes[start..i]).unwrap_or_default());
        out.push('%');
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
        start = i + 1;
    }
    out.push_str(std::str::from_utf8(&bytes[start..]).unwrap_or_default());
}

/// Resolves `task_ref` for a task route (`status`, `results`, `preview`). Local ids are not
/// proxied (`proxy_target_invalid`). Only entries registered with `allow_private` may
/// resolve to private addresses; see [`resolve_target_in`] for the deployment switch.
pub fn resolve_target(
    registry: &dyn WorkspaceRegistry,
    resolver: &dyn AddressResolver,
    task_ref: &TaskRef<'_>,
    route: ProxyRoute,
) -> Result<ResolvedTarget, Error> {
    resolve_target_in(
        registry,
        resolver,
        task_ref,
        route,
        PrivateNetworks::PerEntry,
    )
}

/// Which entries may resolve to private, loopback or link-local addresses (cloud metadata
/// addresses are refused for all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateNetworks {
    /// Only entries registered with `allow_private` (the default).
    PerEntry,
    /// Every entry: the deployment's workers live on a private network
    /// (`proxy.allow_private_networks`).
    Deployment,
}

/// [`resolve_target`] under the deployment's private-network setting (what a
/// [`Router`](super::Router) calls).
pub fn resolve_target_in(
    registry: &dyn WorkspaceRegistry,
    resolver: &dyn AddressResolver,
    task_ref: &TaskRef<'_>,
    route: ProxyRoute,
    networks: PrivateNetworks,
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
    resolve_shared(entry, resolver, route, Some(task_id), networks)
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
    resolve_shared(
        Arc::clone(entry),
        resolver,
        route,
        task_id,
        PrivateNetworks::PerEntry,
    )
}

/// [`resolve_entry`] under the deployment's private-network setting.
pub fn resolve_entry_in(
    entry: &Arc<WorkspaceEntry>,
    resolver: &dyn AddressResolver,
    route: ProxyRoute,
    task_id: Option<&str>,
    networks: PrivateNetworks,
) -> Result<ResolvedTarget, Error> {
    resolve_shared(Arc::clone(entry), resolver, route, task_id, networks)
}

/// [`resolve_entry`] keeping the caller's reference to the entry (no second count).
fn resolve_shared(
    entry: Arc<WorkspaceEntry>,
    resolver: &dyn AddressResolver,
    route: ProxyRoute,
    task_id: Option<&str>,
    networks: PrivateNetworks,
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
    base.push_authority(&mut url);
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
    // A cloud metadata endpoint is never a worker, even for an entry allowing private
    // addresses: reaching it from the API's network would hand out its credentials.
    if addresses.iter().any(|a| is_metadata(a.ip())) {
        return Err(Error::with_detail(
            ErrorCode::ProxyTargetInvalid,
            "the worker host resolves to a cloud metadata address, which no registration may target",
        )
        .meta("rule", "metadata"));
    }
    if !entry.allow_private_addresses && networks == PrivateNetworks::PerEntry {
        if let Some(reason) = addresses.iter().find_map(|a| forbidden_reason(a.ip())) {
            return Err(Error::with_detail(
                ErrorCode::ProxyTargetInvalid,
                format!(
                    "the worker host resolves to a {reason} address; a worker on a private network or on loopback (tests) must be registered with allow_private = true, or the deployment must set proxy.allow_private_networks = true"
                ),
            )
            .meta("rule", reason)
            .meta("option", "allow_private"));
        }
    }
    Ok(ResolvedTarget {
        entry,
        url,
        addresses,
    })
}

#[cfg(test)]
mod tests {
    use super::push_encoded_segment;

    /// Byte by byte, the obvious way.
    fn reference(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    #[test]
    fn segments_encode_everything_outside_unreserved() {
        for s in [
            "",
            "t-1",
            "abc~1.x_Y",
            "a/b",
            "../..",
            "%2e",
            "a b?c#d",
            "é",
            "x€y",
            "🙂",
            "\u{0}\u{7f}",
            "a@b:c",
        ] {
            let mut out = String::from("prefix/");
            push_encoded_segment(&mut out, s);
            assert_eq!(out, format!("prefix/{}", reference(s)), "{s:?}");
        }
    }
}
