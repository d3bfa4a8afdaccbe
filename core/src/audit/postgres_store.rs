//! The PostgreSQL audit store, for several API replicas appending to one log: each append
//! takes a transaction-scoped advisory lock, reads the tail and writes its whole batch in one
//! `INSERT ... SELECT FROM unnest(...)`, so replicas interleave whole batches and the chain
//! stays contiguous. Triggers refuse updates, deletes other than retention's, `TRUNCATE`,
//! out-of-order inserts and any change to tiles or checkpoints; `PUBLIC` holds no write
//! privilege on the tables (see [`PostgresAuditStore::grant_sql`] for a writer role).

use postgres::{Client, Row};

use super::event::AuditEvent;
use super::merkle::Hash;
use super::record::{hash_from_bytes, AuditRecord};
use super::store::{
    write_completed_tiles, AuditMeta, AuditQuery, AuditStore, TileTx, TILE_RECORDS,
};
use crate::error::{Error, ErrorCode};
use crate::pg_pool::{col, commit, commit_failed, PgPool};

/// The advisory lock key appends and migrations take ("iwaudit").
const APPEND_LOCK: i64 = 0x0069_7761_7564_6974;

/// The schema and its guards (idempotent; run under the advisory lock).
pub const POSTGRES_AUDIT_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS iw_audit_log (
    seq BIGINT PRIMARY KEY,
    timestamp_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash BYTEA NOT NULL,
    hash BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS iw_audit_log_time ON iw_audit_log (timestamp_ms);
CREATE TABLE IF NOT EXISTS iw_audit_meta (
    id INT PRIMARY KEY CHECK (id = 1),
    pruned_below BIGINT NOT NULL,
    anchor BYTEA NOT NULL
);
INSERT INTO iw_audit_meta (id, pruned_below, anchor)
    VALUES (1, 0, decode(repeat('00', 32), 'hex')) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS iw_audit_tiles (
    level INT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE IF NOT EXISTS iw_audit_checkpoints (
    size BIGINT PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION iw_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'invalid_transition: % on % is refused (the audit log is append-only)', TG_OP, TG_TABLE_NAME;
END $$;
CREATE OR REPLACE FUNCTION iw_audit_retention_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seq >= (SELECT pruned_below FROM iw_audit_meta WHERE id = 1) THEN
        RAISE EXCEPTION 'invalid_transition: audit records are deleted only by retention';
    END IF;
    RETURN OLD;
END $$;
CREATE OR REPLACE FUNCTION iw_audit_contiguous() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE expected BIGINT;
BEGIN
    SELECT coalesce((SELECT max(seq) + 1 FROM iw_audit_log), (SELECT pruned_below FROM iw_audit_meta WHERE id = 1))
        INTO expected;
    IF NEW.seq IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'invalid_transition: audit records are appended in sequence';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION iw_audit_meta_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.pruned_below <= OLD.pruned_below OR NEW.id IS DISTINCT FROM OLD.id THEN
        RAISE EXCEPTION 'invalid_transition: the retention cut only moves forward';
    END IF;
    RETURN NEW;
END $$;
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgname = 'iw_audit_log_no_update' AND tgrelid = 'iw_audit_log'::regclass) THEN
        CREATE TRIGGER iw_audit_log_no_update BEFORE UPDATE ON iw_audit_log
            FOR EACH ROW EXECUTE FUNCTION iw_audit_refuse();
        CREATE TRIGGER iw_audit_log_no_truncate BEFORE TRUNCATE ON iw_audit_log
            FOR EACH STATEMENT EXECUTE FUNCTION iw_audit_refuse();
        CREATE TRIGGER iw_audit_log_retention_only BEFORE DELETE ON iw_audit_log
            FOR EACH ROW EXECUTE FUNCTION iw_audit_retention_only();
        CREATE TRIGGER iw_audit_log_contiguous BEFORE INSERT ON iw_audit_log
            FOR EACH ROW EXECUTE FUNCTION iw_audit_contiguous();
        CREATE TRIGGER iw_audit_meta_forward BEFORE UPDATE ON iw_audit_meta
            FOR EACH ROW EXECUTE FUNCTION iw_audit_meta_forward();
        CREATE TRIGGER iw_audit_meta_no_delete BEFORE DELETE OR TRUNCATE ON iw_audit_meta
            FOR EACH STATEMENT EXECUTE FUNCTION iw_audit_refuse();
        CREATE TRIGGER iw_audit_tiles_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON iw_audit_tiles
            FOR EACH STATEMENT EXECUTE FUNCTION iw_audit_refuse();
        CREATE TRIGGER iw_audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON iw_audit_checkpoints
            FOR EACH STATEMENT EXECUTE FUNCTION iw_audit_refuse();
    END IF;
END $$;
REVOKE ALL ON iw_audit_log, iw_audit_meta, iw_audit_tiles, iw_audit_checkpoints FROM PUBLIC;
"#;

const COLUMNS: &str =
    "seq, timestamp_ms, actor, source, action, target, outcome, correlation_id, details, prev_hash, hash";

/// The store's name in errors.
const LABEL: &str = "audit store (postgres)";

fn db_err(e: postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        // A guard's refusal, or a sequence number already taken (another writer appended
        // first: the caller retries after reading the tail).
        if db.message().contains("invalid_transition")
            || (db.code().code() == "23505" && db.constraint() == Some("iw_audit_log_pkey"))
        {
            return Error::with_detail(
                ErrorCode::InvalidTransition,
                "audit store (postgres) refused the write (append-only guard or a taken sequence number)",
            )
            .with_cause(db.message());
        }
    }
    crate::pg_pool::unavailable(LABEL, &e)
}

/// A row that does not decode is `dependency_unavailable` with `reason = corrupt_row`,
/// never a panic.
fn row_to_record(row: &Row) -> Result<AuditRecord, Error> {
    let c = |e: postgres::Error| crate::pg_pool::corrupt_row(LABEL, e);
    Ok(AuditRecord {
        seq: row.try_get(0).map_err(c)?,
        timestamp_ms: row.try_get(1).map_err(c)?,
        actor: row.try_get(2).map_err(c)?,
        source: row.try_get(3).map_err(c)?,
        action: row.try_get(4).map_err(c)?,
        target: row.try_get(5).map_err(c)?,
        outcome: row.try_get(6).map_err(c)?,
        correlation_id: row.try_get(7).map_err(c)?,
        details: row.try_get(8).map_err(c)?,
        prev_hash: hash_from_bytes(row.try_get::<_, &[u8]>(9).map_err(c)?),
        hash: hash_from_bytes(row.try_get::<_, &[u8]>(10).map_err(c)?),
    })
}

/// What an append keeps on its connection: the statements prepared on it (once per
/// connection: a replaced connection prepares them again) and the tail it last wrote.
#[derive(Default)]
struct AppendState {
    append: Option<AppendStatements>,
    /// The tail this connection last committed: the next append assumes it is still the
    /// tail (the contiguity trigger refuses the batch if another writer moved it, and the
    /// append is retried after reading the tail), saving a round trip per batch.
    tail: Option<(i64, Hash)>,
    /// Appends left that read the tail instead of assuming it, after a refused guess
    /// (other replicas are appending: guessing would mostly cost a retry).
    read_tail_for: u32,
}

/// How many appends read the tail after a refused guess before guessing again.
const READ_TAIL_AFTER_CONFLICT: u32 = 64;

struct AppendStatements {
    tail: postgres::Statement,
    insert: postgres::Statement,
}

/// Opens the append transaction and takes the lock in one round trip (simple protocol). The
/// tail is read by the next statement: a statement in the same query string would not see
/// a batch committed while it waited for the lock (measured: the contiguity trigger refused
/// the stale tail).
const BEGIN_AND_LOCK: &str = "BEGIN; SELECT pg_advisory_xact_lock(29686133019666804)";
const _: () = assert!(APPEND_LOCK == 29_686_133_019_666_804);

/// The PostgreSQL audit store. One connection: appends are serialised by the advisory lock
/// anyway, and one connection keeps the tail it wrote (saving a round trip per batch).
pub struct PostgresAuditStore {
    pool: PgPool<AppendState>,
}

impl std::fmt::Debug for PostgresAuditStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresAuditStore").finish_non_exhaustive()
    }
}

