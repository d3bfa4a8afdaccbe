//! The SQLite session store's cache of records it has read, each kept with the
//! [`WalStamp`] of the database it was read under and served again only while the
//! database's stamp is still that one: while no transaction (a revocation, a use, a new
//! session, by any connection in any process) has committed since. A lookup it answers
//! costs a hash lookup and a read of shared memory instead of a read transaction.
//!
//! Only records found are kept, so presenting unknown tokens fills nothing; at
//! [`CAPACITY`] entries the cache starts again empty. Every entry is read from the database
//! again after [`REFRESH_AFTER_HITS`] answers, a bound on what a mistake in the stamp rule
//! could ever serve.

use std::collections::HashMap;

use super::record::SessionRecord;
use crate::sqlite_wal_stamp::WalStamp;

/// The most records kept; a fill beyond it empties the cache first.
pub(crate) const CAPACITY: usize = 10_000;
/// How many lookups one entry answers before it is read from the database again.
pub(crate) const REFRESH_AFTER_HITS: u32 = 1_000;

#[derive(Debug)]
struct Entry {
    record: SessionRecord,
    stamp: WalStamp,
    hits: u32,
}

/// Records by session id, each valid under one stamp.
#[derive(Debug, Default)]
pub(crate) struct RecordCache {
    entries: HashMap<String, Entry>,
    hits: u64,
    misses: u64,
}

impl RecordCache {
    /// The record of `id` if it was read under `now` (the database's stamp at this lookup)
    /// and has not used up its answers; counts a hit or a miss.
    pub fn lookup(&mut self, id: &str, now: WalStamp) -> Option<SessionRecord> {
        let found = match self.entries.get_mut(id) {
            Some(entry) if entry.stamp == now && entry.hits < REFRESH_AFTER_HITS => {
                entry.hits += 1;
                Some(entry.record.clone())
            }
            _ => None,
        };
        match found {
            Some(_) => self.hits += 1,
            None => self.misses += 1,
        }
        found
    }

    /// Keeps `record`, read from the database under `stamp` (the same stamp before and
    /// after the read).
    pub fn fill(&mut self, record: &SessionRecord, stamp: WalStamp) {
        if self.entries.len() >= CAPACITY && !self.entries.contains_key(&record.id) {
            self.entries.clear();
        }
        self.entries.insert(
            record.id.clone(),
            Entry {
                record: record.clone(),
                stamp,
                hits: 0,
            },
        );
    }

    /// Forgets `id` (its record was not found, or could not be read under one stamp).
    pub fn forget(&mut self, id: &str) {
        self.entries.remove(id);
    }

    /// `(hits, misses)` since the store opened.
    pub fn counts(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    /// How many records are kept.
    pub fn kept(&self) -> usize {
        self.entries.len()
    }
}
