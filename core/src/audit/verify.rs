//! Full verification of a stored log: every record re-hashed, every link checked, the tree
//! head recomputed and compared with signed checkpoints. The first problem is reported with
//! its kind and the sequence number where the log stops being what was written:
//!
//! - `edited`: a record's content (any column) no longer matches its hash, or a record was
//!   re-hashed and its successor's link no longer matches;
//! - `deleted`: a record is missing (a gap, or later records renumbered down to close it);
//! - `inserted`: a record was put in (later records renumbered up to make room);
//! - `reordered`: two records exchanged places;
//! - `truncated`: a signed checkpoint covers records the log no longer has;
//! - `forked`: the chain is self-consistent but its tree head differs from a signed
//!   checkpoint of the same size (a rewrite by someone without the signing key).
//!
//! A self-consistent chain with no checkpoint to compare can still have lost its newest
//! records: keep checkpoints outside the database (`audit checkpoint`) for that.

use std::collections::BTreeMap;

use serde::Serialize;

use super::checkpoint::{unverified_checkpoint, Checkpoint, NoteVerifier};
use super::merkle::{fold_perfect, Hash, RootBuilder};
use super::record::{hex, AuditRecord, GENESIS_HASH};
use super::store::{AuditStore, TILE_LEVELS, TILE_RECORDS};
use crate::error::Error;

/// How a log was tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TamperKind {
    /// Content changed.
    Edited,
    /// A record removed.
    Deleted,
    /// A record added in the middle.
    Inserted,
    /// Records exchanged places.
    Reordered,
    /// The newest records removed (found against a checkpoint).
    Truncated,
    /// A different history than a signed checkpoint's.
    Forked,
}

impl TamperKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::Edited => "edited",
            TamperKind::Deleted => "deleted",
            TamperKind::Inserted => "inserted",
            TamperKind::Reordered => "reordered",
            TamperKind::Truncated => "truncated",
            TamperKind::Forked => "forked",
        }
    }
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tamper {
    /// What happened.
    pub kind: TamperKind,
    /// The first sequence number affected.
    pub seq: u64,
    /// A sentence for the operator.
    pub detail: String,
}

/// The outcome of [`verify_store`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// No problem found.
    pub intact: bool,
    /// The first stored sequence number (after retention).
    pub first_seq: u64,
    /// Records in the tree (the next sequence number).
    pub size: u64,
    /// The recomputed tree head, hex.
    pub root: String,
    /// Checkpoints compared with the recomputed tree (signed ones only when a verifier key
    /// was given).
    pub checkpoints_checked: usize,
    /// The first problem, if any.
    pub tamper: Option<Tamper>,
}

/// What to compare the log with.
#[derive(Default)]
pub struct VerifyOptions<'a> {
    /// The public key checkpoints must be signed with; without it the stored checkpoints are
    /// compared unsigned (they still catch a careless truncation).
    pub verifier: Option<NoteVerifier>,
    /// Checkpoints kept outside the database (signed notes); they need `verifier`.
    pub trusted: Vec<String>,
    /// Called with (records checked, records in the log) every 10,000 records.
    pub progress: Option<&'a dyn Fn(u64, u64)>,
}

impl std::fmt::Debug for VerifyOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("verifier", &self.verifier)
            .field("trusted", &self.trusted.len())
            .finish()
    }
}

const PAGE: usize = 10_000;

fn tamper(kind: TamperKind, seq: u64, detail: impl Into<String>) -> Tamper {
    Tamper {
        kind,
        seq,
        detail: detail.into(),
    }
}

/// Every stored record, in sequence order, page by page.
fn for_each_record(
    store: &dyn AuditStore,
    mut f: impl FnMut(&AuditRecord) -> Result<bool, Error>,
) -> Result<(), Error> {
    let mut from = i64::MIN;
    loop {
        let page = store.records(from, PAGE)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        let next = last.seq.saturating_add(1);
        for r in &page {
            if !f(r)? {
                return Ok(());
            }
        }
        if page.len() < PAGE || last.seq == i64::MAX {
            return Ok(());
        }
        from = next;
    }
}

/// The stored position whose record's content hashes as `seq`, if any other than `skip`.
fn find_content_of(store: &dyn AuditStore, seq: u64, skip: i64) -> Result<Option<i64>, Error> {
    let mut found = None;
    for_each_record(store, |r| {
        if r.seq != skip && r.computed_hash_at(seq) == r.hash {
            found = Some(r.seq);
            return Ok(false);
        }
        Ok(true)
    })?;
    Ok(found)
}

/// Which seq (other than its own) a record's content hashes at: nearby first, then all.
fn original_position(record: &AuditRecord, lo: u64, hi: u64) -> Option<u64> {
    let own = record.seq;
    for d in 1..=16i64 {
        // A tampered seq may hold anything: no arithmetic on it may overflow.
        for cand in [own.checked_add(d), own.checked_sub(d)]
            .into_iter()
            .flatten()
        {
            if cand >= 0 && record.computed_hash_at(cand as u64) == record.hash {
                return Some(cand as u64);
            }
        }
    }
    (lo..hi).find(|s| *s as i64 != own && record.computed_hash_at(*s) == record.hash)
}