struct PgTiles<'a>(&'a mut Client);

impl TileTx for PgTiles<'_> {
    fn leaves(&mut self, start: u64, end: u64) -> Result<Vec<Hash>, Error> {
        read_leaves(self.0, start, end)
    }

    fn tile_hashes(&mut self, level: u32, start: u64, end: u64) -> Result<Vec<Hash>, Error> {
        Ok(read_tiles(self.0, level, start, end)?
            .into_iter()
            .map(|(_, h)| h)
            .collect())
    }

    fn put_tile(&mut self, level: u32, index: u64, hash: &Hash) -> Result<(), Error> {
        self.0
            .execute(
                "INSERT INTO iw_audit_tiles (level, idx, hash) VALUES ($1, $2, $3)",
                &[&(level as i32), &(index as i64), &&hash[..]],
            )
            .map_err(db_err)?;
        Ok(())
    }
}

fn read_leaves(
    c: &mut impl postgres::GenericClient,
    start: u64,
    end: u64,
) -> Result<Vec<Hash>, Error> {
    let end = end.min(i64::MAX as u64);
    c.query(
        "SELECT hash FROM iw_audit_log WHERE seq >= $1 AND seq < $2 ORDER BY seq",
        &[&(start as i64), &(end as i64)],
    )
    .map_err(db_err)?
    .iter()
    .map(|r| Ok(hash_from_bytes(col::<&[u8]>(r, 0, LABEL)?)))
    .collect()
}

