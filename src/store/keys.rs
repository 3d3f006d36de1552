//! Idempotency keys: which request first carried each key, kept so that writing a new key costs little.
//!
//! The key table holds a 64-bit hash of each key ([`key_hash`]) rather than the key: an entry takes about a third
//! of the room a UUID key did (3,351 pages for 757k keys, against 9,349), so fewer pages are read and rewritten
//! per new key. Two different keys with the same hash are told apart by comparing with the key in the first
//! request's row; see [`KeyIndex::first_sighting`].
//!
//! Keys are random (UUIDs, provider event ids), so each new key written straight into the key table's B-tree
//! lands on a random page, and every commit would rewrite one page per new key. Instead, new keys wait in memory
//! (`recent`) and are merged into the table a slice at a time in the table's (hash) order, so that one commit
//! writes many keys into each page it touches: a small log-structured merge. Nothing is lost by keeping them in
//! memory: each key is also in its request's row, committed with it, and start-up reloads the ones not yet merged
//! from there.
//!
//! A key whose first request retention has removed is stale: it counts as never seen. Stale keys leave the table
//! by a sweep that walks it in hash order, for the same reason.
//!
//! A Bloom filter of the table's keys (`key_filter`) answers most lookups of new keys without touching the table.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use xxhash_rust::xxh3::xxh3_64;

use super::counters::Counter;
use super::key_filter::{Build, BuildState, KeyFilter};
use super::waiting_keys::{Sighting, WaitingKeys};

/// How many keys may wait in memory under sustained load: a waiting key is its hash and its request's id, about
/// 2 MB of buckets at the cap, plus a queue of ids of up to a few times as many entries (peak RSS at full load fell
/// by 8.7 MB when waiting keys stopped keeping their bytes). The more wait, the more of them share a page of the
/// key table when merged: on a store of 757k keys a commit wrote 4.0 pages of the key table with 32k waiting, 1.6
/// with 64k (WAL frames of runs stopped mid-load).
const RECENT_CAP: usize = 64 * 1024;

/// Past the cap, each batch merges this many waiting keys per request it inserted (between the two bounds below):
/// keys consecutive in hash order, so they share the pages they land on; merging only as many as arrive (one or two
/// per batch at moderate load) would put each on a page of its own again. Merging faster than keys arrive brings
/// the waiting keys back under the cap, so only some batches merge, and none merges so many that its commit stalls.
const MERGE_PER_INSERT: usize = 16;
const MERGE_MIN: usize = 64;
const MERGE_MAX: usize = 1024;

/// When the writer was idle before a batch, this many waiting keys are merged with it, so that a quiet store
/// soon has all of them in its table.
const IDLE_MERGE: usize = 256;

/// How many keys the stale-key sweep looks at per key inserted: twice as many as arrive, so stale keys stay at
/// most about as many as live ones.
const SWEEP_PER_INSERT: usize = 2;

/// The hash the key table is keyed by. It is stored, so it must never change: xxh3 is specified and
/// seedless, unlike the standard library's hasher.
pub(super) fn key_hash(key: &[u8]) -> i64 {
    i64::from_ne_bytes(xxh3_64(key).to_ne_bytes())
}

/// The key index as the writer holds it between batches.
pub(super) struct KeyIndex {
    /// First sightings not yet in the key table, by key hash.
    recent: WaitingKeys,
    /// Where the next merge resumes, in hash order; `None` at the start.
    merge_after: Option<i64>,
    /// Where the stale-key sweep resumes, in hash order; `None` at the start.
    sweep_after: Option<i64>,
    /// What `keys_merged_below` holds in the database.
    stored_merged_below: i64,
    /// Every key in the table, and maybe some that left it; `None` until the first build finishes.
    filter: Option<KeyFilter>,
    /// A build of the filter in progress.
    build: Option<Build>,
    /// The database file, for the build's own connection.
    database: Option<PathBuf>,
    first_build_started: bool,
}

