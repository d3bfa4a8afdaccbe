//! The storage seam of the durable audit log, shared by the SQLite and PostgreSQL stores:
//! the trait, the query filter, the tile bookkeeping both stores run inside their append
//! transaction, and the subtree source proofs read through.
//!
//! Tiles are the roots of perfect subtrees of `2^8`, `2^16` and `2^24` records, written in
//! the transaction that completes them. They hold hashes only, survive retention, and let a
//! proof or a tree head over a million records read a few hundred hashes instead of every
//! record.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use super::event::AuditEvent;
use super::merkle::{fold_perfect, node_hash, Hash, SubtreeSource};
use super::record::{AuditRecord, GENESIS_HASH};
use crate::error::{Error, ErrorCode};

/// The tile levels kept (a tile at level `l` is the root of `2^l` records).
pub const TILE_LEVELS: [u32; 3] = [8, 16, 24];
/// Records per smallest tile; retention cuts only at multiples of it.
pub const TILE_RECORDS: u64 = 1 << 8;

/// Where the stored chain starts after retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditMeta {
    /// The first sequence number still stored (0 before any prune).
    pub pruned_below: u64,
    /// The hash of record `pruned_below - 1` (zeros before any prune).
    pub anchor: Hash,
    /// The next sequence number: records `[0, size)` were appended.
    pub size: u64,
}

impl AuditMeta {
    /// The previous hash of the next record when the store holds none after the cut.
    pub fn empty_tail(&self) -> Hash {
        if self.pruned_below == 0 {
            GENESIS_HASH
        } else {
            self.anchor
        }
    }
}

/// A filter and page over the log (`/admin/audit`, `audit export`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditQuery {
    /// Only records at or after this time (ms since the epoch).
    pub since_ms: Option<i64>,
    /// Only records before this time.
    pub until_ms: Option<i64>,
    /// Only this actor (for a hashed field, pass its `hmac-sha256:` value).
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this outcome.
    pub outcome: Option<String>,
    /// Only this correlation id (one request's events).
    pub correlation_id: Option<String>,
    /// Only records after this sequence number (the cursor of an oldest-first page).
    pub after_seq: Option<i64>,
    /// Only records before this sequence number (the cursor of a newest-first page).
    pub before_seq: Option<i64>,
    /// Newest first (an admin view) instead of oldest first (an export).
    pub newest_first: bool,
    /// The most records returned (0 means [`AuditQuery::DEFAULT_LIMIT`]; capped at
    /// [`AuditQuery::MAX_LIMIT`]).
    pub limit: usize,
}

impl AuditQuery {
    /// The page size when none is given.
    pub const DEFAULT_LIMIT: usize = 100;
    /// The largest page.
    pub const MAX_LIMIT: usize = 10_000;

    /// The effective page size.
    pub fn page_size(&self) -> usize {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }
}

/// A durable audit store. Every method is one transaction; errors are
/// `dependency_unavailable` (so the audited action fails closed) or `invalid_transition`
/// for a write the store's guards refused.
pub trait AuditStore: Send + Sync + Debug {
    /// Appends `events` as one contiguous run after the current tail (taking the store's
    /// write lock, so appenders in other processes or replicas interleave whole batches),
    /// writes the tiles the run completes, commits, and returns the records.
    fn append(&self, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, Error>;
    /// Where the chain starts and how many records were appended (no scan: O(log n)).
    fn meta(&self) -> Result<AuditMeta, Error>;
    /// Rows stored (a scan; `size - pruned_below` when nothing was tampered with).
    fn count(&self) -> Result<u64, Error>;
    /// Up to `limit` records with `seq >= from`, in sequence order (whatever their seq, even
    /// one edited out of range).
    fn records(&self, from: i64, limit: usize) -> Result<Vec<AuditRecord>, Error>;
    /// The record at `seq`, if stored.
    fn record(&self, seq: i64) -> Result<Option<AuditRecord>, Error>;
    /// The stored hashes of records `[start, end)`, in order.
    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, Error>;
    /// The stored tiles of `level` with index in `[start, end)`: (index, hash), in order.
    fn tiles(&self, level: u32, start: u64, end: u64) -> Result<Vec<(u64, Hash)>, Error>;
    /// Keeps a signed checkpoint (its note text) for tree size `size`.
    fn save_checkpoint(&self, size: u64, note: &str) -> Result<(), Error>;
    /// Every kept checkpoint: (size, note), smallest first.
    fn checkpoints(&self) -> Result<Vec<(u64, String)>, Error>;
    /// Deletes records below `cut` (a multiple of [`TILE_RECORDS`], at most the size),
    /// keeping the hash of record `cut - 1` as the anchor; returns how many were deleted.
    fn prune(&self, cut: u64) -> Result<u64, Error>;
    /// Records matching `query`, in sequence order.
    fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, Error>;
}

/// Reads and writes a store's tiles and leaves inside its append transaction.
pub trait TileTx {
    /// Stored hashes of records `[start, end)`.
    fn leaves(&mut self, start: u64, end: u64) -> Result<Vec<Hash>, Error>;
    /// Stored tiles of `level` with index in `[start, end)`, in order.
    fn tile_hashes(&mut self, level: u32, start: u64, end: u64) -> Result<Vec<Hash>, Error>;
    /// Writes one tile.
    fn put_tile(&mut self, level: u32, index: u64, hash: &Hash) -> Result<(), Error>;
}

fn incomplete(what: &str, level: u32, index: u64) -> Error {
    Error::with_detail(
        ErrorCode::DependencyUnavailable,
        format!("audit log: {what} missing under tile {level}/{index}"),
    )
}

/// Writes every tile that growing the log from `old_size` to `new_size` records completes,
/// smallest level first (each level reads the one below, just written).
pub fn write_completed_tiles(
    tx: &mut dyn TileTx,
    old_size: u64,
    new_size: u64,
) -> Result<(), Error> {
    let mut below = 0u32;
    for level in TILE_LEVELS {
        let width = 1u64 << level;
        let first = old_size / width;
        let last = new_size / width;
        for index in first..last {
            let span = 1u64 << (level - below);
            let parts = if below == 0 {
                tx.leaves(index * width, (index + 1) * width)?
            } else {
                tx.tile_hashes(below, index * span, (index + 1) * span)?
            };
            if parts.len() as u64 != span {
                return Err(incomplete(
                    if below == 0 { "records" } else { "tiles" },
                    level,
                    index,
                ));
            }
            tx.put_tile(level, index, &fold_perfect(parts))?;
        }
        below = level;
    }
    Ok(())
}

/// Perfect subtree hashes read from a store: from tiles where they cover the subtree,
/// from records otherwise. Reads go by aligned blocks of 256 (records, or tiles of one
/// level) and are kept for the life of the source, so one proof (path and head) touches a
/// handful of blocks however large the log is.
#[derive(Debug)]
pub struct StoreSubtrees<'a> {
    store: &'a dyn AuditStore,
    leaf_blocks: RefCell<HashMap<u64, Vec<Hash>>>,
    tile_blocks: RefCell<HashMap<TileBlock, Vec<Option<Hash>>>>,
}

