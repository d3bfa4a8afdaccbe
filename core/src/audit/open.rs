//! Opening the configured audit destination from a store URL (`memory`, `sqlite:PATH`,
//! `postgres://...`) and the `audit` configuration section: the signer and the HMAC key are
//! read from the environment variables the configuration names.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::checkpoint::NoteSigner;
use super::event::{AuditEvent, AuditFields};
use super::identifiers::IdentifierHasher;
use super::log::{AuditLog, AuditLogSettings};
use super::sink::{AuditSink, MemoryAuditSink};
use super::store::{AuditQuery, AuditStore};
use crate::clock::Clock;
use crate::config::AuditConfig;
use crate::error::Error;
use crate::store_url::{unknown_store, StoreUrl};

const ACCEPTED: &str = "memory, sqlite:PATH, postgres://...";

/// Opens a durable audit store (`sqlite:PATH` or `postgres://...`).
pub fn open_audit_store(url: &str) -> Result<Arc<dyn AuditStore>, Error> {
    match StoreUrl::parse(url) {
        #[cfg(feature = "sqlite")]
        Some(StoreUrl::Sqlite(path)) => Ok(Arc::new(super::SqliteAuditStore::open(path)?)),
        #[cfg(not(feature = "sqlite"))]
        Some(StoreUrl::Sqlite(_)) => Err(crate::store_url::feature_missing("sqlite")),
        #[cfg(feature = "postgres")]
        Some(StoreUrl::Postgres(url)) => Ok(Arc::new(super::PostgresAuditStore::connect(url)?)),
        #[cfg(not(feature = "postgres"))]
        Some(StoreUrl::Postgres(_)) => Err(crate::store_url::feature_missing("postgres")),
        _ => Err(unknown_store("audit store", "sqlite:PATH, postgres://...")),
    }
}

/// Opens an existing durable store without writing to it (no schema migration): what a
/// verifier, an export or a proof needs.
pub fn open_audit_store_read_only(url: &str) -> Result<Arc<dyn AuditStore>, Error> {
    match StoreUrl::parse(url) {
        #[cfg(feature = "sqlite")]
        Some(StoreUrl::Sqlite(path)) => {
            Ok(Arc::new(super::SqliteAuditStore::open_read_only(path)?))
        }
        #[cfg(not(feature = "sqlite"))]
        Some(StoreUrl::Sqlite(_)) => Err(crate::store_url::feature_missing("sqlite")),
        #[cfg(feature = "postgres")]
        Some(StoreUrl::Postgres(url)) => {
            Ok(Arc::new(super::PostgresAuditStore::connect_existing(url)?))
        }
        #[cfg(not(feature = "postgres"))]
        Some(StoreUrl::Postgres(_)) => Err(crate::store_url::feature_missing("postgres")),
        _ => Err(unknown_store("audit store", "sqlite:PATH, postgres://...")),
    }
}

/// The settings `config` describes; the signer key is read when its variable is set (a set
/// but malformed key is `config_invalid`), the HMAC key when `hmac_fields` is non-empty.
pub fn settings_from_config(config: &AuditConfig) -> Result<AuditLogSettings, Error> {
    let signer = match std::env::var_os(&config.signing_key_env) {
        Some(_) => Some(NoteSigner::from_env(&config.signing_key_env)?),
        None => None,
    };
    let hasher = if config.hmac_fields.is_empty() {
        None
    } else {
        Some(IdentifierHasher::from_env(
            &config.hmac_key_env,
            &config.hmac_fields,
        )?)
    };
    Ok(AuditLogSettings {
        batch_size: config.batch_size.max(1) as usize,
        max_wait: Duration::from_millis(config.max_wait_ms),
        origin: config.checkpoint_origin.clone(),
        signer,
        hasher,
        retention_days: config.retention_days,
        checkpoint_interval: Duration::from_secs(config.checkpoint_interval_s.max(1)),
    })
}

