//! Named counters the writer keeps in the `counters` table, in the same transaction as the rows they describe, so
//! that start-up reads a few numbers instead of counting or scanning large tables.

use rusqlite::{Connection, OptionalExtension};

/// One counter of the `counters` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counter {
    /// How many requests are stored and not evicted.
    Stored,
    /// Retention has evicted every request up to this id; readers leave them out.
    EvictedThrough,
    /// The newest id the lookup tables hold; the requests above it are the tail (see `lookups.rs`).
    IndexedThrough,
    /// The newest id ever handed out, written when a delete may have removed the newest request, so that start-up
    /// never hands an id out again.
    LastId,
    /// The oldest request whose idempotency key may still wait in memory (see `keys.rs`).
    KeysMergedBelow,
    /// How many requests retention (`--keep`) has evicted since the store was created or last cleared.
    Evicted,
}

impl Counter {
    /// Every counter, as a new store starts them.
    pub(super) const STARTING: [(Counter, i64); 4] = [
        (Counter::Stored, 0),
        (Counter::EvictedThrough, 0),
        (Counter::IndexedThrough, 0),
        (Counter::LastId, 0),
    ];

    /// The counter's row name.
    pub(super) fn name(self) -> &'static str {
        match self {
            Counter::Stored => "stored",
            Counter::EvictedThrough => "evicted_through",
            Counter::IndexedThrough => "indexed_through",
            Counter::LastId => "last_id",
            Counter::KeysMergedBelow => "keys_merged_below",
            Counter::Evicted => "evicted",
        }
    }

    /// Its value; `None` when its row is absent (`keys_merged_below` is written only once keys wait).
    pub(super) fn read(self, conn: &Connection) -> rusqlite::Result<Option<i64>> {
        conn.prepare_cached("SELECT value FROM counters WHERE name = ?1")?
            .query_row([self.name()], |row| row.get(0))
            .optional()
    }

    /// Sets it, creating its row if needed.
    pub(super) fn write(self, conn: &Connection, value: i64) -> rusqlite::Result<()> {
        conn.prepare_cached("INSERT OR REPLACE INTO counters (name, value) VALUES (?1, ?2)")?
            .execute(rusqlite::params![self.name(), value])?;
        Ok(())
    }
}

/// The `evicted_through` counter as a SQL subquery, for the views. The views compare ids with it as `+id > ...`:
/// the unary `+` keeps that comparison a filter, never the bound of an id range. Given two lower bounds on the id,
/// SQLite walks from one of them, and from this one a query with a later bound of its own (start-up's reload of
/// waiting keys, the live stream's catching up) read every request of a large store (170 ms at a million). Queries
/// that read ids upwards state their own bound.
pub(super) const EVICTED_THROUGH: &str = "(SELECT value FROM counters WHERE name = 'evicted_through')";

/// The `indexed_through` counter as a SQL subquery, for the lookup views.
pub(super) const INDEXED_THROUGH: &str = "(SELECT value FROM counters WHERE name = 'indexed_through')";