/// What one batch changes in the key index, applied only once the batch commits.
#[derive(Default)]
pub(super) struct BatchKeys {
    /// First sightings in this batch, by key hash.
    new: HashMap<i64, Sighting, foldhash::fast::RandomState>,
    /// Key hashes merged into the table in this batch, with the id they were merged with.
    merged: Vec<(i64, i64)>,
    merge_after: Option<Option<i64>>,
    /// The hashes merged in this batch: every sighting of `recent` in that range.
    merged_hashes: Option<RangeInclusive<i64>>,
    sweep_after: Option<Option<i64>>,
    merged_below: Option<i64>,
    /// Key hashes written to the table outside merges (a waiting key whose request is deleted).
    persisted: Vec<i64>,
    /// Every key was forgotten in this batch (the table emptied); what waited in memory no longer counts.
    cleared: bool,
}

impl BatchKeys {
    /// Forgets every key, the table having been emptied in this batch.
    pub(super) fn clear(&mut self) {
        *self = BatchKeys {
            cleared: true,
            ..BatchKeys::default()
        };
    }
}

impl KeyIndex {
    /// Loads the keys not yet merged from the requests that carry them.
    pub(super) fn load(conn: &Connection, evicted_through: i64) -> rusqlite::Result<KeyIndex> {
        // Absent from stores written before keys waited in memory: those wrote every key at once.
        let merged_below = Counter::KeysMergedBelow.read(conn)?.unwrap_or(i64::MAX);
        let mut index = KeyIndex {
            recent: WaitingKeys::new(),
            merge_after: None,
            sweep_after: None,
            stored_merged_below: merged_below,
            filter: None,
            build: None,
            database: conn.path().filter(|path| !path.is_empty()).map(PathBuf::from),
            first_build_started: false,
        };

        let mut statement = conn.prepare(
            "SELECT idempotency_key, id FROM requests
             WHERE id >= ?1 AND idempotency_key IS NOT NULL AND duplicate_of IS NULL ORDER BY id",
        )?;
        let mut rows = statement.query([merged_below.max(evicted_through.saturating_add(1))])?;
        while let Some(row) = rows.next()? {
            let key: Vec<u8> = row.get(0)?;
            index.recent.insert(key_hash(&key), Sighting { id: row.get(1)? });
        }
        Ok(index)
    }

    /// The id of the first request that carried `key`, unless that request is gone by retention.
    ///
    /// A sighting found under the key's hash, in the batch, in memory or in the table, may belong to another key
    /// with the same hash (about one chance in 40 million among a million keys): it counts only if the row of the
    /// request it names carried this key, or is gone (see [`same_key`]). When two keys do collide, the later one
    /// takes the entry over; from then on each of them takes it back when repeated, so repeats of either may go
    /// unflagged.
    pub(super) fn first_sighting(
        &self,
        batch: &BatchKeys,
        tx: &Transaction,
        key: &[u8],
        evicted_through: i64,
    ) -> rusqlite::Result<Option<i64>> {
        let hash = key_hash(key);
        let named = match self.waiting(batch, hash) {
            Some(sighting) => Some(sighting.id),
            None if self.filter.as_ref().is_some_and(|filter| !filter.may_contain(hash)) => None,
            None => tx
                .prepare_cached("SELECT first_id FROM idempotency_keys WHERE key_hash = ?1")?
                .query_row([hash], |row| row.get(0))
                .optional()?,
        };
        // A request evicted by retention counts as never seen, with no need to read its row. Any other is in the
        // store (inserted earlier in this batch, or committed) unless deleted, and its row tells whether it carried
        // this key or another with the same hash.
        Ok(match named {
            Some(first_id) if first_id > evicted_through && same_key(tx, first_id, key)? => Some(first_id),
            _ => None,
        })
    }

    /// Records `key` as first seen by request `id`.
    pub(super) fn record(batch: &mut BatchKeys, key: &[u8], id: i64) {
        batch.new.insert(key_hash(key), Sighting { id });
    }

    /// Merges a slice of the waiting keys into the table, sweeps a slice of it for stale keys, and records how far
    /// merging has come. `idle`: the writer had nothing to do before this batch; `inserted`: how many requests
    /// the batch inserted.
    pub(super) fn maintain(
        &self,
        batch: &mut BatchKeys,
        tx: &Transaction,
        evicted_through: i64,
        idle: bool,
        inserted: usize,
    ) -> rusqlite::Result<()> {
        let recent = if batch.cleared { 0 } else { self.recent.len() };
        let waiting = recent + batch.new.len();
        let count = if waiting >= RECENT_CAP {
            (inserted * MERGE_PER_INSERT).clamp(MERGE_MIN, MERGE_MAX)
        } else if idle {
            IDLE_MERGE
        } else {
            0
        };
        if count > 0 && recent > 0 {
            self.merge(batch, tx, evicted_through, self.merge_after, count)?;
        }
        if evicted_through > 0 && inserted > 0 {
            batch.sweep_after = Some(sweep(
                tx,
                self.sweep_after,
                evicted_through,
                inserted * SWEEP_PER_INSERT,
            )?);
        }
        self.record_progress(batch, tx)
    }

