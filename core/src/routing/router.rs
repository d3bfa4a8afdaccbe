//! The router: registry + resolver + audit. Every rejection (`proxy_target_invalid`,
//! `task_not_found`) is recorded as a security event with the rule that failed and never
//! with a credential.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use super::address_policy::AddressResolver;
use super::registry::WorkspaceRegistry;
use super::registry_open::open_registry;
use super::resolve::{
    resolve_entry_in, resolve_target_in, PrivateNetworks, ProxyRoute, ResolvedTarget,
};
use crate::audit::{AuditEvent, AuditFields, AuditSink, Outcome};
use crate::clock::Clock;
use crate::config::PolicyConfig;
use crate::error::{Error, ErrorCode};
use crate::task_ref::{is_valid_workspace, parse_task_ref};
use crate::workspace::TargetPolicy;
use crate::workspace::{WorkspaceEntry, WorkspaceStatus};

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
    fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        let addrs = (host, port).to_socket_addrs().map_err(|_| {
            Error::with_detail(
                ErrorCode::RemoteUnavailable,
                "the worker host does not resolve",
            )
        })?;
        let ips: Vec<SocketAddr> = addrs.collect();
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
    registry: Arc<dyn WorkspaceRegistry>,
    resolver: Arc<dyn AddressResolver>,
    policy: TargetPolicy,
    networks: PrivateNetworks,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
}

impl Router {
    /// A router over the registry `config.proxy.registry` names, with the proxy policy of
    /// `config` (`proxy.allow_http`, `proxy.allow_ip_literal`, `proxy.allowed_host_suffixes`)
    /// and the worker accounts of `proxy.workspaces` registered.
    pub fn new(
        config: &PolicyConfig,
        resolver: Arc<dyn AddressResolver>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let registry = open_registry(&config.proxy.registry, &config.proxy.target_policy())?;
        Self::with_registry(config, registry, resolver, audit, clock)
    }

    /// A router over `registry` (any backend), with `proxy.workspaces` registered into it.
    pub fn with_registry(
        config: &PolicyConfig,
        registry: Arc<dyn WorkspaceRegistry>,
        resolver: Arc<dyn AddressResolver>,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let router = Router {
            registry,
            resolver,
            policy: config.proxy.target_policy(),
            networks: if config.proxy.allow_private_networks {
                PrivateNetworks::Deployment
            } else {
                PrivateNetworks::PerEntry
            },
            audit,
            clock,
        };
        for w in &config.proxy.workspaces {
            router.register(
                &w.workspace,
                &w.base_url,
                WorkspaceStatus::from_name(&w.status)?,
                &w.credential_ref,
                w.allow_private,
            )?;
        }
        Ok(router)
    }

    /// Whether resolution may block the thread (a SQL registry or the system resolver).
    pub fn resolution_blocks(&self) -> bool {
        self.registry.blocks() || self.resolver.blocks()
    }

    /// The registry this router reads.
    pub fn registry(&self) -> &Arc<dyn WorkspaceRegistry> {
        &self.registry
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
        let result = WorkspaceEntry::validated(
            workspace,
            base_url,
            status,
            credential_ref,
            &self.policy,
            allow_private,
        )
        .and_then(|entry| {
            // Audited before the write: when the log cannot record it, nothing changes.
            self.record_change(
                "account_register",
                &entry.workspace,
                &[
                    ("status", status.as_str().into()),
                    ("credential_ref", credential_ref.into()),
                    ("allow_private", allow_private.into()),
                ],
            )?;
            crate::trace::span!("inferwarden::routing", "registry", op = "upsert");
            self.registry.upsert(entry.clone()).map(|()| entry)
        });
        if let Err(e) = &result {
            let target = if is_valid_workspace(workspace) {
                workspace
            } else {
                "invalid"
            };
            self.record("registry", "account_register_rejected", target, e, "-")?;
        }
        // A refused registration is an operator's configuration to fix, not a task id a
        // client sent: say what to change.
        result.map_err(|e| {
            if e.code() == ErrorCode::ProxyTargetInvalid {
                e.user_action_hint(
                    "Register the worker with an https:// base URL on an allowed host suffix (proxy.allowed_host_suffixes); a worker on loopback or a private network needs allow_private = true or proxy.allow_private_networks = true (and proxy.allow_http / proxy.allow_ip_literal for http://IP:PORT).",
                )
            } else {
                e
            }
        })
    }

