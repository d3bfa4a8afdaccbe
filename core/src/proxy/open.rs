//! Opening [`RemoteWorkspaces`] from configuration: the registry (`proxy.registry`, or a URL
//! the caller names), the resolver (the system's, or a fixed table for tests), the worker
//! credentials (given, then from the environment), the audited router over them. The one
//! construction every binding and service calls, so the defaults live in one place.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::credentials::Credentials;
use super::remote::RemoteWorkspaces;
use crate::audit::AuditSink;
use crate::clock::Clock;
use crate::config::PolicyConfig;
use crate::error::Error;
use crate::routing::{open_registry, resolver_for, Router};
use crate::secret::Secret;

/// How to open the remote workspaces.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// A registry URL overriding `proxy.registry`.
    pub registry: Option<String>,
    /// A fixed `host -> [ip, ...]` table (tests, pinned deployments); `None`: the system
    /// resolver.
    pub dns: Option<BTreeMap<String, Vec<String>>>,
    /// `credential_ref -> secret`, consulted first.
    pub credentials: BTreeMap<String, Secret>,
    /// Fall back to `INFERWARDEN_WORKER_KEY` / `INFERWARDEN_WORKER_KEY_<REF>` for references
    /// not given (default `true`).
    pub credentials_from_env: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            registry: None,
            dns: None,
            credentials: BTreeMap::new(),
            credentials_from_env: true,
        }
    }
}

impl RemoteWorkspaces {
    /// Opens the registry, resolver and credentials `options` name with the proxy policy of
    /// `config`, and the audited router over them. Blocking (it may connect to a database).
    pub fn open(
        config: &PolicyConfig,
        options: RemoteOptions,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        let resolver = resolver_for(options.dns.as_ref())?;
        let url = options
            .registry
            .as_deref()
            .unwrap_or(config.proxy.registry.expose());
        let registry = open_registry(url, &config.proxy.target_policy())?;
        let router = Router::with_registry(config, registry, resolver, audit, clock)?;
        let mut credentials = if options.credentials_from_env {
            Credentials::from_env()
        } else {
            Credentials::new()
        };
        for (name, secret) in options.credentials {
            credentials = credentials.with(&name, secret);
        }
        Ok(RemoteWorkspaces::new(
            router,
            &config.proxy,
            Arc::new(credentials),
        ))
    }
}