fn read_tiles(
    c: &mut impl postgres::GenericClient,
    level: u32,
    start: u64,
    end: u64,
) -> Result<Vec<(u64, Hash)>, Error> {
    let end = end.min(i64::MAX as u64);
    c.query(
        "SELECT idx, hash FROM iw_audit_tiles WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        &[&(level as i32), &(start as i64), &(end as i64)],
    )
    .map_err(db_err)?
    .iter()
    .map(|r| {
        Ok((
            col::<i64>(r, 0, LABEL)? as u64,
            hash_from_bytes(col::<&[u8]>(r, 1, LABEL)?),
        ))
    })
    .collect()
}

fn read_meta(c: &mut impl postgres::GenericClient) -> Result<AuditMeta, Error> {
    let row = c
        .query_one(
            "SELECT pruned_below, anchor, (SELECT max(seq) FROM iw_audit_log)
             FROM iw_audit_meta WHERE id = 1",
            &[],
        )
        .map_err(db_err)?;
    let pruned_below = col::<i64>(&row, 0, LABEL)?.max(0) as u64;
    let max_seq: Option<i64> = col(&row, 2, LABEL)?;
    Ok(AuditMeta {
        pruned_below,
        anchor: hash_from_bytes(col::<&[u8]>(&row, 1, LABEL)?),
        size: max_seq
            .map(|s| s.max(-1).saturating_add(1) as u64)
            .unwrap_or(pruned_below)
            .max(pruned_below),
    })
}