    /// Whether no key waits in memory.
    pub(super) fn nothing_waits(&self) -> bool {
        self.recent.is_empty()
    }

    /// Merges every waiting key into the table, as a clean stop does, so that the next start-up has none to
    /// reload: up to twice the cap of requests read before the listener opens (about 130 ms at a million rows).
    pub(super) fn merge_all(
        &self,
        batch: &mut BatchKeys,
        tx: &Transaction,
        evicted_through: i64,
    ) -> rusqlite::Result<()> {
        self.merge(batch, tx, evicted_through, None, self.recent.len())?;
        self.record_progress(batch, tx)
    }

    /// Records how far merging has come once the batch commits.
    fn record_progress(&self, batch: &mut BatchKeys, tx: &Transaction) -> rusqlite::Result<()> {
        let merged_below = self.merged_below_after(batch);
        if merged_below != self.stored_merged_below {
            Counter::KeysMergedBelow.write(tx, merged_below)?;
            batch.merged_below = Some(merged_below);
        }
        Ok(())
    }

    /// Writes up to `count` waiting keys, the next ones in hash order after `after`, into the table.
    fn merge(
        &self,
        batch: &mut BatchKeys,
        tx: &Transaction,
        evicted_through: i64,
        after: Option<i64>,
        count: usize,
    ) -> rusqlite::Result<()> {
        let (slice, reached_end) = self.recent.slice(after, count);
        let (Some(first), Some(last)) = (
            slice.first().map(|(hash, _)| *hash),
            slice.last().map(|(hash, _)| *hash),
        ) else {
            batch.merge_after = Some(None);
            return Ok(());
        };
        for (hash, sighting) in slice {
            // A key whose request is gone by retention is dropped instead of written.
            if sighting.id > evicted_through {
                upsert(tx, hash, sighting.id)?;
            }
            batch.merged.push((hash, sighting.id));
        }
        // Past the last key, the next merge starts over from the first.
        batch.merge_after = Some(if reached_end { None } else { Some(last) });
        batch.merged_hashes = Some(first..=last);
        Ok(())
    }

    /// Every first sighting with a smaller id is in the table once the batch commits.
    fn merged_below_after(&self, batch: &BatchKeys) -> i64 {
        let oldest_waiting = if batch.cleared {
            None
        } else {
            self.recent.oldest_outside(batch.merged_hashes.as_ref())
        };
        oldest_waiting
            .into_iter()
            .chain(batch.new.values().map(|sighting| sighting.id))
            .min()
            .unwrap_or(i64::MAX)
    }

    /// Applies a committed batch.
    pub(super) fn commit(&mut self, batch: BatchKeys) {
        if batch.cleared {
            self.clear();
        }
        let written = batch
            .merged
            .iter()
            .map(|(hash, _)| *hash)
            .chain(batch.persisted.iter().copied());
        for hash in written {
            if let Some(filter) = &mut self.filter {
                filter.insert(hash);
            }
            if let Some(build) = &mut self.build {
                build.written(hash);
            }
        }
        self.refresh_filter();
        for (hash, id) in batch.merged {
            self.recent.remove_if(hash, id);
        }
        // In id order: the waiting keys find their oldest by the order they were remembered in.
        let mut new: Vec<(i64, Sighting)> = batch.new.into_iter().collect();
        new.sort_unstable_by_key(|(_, sighting)| sighting.id);
        for (hash, sighting) in new {
            self.recent.insert(hash, sighting);
        }
        if let Some(after) = batch.merge_after {
            self.merge_after = after;
        }
        if let Some(after) = batch.sweep_after {
            self.sweep_after = after;
        }
        if let Some(merged_below) = batch.merged_below {
            self.stored_merged_below = merged_below;
        }
    }

