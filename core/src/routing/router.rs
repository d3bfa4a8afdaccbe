//! The router: registry + resolver + audit. Every rejection (`proxy_target_invalid`,
//! `task_not_found`) is recorded as a security event with the rule that failed and never
//! with a credential.

use std::net::{IpAddr, ToSocketAddrs};
use std::sync::Arc;

use super::address_policy::AddressResolver;
use super::registry::{MemoryRegistry, WorkspaceEntry, WorkspaceRegistry, WorkspaceStatus};
use super::resolve::{resolve_target, ProxyRoute, ResolvedTarget};
use super::target_url::TargetPolicy;
use crate::audit::{AuditEvent, AuditFields, AuditSink, Outcome};
use crate::clock::Clock;
use crate::config::PolicyConfig;
use crate::error::{Error, ErrorCode};
use crate::task_ref::parse_task_ref;

/// The operating system's resolver (`getaddrinfo`), called once per resolution; the
/// addresses it returns are the ones checked and connected to.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

/// The resolver an embedder asked for: the system resolver, or (tests, pinned deployments)
/// a fixed `host -> [ip]` table whose entries must all be IP addresses
/// (`validation_error` otherwise).
pub fn resolver_for<'a>(
    dns: Option<impl IntoIterator<Item = (&'a String, &'a Vec<String>)>>,
) -> Result<std::sync::Arc<dyn AddressResolver>, Error> {
    Ok(match dns {
        None => std::sync::Arc::new(SystemResolver),
        Some(table) => std::sync::Arc::new(super::StaticResolver::from_table(
            table
                .into_iter()
                .map(|(h, ips)| (h.as_str(), ips.as_slice())),
        )?),
    })
}

impl AddressResolver for SystemResolver {
    fn resolve(&self, host: &str, port: u16) -> Result<Vec<IpAddr>, Error> {
        let addrs = (host, port).to_socket_addrs().map_err(|_| {
            Error::with_detail(
                ErrorCode::RemoteUnavailable,
                "the worker host does not resolve",
            )
        })?;
        let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
        if ips.is_empty() {
            return Err(Error::with_detail(
                ErrorCode::RemoteUnavailable,
                "the worker host does not resolve",
            ));
        }
        Ok(ips)
    }
}

/// Registry-only routing with audited rejections.
#[derive(Debug, Clone)]
pub struct Router {
    registry: Arc<MemoryRegistry>,
    resolver: Arc<dyn AddressResolver>,
    policy: TargetPolicy,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
}

impl Router {
    /// A router with the proxy policy of `config` (`proxy.allow_http`,
    /// `proxy.allow_ip_literal`, `proxy.allowed_host_suffixes`).
    pub fn new(
        config: &PolicyConfig,
        resolver: Arc<dyn AddressResolver>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Router {
            registry: Arc::new(MemoryRegistry::new()),
            resolver,
            policy: TargetPolicy {
                allow_http: config.proxy.allow_http,
                allow_ip_literal: config.proxy.allow_ip_literal,
                host_suffixes: config.proxy.allowed_host_suffixes.clone(),
            },
            audit,
            clock,
        }
    }

    /// Registers (or replaces) a worker account after validating its URL.
    pub fn register(
        &self,
        workspace: &str,
        base_url: &str,
        status: WorkspaceStatus,
        credential_ref: &str,
        allow_private: bool,
    ) -> Result<WorkspaceEntry, Error> {
        let result = self.registry.register(
            workspace,
            base_url,
            status,
            credential_ref,
            &self.policy,
            allow_private,
        );
        if let Err(e) = &result {
            self.record("registry", "account_register_rejected", workspace, e, "-")?;
        }
        result
    }

    /// Changes a worker account's status.
    pub fn set_status(&self, workspace: &str, status: WorkspaceStatus) -> Result<(), Error> {
        self.registry.set_status(workspace, status)
    }

    /// Every ready account (gallery fan-out).
    pub fn ready(&self) -> Result<Vec<WorkspaceEntry>, Error> {
        self.registry.ready()
    }

    fn record(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        err: &Error,
        correlation_id: &str,
    ) -> Result<(), Error> {
        let rule = err
            .metadata()
            .and_then(|m| m.get("rule"))
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let fields = AuditFields {
            actor,
            source: "router",
            action,
            target,
            outcome: Outcome::Denied,
            correlation_id,
        };
        let event = AuditEvent::new(fields, self.clock.as_ref())?
            .detail("code", err.code_str())
            .detail("rule", rule);
        self.audit.record(event)
    }

    /// Resolves a public task id for `route`. Rejections are audited (the target recorded is
    /// the workspace part when it is valid, else `invalid`).
    pub fn resolve(
        &self,
        task_id: &str,
        route: ProxyRoute,
        correlation_id: &str,
    ) -> Result<ResolvedTarget, Error> {
        let parsed = parse_task_ref(task_id);
        let result = parsed.clone().and_then(|r| {
            resolve_target(self.registry.as_ref(), self.resolver.as_ref(), &r, route)
        });
        if let Err(e) = &result {
            let target = parsed
                .ok()
                .and_then(|r| r.workspace().map(str::to_owned))
                .unwrap_or_else(|| "invalid".to_owned());
            let action = if e.code() == ErrorCode::TaskNotFound {
                "task_not_found"
            } else {
                "proxy_target_rejected"
            };
            self.record("router", action, &target, e, correlation_id)?;
        }
        result
    }

    /// Resolves `task_id` and fetches its validated status from the worker (feature
    /// `proxy`). The credential is attached only after resolution succeeded.
    #[cfg(feature = "proxy")]
    pub fn fetch_status(
        &self,
        client: &crate::proxy::ProxyClient,
        task_id: &str,
        credential: &crate::secret::Secret,
        correlation_id: &str,
    ) -> Result<crate::proxy::RemoteStatus, Error> {
        let target = self.resolve(task_id, ProxyRoute::Status, correlation_id)?;
        client.fetch_status(&target, credential, task_id)
    }
}
