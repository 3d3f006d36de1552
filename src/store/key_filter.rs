//! A Bloom filter of the key hashes in the key table (see `keys::key_hash`), so that a key never seen before (nearly every key) is known to be
//! new without a lookup in the table: with random keys that lookup is a descent to a random page, about a tenth
//! of the writer's time per capture, and more once the table outgrows the page cache.
//!
//! A filter has no false negatives: every key in the table is in it, so "absent" is certain and "present" only
//! means "look in the table". It is built by a thread of its own from a scan of the table, never by the writer
//! and not during start-up (a million keys take longer to read than start-up may), and rebuilt larger once so
//! many keys were added that false positives grow common. Keys swept from the table stay in the filter until the
//! next build; they only cost a lookup.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError, sync_channel};

use rusqlite::{Connection, OpenFlags};

/// Bits per key the filter is sized for, and probes per key: with 16 bits a key and 7 probes, about 0.1 % of new
/// keys are false positives; the filter is rebuilt when it holds a key per [`REBUILD_BITS_PER_KEY`] bits (about
/// 1 %).
const BITS_PER_KEY: usize = 16;
const PROBES: u64 = 7;
const REBUILD_BITS_PER_KEY: usize = 10;

/// The smallest filter, in bits (32 KiB): enough for 16k keys before the first rebuild.
const MIN_BITS: usize = 1 << 18;

/// The filter itself.
pub(super) struct KeyFilter {
    bits: Vec<u64>,
    /// Number of bits minus one (a power of two minus one).
    mask: u64,
    /// Keys added, counting those the build found.
    added: usize,
}

impl KeyFilter {
    /// An empty filter sized for `keys` keys.
    pub(super) fn with_capacity(keys: usize) -> KeyFilter {
        let bits = keys.saturating_mul(BITS_PER_KEY).max(MIN_BITS).next_power_of_two();
        KeyFilter {
            bits: vec![0; bits / 64],
            mask: (bits - 1) as u64,
            added: 0,
        }
    }

    /// Adds a key by its hash.
    pub(super) fn insert(&mut self, hash: i64) {
        for bit in positions(hash, self.mask) {
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
        self.added += 1;
    }

    /// Whether the key with `hash` may be in the table; `false` is certain.
    pub(super) fn may_contain(&self, hash: i64) -> bool {
        positions(hash, self.mask).all(|bit| self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }

    /// Whether so many keys were added that it should be rebuilt larger.
    pub(super) fn is_crowded(&self) -> bool {
        self.added.saturating_mul(REBUILD_BITS_PER_KEY) > self.bits.len() * 64
    }
}

/// The probed bits: double hashing from the two halves of one 64-bit hash.
fn positions(hash: i64, mask: u64) -> impl Iterator<Item = u64> {
    let hash = u64::from_ne_bytes(hash.to_ne_bytes());
    let first = hash & 0xffff_ffff;
    let step = (hash >> 32) | 1;
    (0..PROBES).map(move |probe| first.wrapping_add(probe.wrapping_mul(step)) & mask)
}

/// Where a build stands.
pub(super) enum BuildState {
    Done(KeyFilter),
    Running,
    /// The scan failed; lookups go to the table.
    Failed,
}

/// A build in progress: the thread's answer, and the keys written to the table since it started, which its scan
/// may have missed.
pub(super) struct Build {
    done: Receiver<KeyFilter>,
    written_since: Vec<i64>,
}

impl Build {
    /// Starts a scan of the key table in `database` on a thread of its own. The caller must record every key it
    /// writes to the table from now on with [`Build::written`].
    pub(super) fn start(database: PathBuf) -> Option<Build> {
        let (sender, done) = sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("hookscope-keyscan".into())
            .spawn(move || match scan(&database) {
                Ok(filter) => drop(sender.send(filter)),
                // Without a filter every lookup goes to the table: slower, never wrong.
                Err(error) => tracing::debug!(%error, "could not build the idempotency key filter"),
            });
        match spawned {
            Ok(_) => Some(Build {
                done,
                written_since: Vec::new(),
            }),
            Err(error) => {
                tracing::debug!(%error, "could not start the idempotency key scan");
                None
            }
        }
    }

    pub(super) fn written(&mut self, hash: i64) {
        self.written_since.push(hash);
    }

    /// The finished filter, with every key written meanwhile added, once the scan is over.
    pub(super) fn state(&mut self) -> BuildState {
        match self.done.try_recv() {
            Ok(mut filter) => {
                for hash in self.written_since.drain(..) {
                    filter.insert(hash);
                }
                BuildState::Done(filter)
            }
            Err(TryRecvError::Empty) => BuildState::Running,
            Err(TryRecvError::Disconnected) => BuildState::Failed,
        }
    }
}

/// Reads every key hash of the table on a read-only connection of its own.
fn scan(database: &std::path::Path) -> rusqlite::Result<KeyFilter> {
    let mut conn = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    super::schema::configure_reader(&mut conn)?;
    let mut statement = conn.prepare("SELECT key_hash FROM idempotency_keys")?;
    let hashes = statement
        .query_map([], |row| row.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    // Room for as many again before the next rebuild.
    let mut filter = KeyFilter::with_capacity(hashes.len().saturating_mul(2));
    for hash in hashes {
        filter.insert(hash);
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::keys::key_hash;

    #[test]
    fn every_added_key_is_found_and_few_others_are() {
        let mut filter = KeyFilter::with_capacity(10_000);
        let key = |n: usize| key_hash(format!("{n:08x}-4b57-9b61-0a5b7a0c6a11").as_bytes());
        for n in 0..10_000 {
            filter.insert(key(n));
        }
        assert!((0..10_000).all(|n| filter.may_contain(key(n))));
        let false_positives = (10_000..110_000).filter(|n| filter.may_contain(key(*n))).count();
        assert!(
            false_positives < 500,
            "{false_positives} of 100,000 new keys looked present"
        );
        assert!(!filter.is_crowded());
    }

    #[test]
    fn a_filter_grown_past_its_size_asks_to_be_rebuilt() {
        let mut filter = KeyFilter::with_capacity(0);
        let capacity = MIN_BITS / REBUILD_BITS_PER_KEY;
        for n in 0..=capacity {
            filter.insert(key_hash(n.to_string().as_bytes()));
        }
        assert!(filter.is_crowded());
    }
}
