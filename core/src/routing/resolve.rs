//! Resolution of a task reference to an outbound target: registry lookup only, the URL
//! rebuilt from the stored origin plus percent-encoded path segments, a final byte-for-byte
//! origin check, and the address policy applied to what the host resolves to. The result
//! carries the socket addresses to connect to, so no second DNS lookup can rebind the host.

use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use super::address_policy::{forbidden_reason, AddressResolver};
use super::registry::{WorkspaceRegistry, WorkspaceStatus};
use super::target_url::TargetUrl;
use crate::error::{Error, ErrorCode};
use crate::task_ref::TaskRef;

/// The proxied routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyRoute {
    /// `GET /status/{id}`.
    Status,
    /// `GET /results/{id}`.
    Results,
    /// `GET /preview/{id}`.
    Preview,
}

impl ProxyRoute {
    /// Parses `status`, `results` or `preview`; else `validation_error`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "status" => Ok(ProxyRoute::Status),
            "results" => Ok(ProxyRoute::Results),
            "preview" => Ok(ProxyRoute::Preview),
            _ => Err(Error::with_detail(
                ErrorCode::ValidationError,
                "route must be status, results or preview",
            )),
        }
    }

    fn segment(self) -> &'static str {
        match self {
            ProxyRoute::Status => "status",
            ProxyRoute::Results => "results",
            ProxyRoute::Preview => "preview",
        }
    }
}

/// A checked outbound target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResolvedTarget {
    /// The workspace.
    pub workspace: String,
    /// The full URL (origin from the registry, encoded path).
    pub url: String,
    /// The registry origin the credential is pinned to.
    pub origin: String,
    /// The checked addresses to connect to (no second lookup).
    pub addresses: Vec<SocketAddr>,
    /// Which secret to attach (a name, never the secret).
    pub credential_ref: String,
}

/// Percent-encodes one path segment (everything outside RFC 3986 unreserved).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Resolves `task_ref` for `route`. Local ids are not proxied (`proxy_target_invalid`).
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
    let entry = registry
        .get(workspace)?
        .ok_or_else(|| Error::new(ErrorCode::TaskNotFound))?;
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
    if *task_id == "." || *task_id == ".." || task_id.is_empty() {
        return Err(Error::with_detail(
            ErrorCode::ProxyTargetInvalid,
            "task id is not a path segment",
        ));
    }
    let origin = entry.base_url.origin();
    let url = format!(
        "{origin}{}/{}/{}",
        entry.base_url.prefix,
        route.segment(),
        encode_segment(task_id)
    );
    // Final check: the built URL's origin is the registry's, byte for byte.
    let reparsed = TargetUrl::parse(
        &url,
        &super::target_url::TargetPolicy {
            allow_http: entry.base_url.scheme == "http",
            allow_ip_literal: true,
            host_suffixes: Vec::new(),
        },
    )?;
    if reparsed.scheme != entry.base_url.scheme
        || reparsed.host != entry.base_url.host
        || reparsed.port != entry.base_url.port
    {
        return Err(Error::with_detail(
            ErrorCode::ProxyTargetInvalid,
            "built URL left the registered origin",
        ));
    }
    let port = entry.base_url.effective_port();
    let ips: Vec<IpAddr> = match entry.base_url.host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => resolver.resolve(&entry.base_url.host, port)?,
    };
    if !entry.allow_private_addresses {
        if let Some(reason) = ips.iter().find_map(|ip| forbidden_reason(*ip)) {
            return Err(Error::with_detail(
                ErrorCode::ProxyTargetInvalid,
                "the worker host resolves to a forbidden address",
            )
            .meta("rule", reason));
        }
    }
    Ok(ResolvedTarget {
        workspace: entry.workspace,
        url,
        origin,
        addresses: ips
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect(),
        credential_ref: entry.credential_ref,
    })
}