    /// Takes a finished build's filter, and starts a rebuild once the filter is crowded.
    fn refresh_filter(&mut self) {
        if let Some(build) = &mut self.build {
            match build.state() {
                BuildState::Done(filter) => {
                    self.filter = Some(filter);
                    self.build = None;
                }
                BuildState::Running => {}
                BuildState::Failed => self.build = None,
            }
        }
        // The first build starts with the first batch rather than at start-up, which it would slow down on a
        // large store; keys written before a build starts are in the table it reads, and every key written after
        // is recorded for it.
        let wanted = match &self.filter {
            None => !self.first_build_started,
            Some(filter) => filter.is_crowded(),
        };
        if wanted && self.build.is_none() {
            self.first_build_started = true;
            self.build = self.database.clone().and_then(Build::start);
        }
    }

    /// Whether the filter is built; for tests.
    #[cfg(test)]
    fn filter_ready(&mut self) -> bool {
        self.refresh_filter();
        self.filter.is_some()
    }

    /// Writes the key of request `id` into the table now, if that request was its first sighting and it still
    /// waits in memory: the request is being deleted, and start-up could no longer find the key in its row.
    pub(super) fn persist_before_delete(
        &self,
        batch: &mut BatchKeys,
        tx: &Transaction,
        id: i64,
    ) -> rusqlite::Result<()> {
        let key: Option<Vec<u8>> = tx
            .prepare_cached("SELECT idempotency_key FROM requests WHERE id = ?1 AND duplicate_of IS NULL")?
            .query_row([id], |row| row.get(0))
            .optional()?
            .flatten();
        let Some(key) = key else { return Ok(()) };
        let hash = key_hash(&key);
        if self.waiting(batch, hash).is_some_and(|sighting| sighting.id == id) {
            upsert(tx, hash, id)?;
            batch.persisted.push(hash);
        }
        Ok(())
    }

    /// The first sighting under `hash` not yet in the table: one from this batch, else one waiting in memory
    /// (unless the batch forgot every key).
    fn waiting<'a>(&'a self, batch: &'a BatchKeys, hash: i64) -> Option<&'a Sighting> {
        let waiting = if batch.cleared { None } else { self.recent.get(hash) };
        batch.new.get(&hash).or(waiting)
    }

    fn clear(&mut self) {
        self.recent.clear();
        self.merge_after = None;
        self.sweep_after = None;
    }
}

/// Whether request `id` carried `key`; a request no longer there is taken to have. Callers leave out evicted
/// requests first, so a missing row means a deleted request (its key stays, written to the table before the
/// delete), and a collision of hashes is far less likely than that.
fn same_key(tx: &Transaction, id: i64, key: &[u8]) -> rusqlite::Result<bool> {
    let stored: Option<Option<Vec<u8>>> = tx
        .prepare_cached("SELECT idempotency_key FROM requests WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(match stored {
        Some(Some(stored)) => stored == key,
        Some(None) => false,
        None => true,
    })
}

/// Writes the key with `hash` into the key table as first seen by request `id`, taking over a stale entry.
fn upsert(tx: &Transaction, hash: i64, id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO idempotency_keys (key_hash, first_id) VALUES (?1, ?2)
         ON CONFLICT (key_hash) DO UPDATE SET first_id = excluded.first_id",
    )?
    .execute(params![hash, id])?;
    Ok(())
}

/// Looks at the next `budget` entries of the table in hash order after `after` (from the first when `None`) and
/// removes the stale ones. Returns where the next sweep resumes.
///
/// The range is found first and its stale entries then go in one statement, which SQLite runs as a single pass
/// over the range. Read and deleted one by one, each stale key cost a statement and a walk down the table.
fn sweep(tx: &Transaction, after: Option<i64>, evicted_through: i64, budget: usize) -> rusqlite::Result<Option<i64>> {
    let limit = i64::try_from(budget).unwrap_or(i64::MAX);
    // From the start, the smallest hash there is belongs to the table too; past the largest, nothing does.
    let start = match after {
        None => i64::MIN,
        Some(after) => match after.checked_add(1) {
            Some(next) => next,
            None => return Ok(None),
        },
    };
    let (seen, last): (i64, Option<i64>) = tx
        .prepare_cached(
            "SELECT count(*), max(key_hash) FROM
                 (SELECT key_hash FROM idempotency_keys WHERE key_hash >= ?1 ORDER BY key_hash LIMIT ?2)",
        )?
        .query_row(params![start, limit], |row| Ok((row.get(0)?, row.get(1)?)))?;
    if let Some(last) = last {
        tx.prepare_cached("DELETE FROM idempotency_keys WHERE key_hash BETWEEN ?1 AND ?2 AND first_id <= ?3")?
            .execute(params![start, last, evicted_through])?;
    }
    // At the end of the table the next sweep starts from the beginning.
    Ok(if seen < limit { None } else { last })
}

