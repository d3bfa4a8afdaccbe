//! [`AuditLog`]: the durable, tamper-evident audit log over an [`AuditStore`], with group
//! commit, identifier hashing, signed checkpoints, proofs, retention and verification. It is
//! an [`AuditSink`], so a gate, router or lifecycle given one fails closed with
//! `dependency_unavailable` when the store cannot write.
//!
//! Group commit: an appender queues its event; the first appender that finds no batch being
//! written becomes the writer, takes up to `batch_size` queued events (waiting at most
//! `max_wait` for more while other appenders are active), writes them in one transaction and
//! hands every appender its own outcome. An append returns only after its batch committed.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::checkpoint::{Checkpoint, NoteSigner, NoteVerifier};
use super::event::{AuditEvent, AuditFields, Outcome};
use super::identifiers::IdentifierHasher;
use super::merkle::{consistency_proof, inclusion_proof, tree_root, Hash};
use super::record::{hex, AuditRecord};
use super::sink::AuditSink;
use super::store::{AuditQuery, AuditStore, StoreSubtrees, TILE_RECORDS};
use super::verify::{verify_store, VerifyOptions, VerifyReport};
use crate::clock::Clock;
use crate::config::MIN_RETENTION_DAYS;
use crate::error::{Error, ErrorCode};

/// A sequence number or tree size given as a signed integer (JavaScript numbers, Python
/// ints): `validation_error` naming `field` when it is negative.
pub fn sequence_number(field: &str, value: i64) -> Result<u64, Error> {
    u64::try_from(value).map_err(|_| {
        Error::with_detail(
            ErrorCode::ValidationError,
            format!("{field} must be a non-negative integer"),
        )
        .meta("field", field)
    })
}

const DAY_MS: i64 = 86_400_000;

/// How an [`AuditLog`] behaves.
#[derive(Debug)]
pub struct AuditLogSettings {
    /// The most events one transaction writes.
    pub batch_size: usize,
    /// How long a writer waits for more events while other appenders are active.
    pub max_wait: Duration,
    /// The checkpoint origin line (names this log).
    pub origin: String,
    /// Signs checkpoints; without it `checkpoint()` is refused.
    pub signer: Option<NoteSigner>,
    /// Hashes configured identifiers before they are written.
    pub hasher: Option<IdentifierHasher>,
    /// Records older than this are pruned (at least [`MIN_RETENTION_DAYS`]).
    pub retention_days: u32,
    /// How often [`AuditLog::maintain`] writes a signed checkpoint.
    pub checkpoint_interval: Duration,
}

impl Default for AuditLogSettings {
    fn default() -> Self {
        AuditLogSettings {
            batch_size: 256,
            max_wait: Duration::ZERO,
            origin: "inferwarden.audit".to_owned(),
            signer: None,
            hasher: None,
            retention_days: MIN_RETENTION_DAYS,
            checkpoint_interval: Duration::from_secs(300),
        }
    }
}

#[derive(Debug, Default)]
struct Queue {
    pending: VecDeque<(u64, AuditEvent)>,
    results: HashMap<u64, Result<u64, Error>>,
    next_ticket: u64,
    writing: bool,
    /// While the writer gathers: how many queued events it waits for (0 = not gathering).
    gathering: usize,
    last_batch: usize,
}

/// An inclusion proof for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InclusionProof {
    /// The record's sequence number (its leaf index).
    pub seq: u64,
    /// The tree size the proof is for.
    pub size: u64,
    /// The record's hash (hex).
    pub leaf_hash: String,
    /// The audit path, leaf side first (hex).
    pub path: Vec<String>,
    /// The tree head (hex).
    pub root: String,
}

/// What a prune did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PruneReport {
    /// The first sequence number kept.
    pub cut: u64,
    /// Records deleted.
    pub deleted: u64,
    /// The signed checkpoint written before the cut, when a signer is configured.
    pub checkpoint: Option<String>,
}