fn classify_bad_hash(
    store: &dyn AuditStore,
    record: &AuditRecord,
    expected: u64,
    size_hint: u64,
) -> Result<Tamper, Error> {
    if let Some(orig) = original_position(record, 0, size_hint) {
        if orig > expected {
            let partner = store.record(orig as i64)?;
            if partner.is_some_and(|p| p.computed_hash_at(expected) == p.hash) {
                return Ok(tamper(
                    TamperKind::Reordered,
                    expected,
                    format!("records {expected} and {orig} exchanged places"),
                ));
            }
            return Ok(tamper(
                TamperKind::Deleted,
                expected,
                format!(
                    "{} record(s) from {expected} removed and later records renumbered",
                    orig - expected
                ),
            ));
        }
        return Ok(tamper(
            TamperKind::Inserted,
            orig,
            format!("a record was inserted at {orig} and later records renumbered"),
        ));
    }
    if let Some(next) = store.record(record.seq.saturating_add(1))? {
        if next.computed_hash_at(expected) == next.hash {
            return Ok(tamper(
                TamperKind::Inserted,
                expected,
                format!("a record was inserted at {expected}"),
            ));
        }
    }
    Ok(tamper(
        TamperKind::Edited,
        expected,
        format!("record {expected} no longer matches its hash"),
    ))
}

/// A checkpoint to compare, and whether its signature was checked.
struct Wanted {
    checkpoint: Checkpoint,
    signed: bool,
}

fn collect_checkpoints(
    store: &dyn AuditStore,
    options: &VerifyOptions<'_>,
) -> Result<(Vec<Wanted>, Option<Tamper>), Error> {
    let mut wanted = Vec::new();
    let mut bad_signature = None;
    for note in &options.trusted {
        let Some(verifier) = &options.verifier else {
            return Err(Error::with_detail(
                crate::error::ErrorCode::ConfigInvalid,
                "a trusted checkpoint needs the public key to check it with",
            ));
        };
        wanted.push(Wanted {
            checkpoint: verifier.open(note)?,
            signed: true,
        });
    }
    for (size, note) in store.checkpoints()? {
        match &options.verifier {
            Some(verifier) => match verifier.open(&note) {
                Ok(c) => wanted.push(Wanted {
                    checkpoint: c,
                    signed: true,
                }),
                Err(_) => {
                    bad_signature.get_or_insert(tamper(
                        TamperKind::Forked,
                        size,
                        format!("the stored checkpoint of size {size} has no valid signature by this key"),
                    ));
                }
            },
            None => {
                if let Ok(c) = unverified_checkpoint(&note) {
                    wanted.push(Wanted {
                        checkpoint: c,
                        signed: false,
                    });
                }
            }
        }
    }
    Ok((wanted, bad_signature))
}

/// Verifies the whole stored log.
pub fn verify_store(
    store: &dyn AuditStore,
    options: &VerifyOptions<'_>,
) -> Result<VerifyReport, Error> {
    crate::trace::span!("inferwarden::audit", "audit_verify");
    let report = verify_store_unrecorded(store, options);
    crate::metrics::record_verification(report.as_ref().ok().map(|r| r.intact));
    #[cfg(feature = "tracing")]
    match &report {
        Ok(r) if r.intact => {
            tracing::info!(target: "inferwarden::audit", size = r.size, "audit log intact")
        }
        Ok(r) => tracing::warn!(
            target: "inferwarden::audit",
            size = r.size,
            first_bad_seq = r.tamper.as_ref().map(|t| t.seq),
            "audit log verification found tampering"
        ),
        Err(e) => tracing::warn!(
            target: "inferwarden::audit",
            code = e.code_str(),
            "audit log verification could not run"
        ),
    }
    report
}