/// Opens the durable log at `url` with `config`'s settings.
pub fn open_audit_log(
    url: &str,
    config: &AuditConfig,
    clock: Arc<dyn Clock>,
) -> Result<Arc<AuditLog>, Error> {
    let store = open_audit_store(url)?;
    Ok(Arc::new(AuditLog::new(
        store,
        settings_from_config(config)?,
        clock,
    )?))
}

/// The audit destination a component writes to: the bounded ring or a durable log.
#[derive(Debug, Clone)]
pub enum AuditHandle {
    /// The bounded in-memory ring (`memory`).
    Memory(Arc<MemoryAuditSink>),
    /// The durable log.
    Log(Arc<AuditLog>),
}

impl AuditHandle {
    /// The sink to hand a gate, router or lifecycle.
    pub fn sink(&self) -> Arc<dyn AuditSink> {
        match self {
            AuditHandle::Memory(m) => m.clone(),
            AuditHandle::Log(l) => l.clone(),
        }
    }

    /// The durable log, or `config_invalid` for the in-memory ring (it keeps no chain to
    /// verify, prove or checkpoint).
    pub fn log(&self) -> Result<&Arc<AuditLog>, Error> {
        match self {
            AuditHandle::Log(l) => Ok(l),
            AuditHandle::Memory(_) => Err(Error::with_detail(
                crate::error::ErrorCode::ConfigInvalid,
                "the in-memory audit ring keeps no hash chain: configure audit.store (sqlite:PATH or postgres://...)",
            )),
        }
    }

    /// Appends an event built from its parts (stamped by `clock`, details capped and
    /// redacted): the sequence number in a durable log, `None` in the ring.
    pub fn append_parts(
        &self,
        fields: AuditFields<'_>,
        details: serde_json::Map<String, Value>,
        clock: &dyn Clock,
    ) -> Result<Option<u64>, Error> {
        let mut event = AuditEvent::new(fields, clock)?;
        for (k, v) in details {
            event = event.detail(&k, v);
        }
        match self {
            AuditHandle::Memory(m) => m.record(event).map(|_| None),
            AuditHandle::Log(l) => l.append(event).map(Some),
        }
    }

    /// The newest events (at most `limit`), oldest first, as JSON objects (a durable log's
    /// carry their `seq` and hashes).
    pub fn recent_json(&self, limit: usize) -> Result<Vec<Value>, Error> {
        match self {
            AuditHandle::Memory(m) => {
                let events = m.events();
                let skip = events.len().saturating_sub(limit);
                events
                    .iter()
                    .skip(skip)
                    .map(crate::error::to_json_value)
                    .collect()
            }
            AuditHandle::Log(l) => {
                let query = AuditQuery {
                    newest_first: true,
                    limit,
                    ..AuditQuery::default()
                };
                Ok(l.query(&query)?.iter().rev().map(|r| r.to_json()).collect())
            }
        }
    }
}

/// Opens `url` (`memory`, `sqlite:PATH`, `postgres://...`) with `config`'s settings.
pub fn open_audit_sink(
    url: &str,
    config: &AuditConfig,
    clock: Arc<dyn Clock>,
) -> Result<AuditHandle, Error> {
    match StoreUrl::parse(url) {
        Some(StoreUrl::Memory) => Ok(AuditHandle::Memory(Arc::new(
            MemoryAuditSink::with_capacity(config.memory_capacity),
        ))),
        Some(StoreUrl::Sqlite(_) | StoreUrl::Postgres(_)) => {
            Ok(AuditHandle::Log(open_audit_log(url, config, clock)?))
        }
        _ => Err(unknown_store("audit store", ACCEPTED)),
    }
}

/// Opens `url`, or `config.store` when none is given (what every binding object's `audit`
/// argument defaults to).
pub fn open_configured_audit(
    url: Option<&str>,
    config: &AuditConfig,
    clock: Arc<dyn Clock>,
) -> Result<AuditHandle, Error> {
    open_audit_sink(url.unwrap_or(&config.store), config, clock)
}