/// A block of 256 tiles: (level, block index).
type TileBlock = (u32, u64);

impl<'a> StoreSubtrees<'a> {
    /// A source over `store`.
    pub fn new(store: &'a dyn AuditStore) -> Self {
        StoreSubtrees {
            store,
            leaf_blocks: RefCell::new(HashMap::new()),
            tile_blocks: RefCell::new(HashMap::new()),
        }
    }

    /// Records `[start, end)` (within one block), read with their block.
    fn leaves(&self, start: u64, end: u64) -> Result<Option<Vec<Hash>>, Error> {
        let block = start / TILE_RECORDS;
        let mut cache = self.leaf_blocks.borrow_mut();
        let hashes = match cache.entry(block) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(
                self.store
                    .leaf_hashes(block * TILE_RECORDS, (block + 1) * TILE_RECORDS)?,
            ),
        };
        let (from, to) = (
            (start - block * TILE_RECORDS) as usize,
            (end - block * TILE_RECORDS) as usize,
        );
        Ok(hashes.get(from..to).map(<[Hash]>::to_vec))
    }

    /// Tiles of `level` with index `[start, end)` (within one block of 256), all present, or
    /// `None`.
    fn tile_run(&self, level: u32, start: u64, end: u64) -> Result<Option<Vec<Hash>>, Error> {
        let block = start / TILE_RECORDS;
        let mut cache = self.tile_blocks.borrow_mut();
        let slots = match cache.entry((level, block)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut slots = vec![None; TILE_RECORDS as usize];
                for (index, hash) in
                    self.store
                        .tiles(level, block * TILE_RECORDS, (block + 1) * TILE_RECORDS)?
                {
                    if let Some(slot) = slots.get_mut((index - block * TILE_RECORDS) as usize) {
                        *slot = Some(hash);
                    }
                }
                e.insert(slots)
            }
        };
        let (from, to) = (
            (start - block * TILE_RECORDS) as usize,
            (end - block * TILE_RECORDS) as usize,
        );
        Ok(slots
            .get(from..to)
            .and_then(|run| run.iter().copied().collect::<Option<Vec<Hash>>>()))
    }
}

impl SubtreeSource for StoreSubtrees<'_> {
    fn perfect(&self, level: u32, index: u64) -> Result<Hash, Error> {
        if level < TILE_LEVELS[0] {
            let (start, end) = (index << level, (index + 1) << level);
            return match self.leaves(start, end)? {
                Some(leaves) => Ok(fold_perfect(leaves)),
                None => Err(Error::with_detail(
                    ErrorCode::ValidationError,
                    format!("records {start}..{end} are not stored (pruned or missing)"),
                )),
            };
        }
        let base = TILE_LEVELS
            .iter()
            .copied()
            .filter(|l| *l <= level)
            .max()
            .unwrap_or(TILE_LEVELS[0]);
        let span = level - base;
        if span < 8 {
            if let Some(tiles) = self.tile_run(base, index << span, (index + 1) << span)? {
                return Ok(fold_perfect(tiles));
            }
        }
        if level > base {
            let left = self.perfect(level - 1, index * 2)?;
            let right = self.perfect(level - 1, index * 2 + 1)?;
            return Ok(node_hash(&left, &right));
        }
        // The tile itself is missing: fold the level below.
        let lower = TILE_LEVELS
            .iter()
            .copied()
            .filter(|l| *l < base)
            .max()
            .unwrap_or(0);
        let parts = (0..1u64 << (base - lower))
            .map(|j| self.perfect(lower, (index << (base - lower)) + j))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(fold_perfect(parts))
    }
}