#[cfg(test)]
mod tests {
    use rusqlite::TransactionBehavior;

    use super::*;
    use crate::store::schema::{Durability, open_writer};

    /// A fresh store's write connection, in a directory that lives as long as the test.
    fn database() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("dir");
        let conn = open_writer(&dir.path().join("keys.db"), Durability::Normal, None).expect("open");
        (dir, conn)
    }

    /// Inserts requests carrying `keys` the way the writer does, in one batch, after an idle writer or a busy one.
    fn insert_batch(conn: &mut Connection, index: &mut KeyIndex, keys: &[&str], idle: bool) -> Vec<Option<i64>> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        let mut batch = BatchKeys::default();
        let mut found = Vec::new();
        for key in keys {
            let duplicate_of = index.first_sighting(&batch, &tx, key.as_bytes(), 0).expect("lookup");
            tx.execute(
                "INSERT INTO requests_1 (received_at, method, path, query, body_size, body_kind, error_count,
                                       warning_count, idempotency_key, duplicate_of, remote_addr)
                 VALUES (0, 'POST', '/', '', 0, 'empty', 0, 0, ?1, ?2, '')",
                params![key.as_bytes(), duplicate_of],
            )
            .expect("insert");
            if duplicate_of.is_none() {
                KeyIndex::record(&mut batch, key.as_bytes(), tx.last_insert_rowid());
            }
            found.push(duplicate_of);
        }
        index.maintain(&mut batch, &tx, 0, idle, keys.len()).expect("maintain");
        tx.commit().expect("commit");
        index.commit(batch);
        found
    }

    fn table_size(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM idempotency_keys", [], |row| row.get(0))
            .expect("count")
    }

    #[test]
    fn the_filter_built_beside_the_writer_misses_no_key_of_the_table() {
        let (_dir, mut conn) = database();
        let mut index = KeyIndex::load(&conn, 0).expect("load");
        let many: Vec<String> = (0..IDLE_MERGE * 2).map(|n| format!("filtered-{n:04}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let firsts: Vec<i64> = (1..=i64::try_from(many.len()).expect("small")).collect();
        insert_batch(&mut conn, &mut index, &refs, false);
        insert_batch(&mut conn, &mut index, &[], true);

        // After a restart the filter is built from the table, while the writer merges the rest into it. Merged in
        // hash order, the first slice left older keys waiting, so the restart reloaded some merged ones too: two
        // idle slices cover them all.
        let mut reloaded = KeyIndex::load(&conn, 0).expect("reload");
        insert_batch(&mut conn, &mut reloaded, &[], true);
        insert_batch(&mut conn, &mut reloaded, &[], true);
        assert!(reloaded.recent.is_empty());
        assert_eq!(table_size(&conn), i64::try_from(many.len()).expect("small"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !reloaded.filter_ready() {
            assert!(std::time::Instant::now() < deadline, "the filter was never built");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let found = insert_batch(&mut conn, &mut reloaded, &refs, false);
        assert_eq!(found, firsts.iter().map(|id| Some(*id)).collect::<Vec<_>>());
        assert_eq!(insert_batch(&mut conn, &mut reloaded, &["never-seen"], false), [None]);
    }

    #[test]
    fn keys_waiting_in_memory_are_found_and_reloaded() {
        let (_dir, mut conn) = database();
        let mut index = KeyIndex::load(&conn, 0).expect("load");
        // A batch of a busy writer under the cap merges nothing: the keys wait in memory.
        let found = insert_batch(&mut conn, &mut index, &["b", "a", "c", "a"], false);
        assert_eq!(found, [None, None, None, Some(2)]);
        assert_eq!(table_size(&conn), 0);
        assert_eq!(insert_batch(&mut conn, &mut index, &["c"], false), [Some(3)]);

        // As after a crash: only the database is left.
        let mut reloaded = KeyIndex::load(&conn, 0).expect("reload");
        assert_eq!(reloaded.recent.len(), 3);
        assert_eq!(
            insert_batch(&mut conn, &mut reloaded, &["b", "d"], false),
            [Some(1), None]
        );
    }

    #[test]
    fn idle_batches_merge_in_key_order_and_record_progress() {
        let (_dir, mut conn) = database();
        let mut index = KeyIndex::load(&conn, 0).expect("load");
        let many: Vec<String> = (0..IDLE_MERGE + 10).map(|n| format!("key-{n:04}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        insert_batch(&mut conn, &mut index, &refs, false);
        assert_eq!(table_size(&conn), 0);

        // A batch after the writer was idle merges one slice, in hash order.
        insert_batch(&mut conn, &mut index, &[], true);
        assert_eq!(table_size(&conn), i64::try_from(IDLE_MERGE).expect("small"));
        let merged_below: i64 = conn
            .query_row(
                "SELECT value FROM counters WHERE name = 'keys_merged_below'",
                [],
                |row| row.get(0),
            )
            .expect("progress");
        assert_eq!(index.stored_merged_below, merged_below);
        assert!(index.recent.ids().iter().all(|id| *id >= merged_below));

        // The next one finishes and starts over; the keys are found in the table now.
        insert_batch(&mut conn, &mut index, &[], true);
        assert_eq!(table_size(&conn), i64::try_from(many.len()).expect("small"));
        assert!(index.recent.is_empty());
        assert_eq!(index.stored_merged_below, i64::MAX);
        assert_eq!(insert_batch(&mut conn, &mut index, &["key-0003"], false), [Some(4)]);
        assert!(KeyIndex::load(&conn, 0).expect("reload").recent.is_empty());
    }

    #[test]
    fn a_clean_stop_merges_every_waiting_key_so_start_up_reloads_none() {
        let (_dir, mut conn) = database();
        let mut index = KeyIndex::load(&conn, 0).expect("load");
        let many: Vec<String> = (0..IDLE_MERGE * 3).map(|n| format!("stop-{n:04}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        insert_batch(&mut conn, &mut index, &refs, false);
        assert_eq!(table_size(&conn), 0, "a busy batch under the cap merges nothing");

        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        let mut batch = BatchKeys::default();
        index.merge_all(&mut batch, &tx, 0).expect("merge all");
        tx.commit().expect("commit");
        index.commit(batch);
        assert_eq!(table_size(&conn), i64::try_from(many.len()).expect("small"));
        assert!(index.recent.is_empty());
        assert_eq!(index.stored_merged_below, i64::MAX);

        let mut reloaded = KeyIndex::load(&conn, 0).expect("reload");
        assert!(reloaded.recent.is_empty(), "nothing left to reload");
        assert_eq!(insert_batch(&mut conn, &mut reloaded, &["stop-0007"], false), [Some(8)]);
    }

    #[test]
    fn keys_of_evicted_requests_count_as_new() {
        let (_dir, mut conn) = database();
        let mut index = KeyIndex::load(&conn, 0).expect("load");
        insert_batch(&mut conn, &mut index, &["old"], true);
        insert_batch(&mut conn, &mut index, &[], true);
        assert_eq!(table_size(&conn), 1, "merged by the idle batch after it");
        let tx = conn.transaction().expect("begin");
        let batch = BatchKeys::default();
        assert_eq!(index.first_sighting(&batch, &tx, b"old", 0).expect("lookup"), Some(1));
        assert_eq!(index.first_sighting(&batch, &tx, b"old", 1).expect("lookup"), None);
    }

    #[test]
    fn the_sweep_removes_stale_keys_and_wraps_around() {
        let (_dir, mut conn) = database();
        let tx = conn.transaction().expect("begin");
        // The smallest hash there is, too: a sweep from the start must see it. Stale keys (first seen at or before
        // request 2) lie among live ones, and one lies just past the first sweep's range.
        for (hash, first_id) in [(i64::MIN, 1), (10, 5), (20, 2), (30, 1), (40, 5)] {
            tx.execute(
                "INSERT INTO idempotency_keys (key_hash, first_id) VALUES (?1, ?2)",
                params![hash, first_id],
            )
            .expect("insert");
        }
        let hashes = |tx: &Transaction| -> Vec<i64> {
            tx.prepare("SELECT key_hash FROM idempotency_keys ORDER BY key_hash")
                .expect("select")
                .query_map([], |row| row.get(0))
                .expect("hashes")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        let after = sweep(&tx, None, 2, 3).expect("sweep");
        assert_eq!(after, Some(20));
        assert_eq!(hashes(&tx), [10, 30, 40], "only the stale keys of the first three go");
        let after = sweep(&tx, after, 2, 3).expect("sweep");
        assert_eq!(after, None, "the end of the table starts the next pass over");
        assert_eq!(hashes(&tx), [10, 40]);
        assert_eq!(
            sweep(&tx, after, 2, 3).expect("sweep"),
            None,
            "a pass over the live keys removes none"
        );
        assert_eq!(hashes(&tx), [10, 40]);
    }

    #[test]
    fn an_entry_under_the_same_hash_counts_only_for_the_key_its_request_carried() {
        let (_dir, mut conn) = database();
        let mut index = KeyIndex::load(&conn, 0).expect("load");
        insert_batch(&mut conn, &mut index, &["carried"], true);
        insert_batch(&mut conn, &mut index, &[], true);
        assert_eq!(table_size(&conn), 1, "merged by the idle batch after it");
        // Make another key's hash name request 1, as a collision would. A reloaded index has no filter yet, so
        // both lookups below go to the table.
        conn.execute(
            "INSERT INTO idempotency_keys (key_hash, first_id) VALUES (?1, 1)",
            [key_hash(b"colliding")],
        )
        .expect("entry");
        let mut reloaded = KeyIndex::load(&conn, 0).expect("reload");
        assert_eq!(
            insert_batch(&mut conn, &mut reloaded, &["carried", "colliding"], false),
            [Some(1), None]
        );
        // Once request 1 is gone (deleted, not evicted), its entry is trusted.
        conn.execute("DELETE FROM requests_1 WHERE id = 1", []).expect("delete");
        let tx = conn.transaction().expect("begin");
        let batch = BatchKeys::default();
        assert_eq!(
            reloaded.first_sighting(&batch, &tx, b"carried", 0).expect("lookup"),
            Some(1)
        );
    }

    #[test]
    fn a_waiting_sighting_under_the_same_hash_counts_only_for_the_key_its_request_carried() {
        let (_dir, mut conn) = database();
        let mut index = KeyIndex::load(&conn, 0).expect("load");
        // Busy batches merge nothing, so both keys stay waiting in memory.
        assert_eq!(
            insert_batch(&mut conn, &mut index, &["carried", "twice", "twice"], false),
            [None, None, Some(2)]
        );
        assert_eq!(insert_batch(&mut conn, &mut index, &["twice"], false), [Some(2)]);
        assert_eq!(table_size(&conn), 0, "nothing merged yet");
        // Make another key's hash name request 1 in memory, as a collision would.
        index.recent.insert(key_hash(b"colliding"), Sighting { id: 1 });
        assert_eq!(
            insert_batch(&mut conn, &mut index, &["colliding", "carried"], false),
            [None, Some(1)]
        );
    }

    #[test]
    fn a_waiting_first_sighting_outlives_its_deleted_request() {
        let (_dir, mut conn) = database();
        let mut index = KeyIndex::load(&conn, 0).expect("load");
        insert_batch(&mut conn, &mut index, &["gone"], false);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .expect("begin");
        let mut batch = BatchKeys::default();
        index.persist_before_delete(&mut batch, &tx, 1).expect("persist");
        tx.execute("DELETE FROM requests_1 WHERE id = 1", []).expect("delete");
        tx.commit().expect("commit");
        index.commit(batch);
        assert_eq!(table_size(&conn), 1, "written to the table before the delete");
        // Still waiting in memory under request 1, whose row is gone: the repeat is a duplicate of it, as before.
        assert_eq!(insert_batch(&mut conn, &mut index, &["gone"], false), [Some(1)]);
    }

    #[test]
    fn the_key_hash_never_changes() {
        // Stored in every key table: a different hash would lose every key of existing stores.
        assert_eq!(
            key_hash(b""),
            i64::from_ne_bytes(0x2d06_8005_38d3_94c2_u64.to_ne_bytes())
        );
    }
}