impl PostgresAuditStore {
    /// Connects and migrates the schema (under the advisory lock, so replicas starting
    /// together do not race).
    pub fn connect(url: &str) -> Result<Self, Error> {
        let pool = PgPool::connect_with(url, 1, LABEL, |client| {
            let mut tx = client.transaction().map_err(db_err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
                .map_err(db_err)?;
            tx.batch_execute(POSTGRES_AUDIT_SCHEMA).map_err(db_err)?;
            commit(tx, LABEL)
        })?;
        Ok(PostgresAuditStore { pool })
    }

    /// Connects to an existing log without migrating anything (for a verifier or an export
    /// running with a read-only role).
    pub fn connect_existing(url: &str) -> Result<Self, Error> {
        let pool = PgPool::connect_with(url, 1, LABEL, |_| Ok(()))?;
        Ok(PostgresAuditStore { pool })
    }

    /// The statements that give `role` what an application replica needs and nothing more:
    /// read everything, insert records, tiles and checkpoints, move the retention anchor,
    /// and delete (retention only: the trigger refuses any newer record).
    pub fn grant_sql(role: &str) -> String {
        let role = format!("\"{}\"", role.replace('"', "\"\""));
        format!(
            "GRANT SELECT, INSERT, DELETE ON iw_audit_log TO {role};\n\
             GRANT SELECT, INSERT ON iw_audit_tiles, iw_audit_checkpoints TO {role};\n\
             GRANT SELECT, UPDATE ON iw_audit_meta TO {role};\n"
        )
    }

    fn with<T>(&self, mut f: impl FnMut(&mut Client) -> Result<T, Error>) -> Result<T, Error> {
        self.pool.run(|conn| f(conn.client()))
    }
}

/// One append transaction: lock, the tail (read unless `guess` is given), the batch, commit;
/// rolled back on any error.
fn append_transaction(
    client: &mut Client,
    st: &AppendStatements,
    guess: Option<(i64, Hash)>,
    events: &[AuditEvent],
) -> Result<Vec<AuditRecord>, Error> {
    if let Err(e) = client.batch_execute(BEGIN_AND_LOCK) {
        let _ = client.batch_execute("ROLLBACK");
        return Err(db_err(e));
    }
    let tail = match guess {
        Some(t) => Ok(Some(t)),
        None => client
            .query_opt(&st.tail, &[])
            .map_err(db_err)
            .and_then(|row| {
                row.map(|r| {
                    Ok((
                        col::<i64>(&r, 0, LABEL)?,
                        hash_from_bytes(col::<&[u8]>(&r, 1, LABEL)?),
                    ))
                })
                .transpose()
            }),
    };
    let outcome = tail
        .and_then(|tail| append_locked(client, st, tail, events))
        .and_then(|records| {
            client
                .batch_execute("COMMIT")
                .map_err(|e| commit_failed(LABEL, e))?;
            Ok(records)
        });
    if outcome.is_err() {
        let _ = client.batch_execute("ROLLBACK");
    }
    outcome
}

/// The body of an append, inside the transaction that holds the lock.
fn append_locked(
    client: &mut Client,
    st: &AppendStatements,
    tail: Option<(i64, Hash)>,
    events: &[AuditEvent],
) -> Result<Vec<AuditRecord>, Error> {
    let (mut next, mut prev) = match tail {
        Some((seq, hash)) => (seq.saturating_add(1).max(0) as u64, hash),
        None => {
            let meta = read_meta(client)?;
            (meta.pruned_below, meta.empty_tail())
        }
    };
    let old_size = next;
    let records: Vec<AuditRecord> = events
        .iter()
        .map(|e| {
            let r = AuditRecord::chained(e, next, prev);
            prev = r.hash;
            next += 1;
            r
        })
        .collect();
    let col = |f: fn(&AuditRecord) -> &str| records.iter().map(f).collect::<Vec<&str>>();
    let seqs: Vec<i64> = records.iter().map(|r| r.seq).collect();
    let times: Vec<i64> = records.iter().map(|r| r.timestamp_ms).collect();
    let prevs: Vec<&[u8]> = records.iter().map(|r| &r.prev_hash[..]).collect();
    let hashes: Vec<&[u8]> = records.iter().map(|r| &r.hash[..]).collect();
    client
        .execute(
            &st.insert,
            &[
                &seqs,
                &times,
                &col(|r| &r.actor),
                &col(|r| &r.source),
                &col(|r| &r.action),
                &col(|r| &r.target),
                &col(|r| &r.outcome),
                &col(|r| &r.correlation_id),
                &col(|r| &r.details),
                &prevs,
                &hashes,
            ],
        )
        .map_err(db_err)?;
    write_completed_tiles(&mut PgTiles(client), old_size, next)?;
    Ok(records)
}

impl AuditStore for PostgresAuditStore {
    fn append(&self, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, Error> {
        self.pool.run(|conn| {
            if conn.state.append.is_none() {
                let client = conn.client();
                conn.state.append = Some(AppendStatements {
                    tail: client
                        .prepare("SELECT seq, hash FROM iw_audit_log ORDER BY seq DESC LIMIT 1")
                        .map_err(db_err)?,
                    insert: client
                        .prepare(&format!(
                            "INSERT INTO iw_audit_log ({COLUMNS})
                             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[],
                                                  $5::text[], $6::text[], $7::text[], $8::text[],
                                                  $9::text[], $10::bytea[], $11::bytea[])
                             ORDER BY 1"
                        ))
                        .map_err(db_err)?,
                });
            }
            let (
                client,
                AppendState {
                    append,
                    tail,
                    read_tail_for,
                },
            ) = conn.parts();
            let Some(st) = append.as_ref() else {
                return Err(Error::new(ErrorCode::InternalError));
            };
            // Three round trips when this connection wrote the tail (BEGIN with the lock, the
            // batch, COMMIT); a fourth reads the tail when it did not, or when another writer
            // moved it (the contiguity trigger refuses the guess, and the batch is retried).
            let guess = tail.take().filter(|_| *read_tail_for == 0);
            *read_tail_for = read_tail_for.saturating_sub(1);
            let mut outcome = append_transaction(client, st, guess, events);
            if guess.is_some()
                && matches!(&outcome, Err(e) if e.code() == ErrorCode::InvalidTransition)
            {
                *read_tail_for = READ_TAIL_AFTER_CONFLICT;
                outcome = append_transaction(client, st, None, events);
            }
            if let Ok(records) = &outcome {
                *tail = records.last().map(|r| (r.seq, r.hash));
            }
            outcome.map_err(|e| {
                if e.code() == ErrorCode::InvalidTransition {
                    Error::with_detail(ErrorCode::DependencyUnavailable, e.detail().to_owned())
                } else {
                    e
                }
            })
        })
    }