fn verify_store_unrecorded(
    store: &dyn AuditStore,
    options: &VerifyOptions<'_>,
) -> Result<VerifyReport, Error> {
    let meta = store.meta()?;
    let (wanted, bad_signature) = collect_checkpoints(store, options)?;
    let mut roots_at: BTreeMap<u64, Option<Hash>> =
        wanted.iter().map(|w| (w.checkpoint.size, None)).collect();
    let mut builder = RootBuilder::new();
    let mut tile_problem: Option<Tamper> = None;

    let start = meta.pruned_below;
    if start > 0 {
        let tiles = store.tiles(TILE_LEVELS[0], 0, start / TILE_RECORDS)?;
        for (i, (index, hash)) in tiles.iter().enumerate() {
            if *index != i as u64 {
                break;
            }
            builder.push_perfect(TILE_LEVELS[0], *hash);
            if let Some(slot) = roots_at.get_mut(&builder.size()) {
                *slot = Some(builder.root());
            }
        }
        if builder.size() != start {
            tile_problem.get_or_insert(tamper(
                TamperKind::Deleted,
                builder.size(),
                "tiles covering pruned records are missing",
            ));
            builder = RootBuilder::new();
        }
    }
    let stored_tiles: BTreeMap<u64, Hash> = store
        .tiles(
            TILE_LEVELS[0],
            start / TILE_RECORDS,
            u64::MAX / TILE_RECORDS,
        )?
        .into_iter()
        .collect();

    let mut expected = start;
    let mut prev = if start == 0 {
        GENESIS_HASH
    } else {
        meta.anchor
    };
    let mut row_problem: Option<Tamper> = None;
    let mut block: Vec<Hash> = Vec::with_capacity(TILE_RECORDS as usize);
    let total = meta.size.saturating_sub(start);
    // Where a moved record's original position can be: within the records stored.
    let bound = start + store.count()? + 16;
    for_each_record(store, |r| {
        let problem = if r.seq < expected as i64 {
            let orig = original_position(r, 0, bound).unwrap_or(expected);
            Some(tamper(
                TamperKind::Edited,
                orig,
                format!("a record stands at position {} outside the chain", r.seq),
            ))
        } else if r.seq > expected as i64 {
            Some(match find_content_of(store, expected, -1)? {
                Some(at) => tamper(
                    TamperKind::Edited,
                    expected,
                    format!("record {expected}'s sequence number was changed to {at}"),
                ),
                None => tamper(
                    TamperKind::Deleted,
                    expected,
                    format!("record {expected} is missing"),
                ),
            })
        } else if !r.hash_is_valid() {
            Some(classify_bad_hash(store, r, expected, bound)?)
        } else if r.prev_hash != prev {
            let seq = expected.saturating_sub(1);
            Some(tamper(
                TamperKind::Edited,
                seq,
                format!("record {seq} was changed and re-hashed: record {expected}'s link no longer matches"),
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            row_problem = Some(p);
            return Ok(false);
        }
        builder.push(r.hash);
        block.push(r.hash);
        if block.len() as u64 == TILE_RECORDS {
            let index = expected / TILE_RECORDS;
            let computed = fold_perfect(std::mem::take(&mut block));
            if stored_tiles.get(&index) != Some(&computed) {
                tile_problem.get_or_insert(tamper(
                    TamperKind::Edited,
                    index * TILE_RECORDS,
                    format!(
                        "tile {index} does not match records {}..{}",
                        index * TILE_RECORDS,
                        (index + 1) * TILE_RECORDS
                    ),
                ));
            }
        }
        prev = r.hash;
        expected += 1;
        if let Some(slot) = roots_at.get_mut(&expected) {
            *slot = Some(builder.root());
        }
        if let Some(progress) = options.progress {
            if (expected - start) % PAGE as u64 == 0 {
                progress(expected - start, total);
            }
        }
        Ok(true)
    })?;
    if row_problem.is_none() {
        if let Some(slot) = roots_at.get_mut(&0) {
            *slot = Some(super::merkle::empty_root());
        }
    }

    if let Some(progress) = options.progress {
        // The last page is usually partial: report where the walk ended.
        if (expected - start) % PAGE as u64 != 0 {
            progress(expected - start, total);
        }
    }
    let size = expected;
    let root = builder.root();
    let checkpoint_problem = if row_problem.is_some() {
        None
    } else {
        compare_checkpoints(&wanted, &roots_at, size, start).or(bad_signature)
    };
    let found = row_problem.or(checkpoint_problem).or(tile_problem);
    Ok(VerifyReport {
        intact: found.is_none(),
        first_seq: start,
        size,
        root: hex(&root),
        checkpoints_checked: wanted.len(),
        tamper: found,
    })
}

fn compare_checkpoints(
    wanted: &[Wanted],
    roots_at: &BTreeMap<u64, Option<Hash>>,
    size: u64,
    start: u64,
) -> Option<Tamper> {
    // The largest size whose checkpoint matched: a fork starts after it.
    let mut good_prefix = 0u64;
    let mut sorted: Vec<&Wanted> = wanted.iter().collect();
    sorted.sort_by_key(|w| w.checkpoint.size);
    for w in sorted {
        let c = &w.checkpoint;
        let kind = if w.signed {
            "signed"
        } else {
            "stored, unsigned"
        };
        if c.size > size {
            return Some(tamper(
                TamperKind::Truncated,
                size,
                format!(
                    "a {kind} checkpoint covers {} records; the log has {size}",
                    c.size
                ),
            ));
        }
        match roots_at.get(&c.size).copied().flatten() {
            Some(root) if root == c.root => good_prefix = good_prefix.max(c.size),
            Some(_) => {
                return Some(tamper(
                    TamperKind::Forked,
                    good_prefix.max(start.min(c.size)),
                    format!(
                        "the tree of {} records differs from a {kind} checkpoint",
                        c.size
                    ),
                ))
            }
            // A checkpoint inside the pruned range off a tile boundary: not comparable.
            None => {}
        }
    }
    None
}