/// What one [`AuditLog::maintain`] pass did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaintenanceReport {
    /// The retention pass.
    pub prune: PruneReport,
    /// The signed checkpoint written, when one was due.
    pub checkpoint: Option<String>,
}

/// The durable audit log.
#[derive(Debug)]
pub struct AuditLog {
    store: Arc<dyn AuditStore>,
    settings: AuditLogSettings,
    clock: Arc<dyn Clock>,
    queue: Mutex<Queue>,
    wake: Condvar,
    last_checkpoint_ms: AtomicI64,
}

fn unavailable(detail: &str) -> Error {
    Error::with_detail(ErrorCode::DependencyUnavailable, detail.to_owned())
}

impl AuditLog {
    /// A log over `store`.
    pub fn new(
        store: Arc<dyn AuditStore>,
        settings: AuditLogSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, Error> {
        if settings.retention_days < MIN_RETENTION_DAYS {
            return Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                format!("audit.retention_days is at least {MIN_RETENTION_DAYS}"),
            ));
        }
        Ok(AuditLog {
            store,
            settings: AuditLogSettings {
                batch_size: settings.batch_size.max(1),
                ..settings
            },
            clock,
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            last_checkpoint_ms: AtomicI64::new(i64::MIN),
        })
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn AuditStore> {
        &self.store
    }

    /// The verifier key of the configured signer, in note format.
    pub fn public_key(&self) -> Option<String> {
        self.settings
            .signer
            .as_ref()
            .map(|s| s.verifier().to_note_key())
    }