    fn meta(&self) -> Result<AuditMeta, Error> {
        self.with(read_meta)
    }

    fn count(&self) -> Result<u64, Error> {
        self.with(|c| {
            let row = c
                .query_one("SELECT count(*) FROM iw_audit_log", &[])
                .map_err(db_err)?;
            let n: i64 = col(&row, 0, LABEL)?;
            Ok(n.max(0) as u64)
        })
    }

    fn records(&self, from: i64, limit: usize) -> Result<Vec<AuditRecord>, Error> {
        self.with(|c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM iw_audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
                ),
                &[&from, &(limit as i64)],
            )
            .map_err(db_err)?
            .iter()
            .map(row_to_record)
            .collect()
        })
    }

    fn record(&self, seq: i64) -> Result<Option<AuditRecord>, Error> {
        self.with(|c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM iw_audit_log WHERE seq = $1"),
                &[&seq],
            )
            .map_err(db_err)?
            .as_ref()
            .map(row_to_record)
            .transpose()
        })
    }

    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, Error> {
        self.with(|c| read_leaves(c, start, end))
    }

    fn tiles(&self, level: u32, start: u64, end: u64) -> Result<Vec<(u64, Hash)>, Error> {
        self.with(|c| read_tiles(c, level, start, end))
    }

    fn save_checkpoint(&self, size: u64, note: &str) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT INTO iw_audit_checkpoints (size, note) VALUES ($1, $2) ON CONFLICT (size) DO NOTHING",
                &[&(size as i64), &note],
            )
            .map_err(db_err)?;
            Ok(())
        })
    }

    fn checkpoints(&self) -> Result<Vec<(u64, String)>, Error> {
        self.with(|c| {
            c.query(
                "SELECT size, note FROM iw_audit_checkpoints ORDER BY size",
                &[],
            )
            .map_err(db_err)?
            .iter()
            .map(|r| Ok((col::<i64>(r, 0, LABEL)?.max(0) as u64, col(r, 1, LABEL)?)))
            .collect()
        })
    }

    fn prune(&self, cut: u64) -> Result<u64, Error> {
        if !cut.is_multiple_of(TILE_RECORDS) {
            return Err(Error::with_detail(
                ErrorCode::InternalError,
                "the retention cut is a multiple of 256",
            ));
        }
        self.with(|client| {
            let mut tx = client.transaction().map_err(db_err)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&APPEND_LOCK])
                .map_err(db_err)?;
            let meta = read_meta(&mut tx)?;
            if cut <= meta.pruned_below || cut > meta.size {
                return Ok(0);
            }
            let row = tx
                .query_one(
                    "SELECT hash FROM iw_audit_log WHERE seq = $1",
                    &[&(cut as i64 - 1)],
                )
                .map_err(db_err)?;
            let anchor: Vec<u8> = col(&row, 0, LABEL)?;
            tx.execute(
                "UPDATE iw_audit_meta SET pruned_below = $1, anchor = $2 WHERE id = 1",
                &[&(cut as i64), &anchor],
            )
            .map_err(db_err)?;
            let deleted = tx
                .execute("DELETE FROM iw_audit_log WHERE seq < $1", &[&(cut as i64)])
                .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok(deleted)
        })
    }

    fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, Error> {
        let order = if query.newest_first { "DESC" } else { "ASC" };
        self.with(|c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM iw_audit_log
                     WHERE ($1::bigint IS NULL OR timestamp_ms >= $1) AND ($2::bigint IS NULL OR timestamp_ms < $2)
                       AND ($3::text IS NULL OR actor = $3) AND ($4::text IS NULL OR action = $4)
                       AND ($5::text IS NULL OR source = $5) AND ($6::text IS NULL OR outcome = $6)
                       AND ($7::text IS NULL OR correlation_id = $7)
                       AND seq > $8 AND seq < $9
                     ORDER BY seq {order} LIMIT $10"
                ),
                &[
                    &query.since_ms,
                    &query.until_ms,
                    &query.actor,
                    &query.action,
                    &query.source,
                    &query.outcome,
                    &query.correlation_id,
                    &query.after_seq.unwrap_or(-1),
                    &query.before_seq.unwrap_or(i64::MAX),
                    &(query.page_size() as i64),
                ],
            )
            .map_err(db_err)?
            .iter()
            .map(row_to_record)
            .collect()
        })
    }
}