    /// Changes a worker account's status (audited before the write; refused with
    /// `dependency_unavailable` when the log cannot record it).
    pub fn set_status(&self, workspace: &str, status: WorkspaceStatus) -> Result<(), Error> {
        let target = if is_valid_workspace(workspace) {
            workspace
        } else {
            "invalid"
        };
        self.record_change(
            "account_status",
            target,
            &[("status", status.as_str().into())],
        )?;
        crate::trace::span!("inferwarden::routing", "registry", op = "set_status");
        let result = self.registry.set_status(workspace, status);
        if let Err(e) = &result {
            self.record("registry", "account_status_rejected", target, e, "-")?;
        }
        result
    }

    /// Records a registry change about to be made.
    fn record_change(
        &self,
        action: &str,
        target: &str,
        details: &[(&str, serde_json::Value)],
    ) -> Result<(), Error> {
        let fields = AuditFields {
            actor: "registry",
            source: "router",
            action,
            target,
            outcome: Outcome::Success,
            correlation_id: "-",
        };
        let mut event = AuditEvent::new(fields, self.clock.as_ref())?;
        for (k, v) in details {
            event = event.detail(k, v.clone());
        }
        self.audit.record(event)
    }

    /// Every ready account (gallery fan-out).
    pub fn ready(&self) -> Result<Vec<Arc<WorkspaceEntry>>, Error> {
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

    fn audited(
        &self,
        result: Result<ResolvedTarget, Error>,
        target: &str,
        correlation_id: &str,
    ) -> Result<ResolvedTarget, Error> {
        if let Err(e) = &result {
            let action = if e.code() == ErrorCode::TaskNotFound {
                "task_not_found"
            } else {
                "proxy_target_rejected"
            };
            self.record("router", action, target, e, correlation_id)?;
        }
        result
    }

    /// Resolves a public task id for a task route (`status`, `results`, `preview`).
    /// Rejections are audited (the target recorded is the workspace part when it is valid,
    /// else `invalid`).
    pub fn resolve(
        &self,
        task_id: &str,
        route: ProxyRoute,
        correlation_id: &str,
    ) -> Result<ResolvedTarget, Error> {
        crate::trace::span!("inferwarden::routing", "resolve", route = route.as_str());
        let parsed = parse_task_ref(task_id);
        let result = parsed.clone().and_then(|r| {
            resolve_target_in(
                self.registry.as_ref(),
                self.resolver.as_ref(),
                &r,
                route,
                self.networks,
            )
        });
        if result.is_ok() {
            return result;
        }
        let target = parsed
            .ok()
            .and_then(|r| r.workspace().map(str::to_owned))
            .unwrap_or_else(|| "invalid".to_owned());
        self.audited(result, &target, correlation_id)
    }

    /// Resolves a workspace for a workspace route (`generate`, `gallery`); an unknown or
    /// disabled workspace is `task_not_found`, a malformed name `proxy_target_invalid`.
    /// Rejections are audited.
    pub fn resolve_workspace(
        &self,
        workspace: &str,
        route: ProxyRoute,
        correlation_id: &str,
    ) -> Result<ResolvedTarget, Error> {
        if !is_valid_workspace(workspace) {
            let e = Error::with_detail(
                ErrorCode::ProxyTargetInvalid,
                "workspace must match ^[a-z0-9-]{3,64}$",
            )
            .meta("rule", "workspace");
            return self.audited(Err(e), "invalid", correlation_id);
        }
        crate::trace::span!("inferwarden::routing", "resolve", route = route.as_str());
        let result = self.registry.get(workspace).and_then(|entry| {
            let entry = entry.ok_or_else(|| Error::new(ErrorCode::TaskNotFound))?;
            resolve_entry_in(&entry, self.resolver.as_ref(), route, None, self.networks)
        });
        self.audited(result, workspace, correlation_id)
    }

    /// Resolves an entry already read from the registry (the gallery fan-out) for `route`;
    /// rejections are audited.
    pub fn resolve_entry(
        &self,
        entry: &Arc<WorkspaceEntry>,
        route: ProxyRoute,
        correlation_id: &str,
    ) -> Result<ResolvedTarget, Error> {
        let result = resolve_entry_in(entry, self.resolver.as_ref(), route, None, self.networks);
        self.audited(result, &entry.workspace, correlation_id)
    }
}