    /// The configured identifier hasher (to compute the stored form of a known value).
    pub fn hasher(&self) -> Option<&IdentifierHasher> {
        self.settings.hasher.as_ref()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Queue>, Error> {
        self.queue
            .lock()
            .map_err(|_| unavailable("audit log queue lock poisoned"))
    }

    /// Appends one event (identifiers hashed as configured) and returns its sequence number
    /// once its batch is committed. Any store failure is `dependency_unavailable`.
    pub fn append(&self, event: AuditEvent) -> Result<u64, Error> {
        crate::trace::span!(
            "inferwarden::audit",
            "audit_append",
            action = event.action.as_str()
        );
        let watch = crate::metrics::Stopwatch::start();
        let result = self.append_unmeasured(event);
        crate::metrics::record_append(result.is_ok(), Some(watch.elapsed()));
        result
    }

    fn append_unmeasured(&self, mut event: AuditEvent) -> Result<u64, Error> {
        if let Some(h) = &self.settings.hasher {
            h.apply(&mut event);
        }
        let mut q = self.lock()?;
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.pending.push_back((ticket, event));
        // Wake a gathering writer only once its batch is complete (not on every event).
        if q.gathering > 0 && q.pending.len() >= q.gathering {
            self.wake.notify_all();
        }
        loop {
            if let Some(result) = q.results.remove(&ticket) {
                return result;
            }
            if !q.writing {
                q = self.write_batch(q)?;
                continue;
            }
            q = self
                .wake
                .wait(q)
                .map_err(|_| unavailable("audit log queue lock poisoned"))?;
        }
    }

    /// Becomes the writer: gathers a batch, writes it without holding the queue lock,
    /// publishes each ticket's outcome. When the last batch held several events (appenders
    /// are running concurrently) it waits up to `max_wait` for as many to queue; a lone
    /// appender never waits.
    fn write_batch<'a>(
        &'a self,
        mut q: MutexGuard<'a, Queue>,
    ) -> Result<MutexGuard<'a, Queue>, Error> {
        q.writing = true;
        let expect = q.last_batch.clamp(1, self.settings.batch_size);
        if q.pending.len() < expect && !self.settings.max_wait.is_zero() {
            let deadline = Instant::now() + self.settings.max_wait;
            q.gathering = expect;
            while q.pending.len() < expect {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                q = self
                    .wake
                    .wait_timeout(q, left)
                    .map_err(|_| unavailable("audit log queue lock poisoned"))?
                    .0;
            }
            q.gathering = 0;
        }
        let take = q.pending.len().min(self.settings.batch_size);
        let (batch, events): (Vec<u64>, Vec<AuditEvent>) = q.pending.drain(..take).unzip();
        q.last_batch = batch.len();
        drop(q);
        let outcome = self.store.append(&events);
        let mut q = self.lock()?;
        match outcome {
            Ok(records) if records.len() == batch.len() => {
                for (ticket, record) in batch.iter().zip(records) {
                    q.results.insert(*ticket, Ok(record.seq as u64));
                }
            }
            Ok(_) => {
                for ticket in &batch {
                    q.results.insert(
                        *ticket,
                        Err(unavailable("audit store wrote a partial batch")),
                    );
                }
            }
            Err(e) => {
                let e = if e.code() == ErrorCode::DependencyUnavailable {
                    e
                } else {
                    unavailable(e.detail())
                };
                for ticket in &batch {
                    q.results.insert(*ticket, Err(e.clone()));
                }
            }
        }
        q.writing = false;
        self.wake.notify_all();
        Ok(q)
    }

    /// Records matching `query`.
    pub fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, Error> {
        self.store.query(query)
    }

    /// Verifies the whole log.
    pub fn verify(&self, options: &VerifyOptions<'_>) -> Result<VerifyReport, Error> {
        let mut options_with_key;
        let options = if options.verifier.is_none() && self.settings.signer.is_some() {
            options_with_key = VerifyOptions {
                verifier: self.settings.signer.as_ref().map(NoteSigner::verifier),
                trusted: options.trusted.clone(),
                progress: options.progress,
            };
            &mut options_with_key
        } else {
            options
        };
        verify_store(self.store.as_ref(), options)
    }

    /// Verifies with checkpoints given as signed-note texts and an optional verifier key in
    /// note format (default: the configured signer's).
    pub fn verify_notes(
        &self,
        trusted: Vec<String>,
        public_key: Option<&str>,
    ) -> Result<VerifyReport, Error> {
        let verifier = public_key.map(NoteVerifier::parse).transpose()?;
        self.verify(&VerifyOptions {
            verifier,
            trusted,
            progress: None,
        })
    }

    /// `hmac-sha256:<hex>` of `value` under the configured key, to search for a hashed
    /// identifier; `config_invalid` when no HMAC key is configured.
    pub fn hmac(&self, value: &str) -> Result<String, Error> {
        self.settings
            .hasher
            .as_ref()
            .map(|h| h.hash(value))
            .ok_or_else(|| {
                Error::with_detail(
                    ErrorCode::ConfigInvalid,
                    "no audit HMAC key is configured (audit.hmac_fields, audit.hmac_key_env)",
                )
            })
    }

    /// The tree head over the first `size` records.
    pub fn root_at(&self, size: u64) -> Result<Hash, Error> {
        tree_root(&StoreSubtrees::new(self.store.as_ref()), size)
    }

    /// Signs and keeps a checkpoint of the current tree; returns the signed note.
    pub fn checkpoint(&self) -> Result<String, Error> {
        let signer = self.settings.signer.as_ref().ok_or_else(|| {
            Error::with_detail(
                ErrorCode::ConfigInvalid,
                "no audit signing key is configured (audit.signing_key_env)",
            )
        })?;
        let size = self.store.meta()?.size;
        let checkpoint = Checkpoint {
            origin: self.settings.origin.clone(),
            size,
            root: self.root_at(size)?,
        };
        let note = signer.sign(&checkpoint);
        self.store.save_checkpoint(size, &note)?;
        Ok(note)
    }

    /// The inclusion proof of record `seq` in the current tree (or one of `size` records).
    pub fn prove(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof, Error> {
        let size = match size {
            Some(s) => s,
            None => self.store.meta()?.size,
        };
        let src = StoreSubtrees::new(self.store.as_ref());
        let path = inclusion_proof(&src, seq, size)?;
        let leaf = self.store.leaf_hashes(seq, seq + 1)?.pop().ok_or_else(|| {
            Error::with_detail(
                ErrorCode::ValidationError,
                format!("record {seq} is not stored"),
            )
        })?;
        Ok(InclusionProof {
            seq,
            size,
            leaf_hash: hex(&leaf),
            path: path.iter().map(|h| hex(h)).collect(),
            root: hex(&tree_root(&src, size)?),
        })
    }

    /// The consistency proof between the trees of `old_size` and `new_size` records (hex).
    pub fn prove_consistency(&self, old_size: u64, new_size: u64) -> Result<Vec<String>, Error> {
        let src = StoreSubtrees::new(self.store.as_ref());
        Ok(consistency_proof(&src, old_size, new_size)?
            .iter()
            .map(|h| hex(h))
            .collect())
    }

    /// Deletes records older than the retention period (cut at a tile boundary), after a
    /// signed checkpoint of the whole tree when a signer is configured, then records the
    /// prune itself as an event.
    pub fn prune(&self) -> Result<PruneReport, Error> {
        let now = self.clock.now_ms();
        let horizon = now.saturating_sub(i64::from(self.settings.retention_days) * DAY_MS);
        let meta = self.store.meta()?;
        // The first record at or after the horizon, found page by page from the cut.
        let first_kept = self.first_at_or_after(meta.pruned_below, meta.size, horizon)?;
        let cut = first_kept / TILE_RECORDS * TILE_RECORDS;
        if cut <= meta.pruned_below {
            return Ok(PruneReport {
                cut: meta.pruned_below,
                deleted: 0,
                checkpoint: None,
            });
        }
        let checkpoint = match self.settings.signer {
            Some(_) => Some(self.checkpoint()?),
            None => None,
        };
        let deleted = self.store.prune(cut)?;
        let event = AuditEvent::new(
            AuditFields {
                actor: "system:retention",
                source: "audit",
                action: "audit_prune",
                target: "audit_log",
                outcome: Outcome::Success,
                correlation_id: "-",
            },
            self.clock.as_ref(),
        )?
        .detail("cut", cut)
        .detail("deleted", deleted)
        .detail("retention_days", self.settings.retention_days);
        self.append(event)?;
        Ok(PruneReport {
            cut,
            deleted,
            checkpoint,
        })
    }

    /// The sweeper's pass over the log: retention, then a signed checkpoint when the
    /// configured interval has passed since this process wrote one (and a signer is set).
    pub fn maintain(&self) -> Result<MaintenanceReport, Error> {
        let prune = self.prune()?;
        let now = self.clock.now_ms();
        let interval =
            i64::try_from(self.settings.checkpoint_interval.as_millis()).unwrap_or(i64::MAX);
        let last = self.last_checkpoint_ms.load(Ordering::SeqCst);
        let due = last == i64::MIN || now.saturating_sub(last) >= interval;
        let checkpoint = if self.settings.signer.is_some() && due {
            let note = self.checkpoint()?;
            self.last_checkpoint_ms.store(now, Ordering::SeqCst);
            Some(note)
        } else {
            None
        };
        Ok(MaintenanceReport { prune, checkpoint })
    }

    fn first_at_or_after(&self, from: u64, size: u64, horizon_ms: i64) -> Result<u64, Error> {
        let query = AuditQuery {
            since_ms: Some(horizon_ms),
            after_seq: Some(from as i64 - 1),
            limit: 1,
            ..AuditQuery::default()
        };
        Ok(self
            .store
            .query(&query)?
            .first()
            .map(|r| r.seq.max(0) as u64)
            .unwrap_or(size))
    }

    /// Checks a signed note with the configured key.
    pub fn open_checkpoint(
        &self,
        note: &str,
        verifier: Option<&NoteVerifier>,
    ) -> Result<Checkpoint, Error> {
        match (verifier, &self.settings.signer) {
            (Some(v), _) => v.open(note),
            (None, Some(s)) => s.verifier().open(note),
            (None, None) => Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                "no public key to check the checkpoint with",
            )),
        }
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: AuditEvent) -> Result<(), Error> {
        self.append(event).map(|_| ())
    }
}
