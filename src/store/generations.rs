//! Where rows live: generations of tables, so that retention frees old requests without deleting them one by one
//! from every index.
//!
//! Requests are stored in numbered pairs of tables, `requests_N` (summaries and their indexes) and `payloads_N`
//! (headers, findings and body), each pair holding a run of consecutive ids. The writer inserts into the newest
//! pair and starts a new one when that holds a set share of `--keep`. Retention is two steps: an eviction hides
//! the oldest requests at once, exactly, by raising the `evicted_through` counter, which the views leave out;
//! once every request of the oldest pair is hidden, the pair is retired a step per batch: it leaves the views and
//! loses its indexes, its rows are deleted in slices of ids, and its empty tables are dropped. Deleting evicted
//! requests with their index entries cost more than inserting them (every entry sought and removed, and each
//! batch rewrote the first pages of every B-tree).
//!
//! The list's path, event and envelope filters are served by lookup tables beside each pair, filled a run of
//! requests at a time (see `lookups.rs`).
//!
//! Readers see two views over the pairs not yet retiring: `requests` (the summaries) and `captures` (summaries
//! joined with their payloads). SQLite merges the pairs' index walks in id order, so the list's queries read as
//! over one table.

use rusqlite::{Connection, OptionalExtension, Transaction};

use super::counters::{Counter, EVICTED_THROUGH};
use super::lookups;
use super::row::{self, PayloadRow, SummaryRow};

/// Most ids in one generation, so that a very large `--keep` still retires space in reasonable steps.
const LARGEST: u64 = 32 * 1024;

/// Fewest ids in one generation. Each generation started or retired is a change of the schema, which makes every
/// connection prepare its statements again, so generations are not made smaller than the smallest slice a batch
/// retires. The store's file holds up to a few generations beyond `--keep`, so this also bounds what a small
/// `--keep` leaves on disk: with 8 KiB bodies, `--keep 100` stays within a few megabytes.
const SMALLEST: u64 = 64;

/// How many generations `--keep` is spread over: the store holds about one generation more than `--keep` until
/// the oldest is retired.
const SHARES: u64 = 4;

/// Most generations at once. Should retirement fall behind, the newest grows past its size rather than another
/// pair being started: each pair is one more walk merged into every read, and SQLite allows 500 in a view.
const MOST: usize = SHARES as usize + 3;

/// The numbers of the generations in the database, oldest first (the lookup tables beside them are not
/// generations, though their names start alike).
pub(super) fn generation_numbers(conn: &Connection) -> rusqlite::Result<Vec<u64>> {
    let mut numbers = Vec::new();
    let mut statement =
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'requests_[0-9]*'")?;
    for name in statement.query_map([], |row| row.get::<_, String>(0))? {
        if let Some(number) = name?.strip_prefix("requests_").and_then(|n| n.parse::<u64>().ok()) {
            numbers.push(number);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// One generation: its number and the ids stored in it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Generation {
    number: u64,
    /// No id below this is stored in it; `None` while it is empty.
    first_id: Option<i64>,
    /// Every id stored in it is below this; `None` for the newest, which is still filling, and for an older one
    /// left empty.
    end: Option<i64>,
    /// Every request in it is evicted: it is left out of the views and being retired.
    retiring: bool,
    /// Its indexes are still there (retirement drops them first).
    indexed: bool,
}

/// The generations in the database, oldest first, as the writer holds them between batches.
#[derive(Debug, Clone)]
pub(super) struct Generations {
    list: Vec<Generation>,
    /// How many ids a generation takes before the next one starts; `None` without `--keep`.
    size: Option<u64>,
    /// The newest id the lookup tables hold (the `indexed_through` counter); the ids above it, up to the newest
    /// inserted, are the tail.
    indexed_through: i64,
    newest_id: i64,
    /// The newest generation's insert statements.
    insert_request: String,
    insert_payload: String,
}

impl Generations {
    /// Finds the generations in the database. `keep` sizes the ones started from now on; those older than the
    /// newest whose requests are all evicted (up to `evicted_through`) are being retired.
    pub(super) fn load(conn: &Connection, keep: Option<u64>, evicted_through: i64) -> rusqlite::Result<Generations> {
        let indexed_through = Counter::IndexedThrough.read(conn)?.unwrap_or(0);
        let numbers = generation_numbers(conn)?;
        let mut list = Vec::with_capacity(numbers.len());
        for number in numbers {
            // Two subqueries: SQLite finds a lone min() or max() at one end of the table, but reads the whole
            // table for both in one query (70 ms at a million requests).
            let (first_id, last_id): (Option<i64>, Option<i64>) = conn.query_row(
                &format!("SELECT (SELECT min(id) FROM requests_{number}), (SELECT max(id) FROM requests_{number})"),
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            let end = last_id.map(|last| last.saturating_add(1));
            let indexes: i64 = conn.query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1",
                [format!("requests_{number}")],
                |row| row.get(0),
            )?;
            list.push(Generation {
                number,
                first_id,
                end,
                retiring: false,
                indexed: indexes > 0,
            });
        }
        // The newest is still filling: it has no end, and its last id is the newest inserted.
        let newest_id = list
            .last_mut()
            .and_then(|newest| newest.end.take())
            .map_or(indexed_through, |end| end.saturating_sub(1).max(indexed_through));
        let older = list.len().saturating_sub(1);
        for generation in &mut list[..older] {
            generation.retiring = generation
                .end
                .is_none_or(|end| end.saturating_sub(1) <= evicted_through);
        }
        let newest = list.last().map_or(0, |generation| generation.number);
        Ok(Generations {
            list,
            size: keep.map(|keep| (keep / SHARES).clamp(SMALLEST, LARGEST)),
            indexed_through,
            newest_id,
            insert_request: insert_request_sql(newest),
            insert_payload: insert_payload_sql(newest),
        })
    }

    /// The same generations, started every `size` ids from now on.
    #[cfg(test)]
    pub(super) fn sized(mut self, size: u64) -> Generations {
        self.size = Some(size);
        self
    }

    /// The statement that inserts a summary into the newest generation.
    pub(super) fn insert_request(&self) -> &str {
        &self.insert_request
    }

    /// The statement that inserts a payload into the newest generation.
    pub(super) fn insert_payload(&self) -> &str {
        &self.insert_payload
    }

    /// Starts a new generation before request `id` is inserted, when there is none yet or the newest is full
    /// (and there are not too many already). Returns whether it started one, so that the insert statements change.
    pub(super) fn make_room(&mut self, tx: &Transaction, id: i64) -> rusqlite::Result<bool> {
        let full = match (self.list.last(), self.size) {
            (None, _) => true,
            (Some(_), _) if self.list.len() >= MOST => false,
            (Some(newest), Some(size)) => newest
                .first_id
                .is_some_and(|first| u64::try_from(id.saturating_sub(first)).unwrap_or(0) >= size),
            (Some(_), None) => false,
        };
        if full {
            // The tail must lie in the newest generation, which the views take it from.
            self.catch_up(tx)?;
            if let Some(newest) = self.list.last_mut() {
                newest.end = Some(id);
            }
            self.start(tx)?;
        }
        Ok(full)
    }

    /// Notes that request `id` went into the newest generation.
    pub(super) fn inserted(&mut self, id: i64) {
        if let Some(newest) = self.list.last_mut() {
            newest.first_id.get_or_insert(id);
        }
        self.newest_id = id;
    }

    /// Files the tail in the lookup tables once it spans [`lookups::CATCH_UP_AT`] ids.
    pub(super) fn catch_up_when_due(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        if self.newest_id.saturating_sub(self.indexed_through) >= lookups::CATCH_UP_AT {
            self.catch_up(tx)?;
        }
        Ok(())
    }

    /// Files every request of the tail in the newest generation's lookup tables.
    fn catch_up(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        let Some(newest) = self.list.last() else {
            return Ok(());
        };
        if self.newest_id <= self.indexed_through {
            return Ok(());
        }
        lookups::fill(tx, newest.number, self.indexed_through)?;
        self.indexed_through = self.newest_id;
        Counter::IndexedThrough.write(tx, self.indexed_through)
    }

    /// Goes on retiring the oldest generations once every request in them is evicted, up to `budget` ids: the first
    /// time, a generation leaves the views and loses its indexes (one change of the schema: each makes every
    /// connection prepare its statements again); then slices of its ids are deleted from its tables; once they are
    /// empty, they are dropped, and what is left of the budget goes to the next. Returns whether more is left to
    /// retire.
    ///
    /// Dropping a generation's tables whole read all their pages in one batch: 18 ms for 25,000 requests, which
    /// held up every sender of that batch and tripled the p99 at full load. In slices no batch carries much, and
    /// with its indexes gone first, a slice deletes rows in id order from two tables only.
    pub(super) fn retire(&mut self, tx: &Transaction, evicted_through: i64, budget: u64) -> rusqlite::Result<bool> {
        let mut left = budget;
        while left > 0 && self.retirable(evicted_through) {
            left = left.saturating_sub(self.retire_oldest(tx, left)?);
        }
        Ok(self.retirable(evicted_through))
    }

    /// Takes one step of retiring the oldest generation, deleting up to `budget` ids; returns how many ids it took
    /// (at least one, so that retiring always moves on).
    fn retire_oldest(&mut self, tx: &Transaction, budget: u64) -> rusqlite::Result<u64> {
        let [oldest, ..] = self.list.as_mut_slice() else {
            return Ok(budget);
        };
        let number = oldest.number;
        let leaves_views = !oldest.retiring;
        oldest.retiring = true;
        if oldest.indexed {
            oldest.indexed = false;
            let indexes = tx
                .prepare_cached("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1")?
                .query_map([format!("requests_{number}")], |row| row.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let drops: String = indexes.iter().map(|index| format!("DROP INDEX \"{index}\";")).collect();
            tx.execute_batch(&format!("{drops}{}", lookups::drop(number)))?;
        }
        if leaves_views {
            // Left in, it would be read to its end by every walk that finds too few rows elsewhere.
            self.write_views(tx)?;
        }
        let [oldest, ..] = self.list.as_mut_slice() else {
            return Ok(budget);
        };
        let mut taken = 1;
        if let (Some(first), Some(end)) = (oldest.first_id, oldest.end)
            && first < end
        {
            let below = first.saturating_add(i64::try_from(budget).unwrap_or(i64::MAX)).min(end);
            tx.prepare_cached(&format!("DELETE FROM requests_{number} WHERE id < ?1"))?
                .execute([below])?;
            tx.prepare_cached(&format!("DELETE FROM payloads_{number} WHERE id < ?1"))?
                .execute([below])?;
            oldest.first_id = Some(below);
            taken = u64::try_from(below - first).unwrap_or(budget).max(1);
            if below < end {
                return Ok(taken);
            }
        }
        // Empty now: dropping the tables reads a page each.
        self.list.remove(0);
        drop_tables(tx, number)?;
        Ok(taken)
    }

    /// Whether the oldest generation can be retired: it is not the newest (where the next request goes), and all
    /// of it is evicted.
    fn retirable(&self, evicted_through: i64) -> bool {
        match self.list.as_slice() {
            [oldest, _, ..] => oldest.end.is_none_or(|end| end.saturating_sub(1) <= evicted_through),
            _ => false,
        }
    }

    /// The id of the `count`-th request after `after` still shown, or `None` if fewer are stored. It reads each
    /// generation's table rather than the `requests` view: the view merges every generation's walk row by row, which
    /// cost about 5 % of the writer's time at full load for the eviction's few dozen rows per batch.
    pub(super) fn nth_after(&self, tx: &Transaction, after: i64, count: u64) -> rusqlite::Result<Option<i64>> {
        let mut left = i64::try_from(count).unwrap_or(i64::MAX);
        for generation in self.list.iter().filter(|generation| !generation.retiring) {
            let number = generation.number;
            let found: Option<i64> = tx
                .prepare_cached(&format!(
                    "SELECT id FROM requests_{number} WHERE id > ?1 ORDER BY id LIMIT 1 OFFSET ?2"
                ))?
                .query_row([after, left - 1], |row| row.get(0))
                .optional()?;
            if found.is_some() {
                return Ok(found);
            }
            // Fewer than `left` here, so at most that many to count, and at least one left for the next generations.
            let here: i64 = tx
                .prepare_cached(&format!("SELECT count(*) FROM requests_{number} WHERE id > ?1"))?
                .query_row([after], |row| row.get(0))?;
            left -= here;
        }
        Ok(None)
    }

    /// The number of the generation that holds request `id`, if any: ids grow from one generation to the next, so
    /// the newest that starts at or before `id`.
    fn holding(&self, id: i64) -> Option<u64> {
        self.list
            .iter()
            .rev()
            .find(|g| g.first_id.is_some_and(|first| first <= id))
            .map(|g| g.number)
    }

    /// Sets request `id`'s forwarding state (and, when given, what its sender was answered) and reads its summary
    /// back; `None` when it is not stored.
    pub(super) fn update_forward(
        &self,
        tx: &Transaction,
        id: i64,
        forward: &str,
        response: Option<&crate::record::ResponseRecord>,
    ) -> rusqlite::Result<Option<SummaryRow>> {
        let Some(number) = self.holding(id) else {
            return Ok(None);
        };
        let changed = match response {
            Some(response) => tx
                .prepare_cached(&format!(
                    "UPDATE requests_{number} SET forward = ?2, response_status = ?3, response_reason = ?4 WHERE id = ?1"
                ))?
                .execute(rusqlite::params![id, forward, response.status, response.reason.as_str()])?,
            None => tx
                .prepare_cached(&format!("UPDATE requests_{number} SET forward = ?2 WHERE id = ?1"))?
                .execute(rusqlite::params![id, forward])?,
        };
        if changed == 0 {
            return Ok(None);
        }
        tx.prepare_cached(&format!(
            "SELECT {} FROM requests_{number} r WHERE r.id = ?1",
            row::select_list("r", SummaryRow::COLUMNS)
        ))?
        .query_row([id], SummaryRow::from_row)
        .optional()
    }

    /// How many requests are stored with ids in `(after, through]`, among those still shown.
    pub(super) fn count_between(&self, tx: &Transaction, after: i64, through: i64) -> rusqlite::Result<u64> {
        let mut count = 0u64;
        for generation in self.list.iter().filter(|generation| !generation.retiring) {
            let number = generation.number;
            let here: i64 = tx
                .prepare_cached(&format!(
                    "SELECT count(*) FROM requests_{number} WHERE id > ?1 AND id <= ?2"
                ))?
                .query_row([after, through], |row| row.get(0))?;
            count += u64::try_from(here).unwrap_or(0);
        }
        Ok(count)
    }

    /// Deletes request `id` wherever it is stored. Returns whether it was there.
    pub(super) fn delete(&self, tx: &Transaction, id: i64) -> rusqlite::Result<bool> {
        let Some(number) = self.holding(id) else {
            return Ok(false);
        };
        lookups::remove(tx, number, id)?;
        let removed = tx.execute(&format!("DELETE FROM requests_{number} WHERE id = ?1"), [id])? > 0;
        tx.execute(&format!("DELETE FROM payloads_{number} WHERE id = ?1"), [id])?;
        Ok(removed)
    }

    /// Drops every generation and starts an empty one.
    pub(super) fn clear(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        drop_views(tx)?;
        for generation in self.list.drain(..) {
            drop_tables(tx, generation.number)?;
        }
        self.start(tx)
    }

    fn start(&mut self, tx: &Transaction) -> rusqlite::Result<()> {
        let number = self.list.last().map_or(1, |newest| newest.number + 1);
        tx.execute_batch(&tables_sql(number))?;
        self.list.push(Generation {
            number,
            first_id: None,
            end: None,
            retiring: false,
            indexed: true,
        });
        self.insert_request = insert_request_sql(number);
        self.insert_payload = insert_payload_sql(number);
        self.write_views(tx)
    }

    /// Rewrites the `requests` and `captures` views over the generations not being retired. The writer also does
    /// so at start-up, so that the views always read as this build defines them.
    pub(super) fn write_views(&self, tx: &Transaction) -> rusqlite::Result<()> {
        // Never so: a new store is created with the first generation, and clearing starts a new one at once.
        let Some(newest) = self.list.last().map(|g| g.number) else {
            return Ok(());
        };
        drop_views(tx)?;
        // The generations the views read, newest first.
        let numbers: Vec<u64> = self
            .list
            .iter()
            .rev()
            .filter(|g| !g.retiring)
            .map(|g| g.number)
            .collect();
        let summaries: Vec<String> = numbers
            .iter()
            .map(|n| format!("SELECT * FROM requests_{n} WHERE +id > {EVICTED_THROUGH}"))
            .collect();
        // The payload's columns but its id, which the summary's gives.
        let payload = row::names(PayloadRow::COLUMNS)
            .filter(|name| *name != "id")
            .map(|name| format!("p.{name}"))
            .collect::<Vec<_>>()
            .join(", ");
        let captures: Vec<String> = numbers
            .iter()
            .map(|n| {
                format!(
                    "SELECT r.*, {payload} FROM requests_{n} r JOIN payloads_{n} p ON p.id = r.id
                     WHERE +r.id > {EVICTED_THROUGH}"
                )
            })
            .collect();
        tx.execute_batch(&format!(
            "CREATE VIEW requests AS {};
             CREATE VIEW captures AS {};
             {}",
            summaries.join(" UNION ALL "),
            captures.join(" UNION ALL "),
            lookups::views(newest, &numbers)
        ))
    }
}

fn drop_views(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch(&format!(
        "DROP VIEW IF EXISTS requests; DROP VIEW IF EXISTS captures; {}",
        lookups::drop_views()
    ))
}

fn drop_tables(tx: &Transaction, number: u64) -> rusqlite::Result<()> {
    tx.execute_batch(&format!(
        "DROP TABLE requests_{number}; DROP TABLE payloads_{number}; {}",
        lookups::drop(number)
    ))
}

/// The tables of generation `number`: its summaries with the indexes of their rare sides, its payloads, and its
/// lookup tables.
pub(super) fn tables_sql(number: u64) -> String {
    format!(
        "CREATE TABLE requests_{number} ({summary});
         CREATE TABLE payloads_{number} ({payload});
         {lookups}
         CREATE INDEX requests_{number}_duplicates  ON requests_{number} (id) WHERE duplicate_of IS NOT NULL;
         CREATE INDEX requests_{number}_invalid     ON requests_{number} (id) WHERE valid = 0;
         CREATE INDEX requests_{number}_by_rare_method ON requests_{number} (method, id) WHERE method <> 'POST';",
        summary = row::table_columns(SummaryRow::COLUMNS),
        payload = row::table_columns(PayloadRow::COLUMNS),
        lookups = lookups::create(number),
    )
}

fn insert_request_sql(number: u64) -> String {
    row::insert_sql(&format!("requests_{number}"), SummaryRow::COLUMNS)
}

fn insert_payload_sql(number: u64) -> String {
    row::insert_sql(&format!("payloads_{number}"), PayloadRow::COLUMNS)
}

#[cfg(test)]
mod tests {
    use rusqlite::params;

    use super::*;
    use crate::store::counters::Counter;
    use crate::store::schema::{Durability, open_writer};

    /// A fresh store in a temporary directory, kept as long as the directory is.
    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("dir");
        let conn = open_writer(&dir.path().join("generations.db"), Durability::Normal, None).expect("open");
        (dir, conn)
    }

    /// Inserts requests `ids` the way the writer does, one transaction.
    fn insert(conn: &mut Connection, generations: &mut Generations, ids: std::ops::RangeInclusive<i64>) {
        let tx = conn.transaction().expect("begin");
        for id in ids {
            generations.make_room(&tx, id).expect("room");
            tx.execute(
                generations.insert_request(),
                rusqlite::params_from_iter(SummaryRow::example(id).values()),
            )
            .expect("summary");
            tx.execute(
                generations.insert_payload(),
                params![id, b"", None::<String>, None::<String>, None::<String>, b"body"],
            )
            .expect("payload");
            generations.inserted(id);
        }
        tx.commit().expect("commit");
    }

    fn visible(conn: &Connection, view: &str) -> Vec<i64> {
        conn.prepare(&format!("SELECT id FROM {view} ORDER BY id"))
            .expect("view")
            .query_map([], |row| row.get(0))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }

    fn tables(conn: &Connection) -> Vec<String> {
        conn.prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB '*_[0-9]*' AND name NOT GLOB '*_ids'
             ORDER BY name",
        )
        .expect("schema")
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
    }

    #[test]
    fn generations_fill_in_turn_and_go_whole_once_evicted() {
        let (_dir, mut conn) = store();
        // Generations of two ids each.
        let mut generations = Generations::load(&conn, Some(8), 0).expect("load").sized(2);
        insert(&mut conn, &mut generations, 1..=6);
        assert_eq!(
            tables(&conn),
            [
                "payloads_1",
                "payloads_2",
                "payloads_3",
                "requests_1",
                "requests_2",
                "requests_3"
            ]
        );
        assert_eq!(visible(&conn, "requests"), [1, 2, 3, 4, 5, 6]);
        assert_eq!(visible(&conn, "captures"), [1, 2, 3, 4, 5, 6]);

        // Evicted through 3: the views leave 1 to 3 out at once; only the generation of 1 and 2 is retired, a
        // slice of one id a batch. The first step also takes it out of the views and drops its indexes; the last
        // drops its tables.
        let tx = conn.transaction().expect("begin");
        Counter::EvictedThrough.write(&tx, 3).expect("counter");
        tx.commit().expect("commit");
        assert_eq!(visible(&conn, "requests"), [4, 5, 6]);
        let tx = conn.transaction().expect("begin");
        assert!(generations.retire(&tx, 3, 1).expect("first step"), "one id is left");
        tx.commit().expect("commit");
        let (rows, indexes, in_views): (i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT count(*) FROM requests_1),
                        (SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'requests_1'),
                        (SELECT count(*) FROM sqlite_schema WHERE type = 'view' AND sql LIKE '%requests_1 %')",
                [],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .expect("state");
        assert_eq!((rows, indexes, in_views), (1, 0, 0));
        let tx = conn.transaction().expect("begin");
        assert!(
            !generations.retire(&tx, 3, 1).expect("last step"),
            "the next generation is not all evicted"
        );
        tx.commit().expect("commit");
        assert_eq!(visible(&conn, "requests"), [4, 5, 6]);
        assert_eq!(visible(&conn, "captures"), [4, 5, 6]);
        assert_eq!(tables(&conn), ["payloads_2", "payloads_3", "requests_2", "requests_3"]);

        // A restart finds the same generations and goes on from them.
        let mut reloaded = Generations::load(&conn, Some(8), 3).expect("reload").sized(2);
        insert(&mut conn, &mut reloaded, 7..=7);
        assert_eq!(visible(&conn, "requests"), [4, 5, 6, 7]);
        let tx = conn.transaction().expect("begin");
        assert!(reloaded.delete(&tx, 5).expect("delete"));
        assert!(!reloaded.delete(&tx, 5).expect("delete again"));
        tx.commit().expect("commit");
        assert_eq!(visible(&conn, "captures"), [4, 6, 7]);

        let tx = conn.transaction().expect("begin");
        reloaded.clear(&tx).expect("clear");
        tx.commit().expect("commit");
        assert_eq!(visible(&conn, "requests"), Vec::<i64>::new());
        assert_eq!(tables(&conn), ["payloads_1", "requests_1"]);
    }

    #[test]
    fn the_nth_request_after_an_id_is_found_across_generations_as_the_view_orders_them() {
        let (_dir, mut conn) = store();
        // Generations of three ids each: 1-3, 4-6, 7-9, 10; then 5 is deleted.
        let mut generations = Generations::load(&conn, Some(12), 0).expect("load").sized(3);
        insert(&mut conn, &mut generations, 1..=10);
        let tx = conn.transaction().expect("begin");
        assert!(generations.delete(&tx, 5).expect("delete"));
        for after in 0..=10 {
            let shown: Vec<i64> = tx
                .prepare("SELECT id FROM requests WHERE id > ?1 ORDER BY id")
                .expect("view")
                .query_map([after], |row| row.get(0))
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            for count in 1..=11 {
                let expected = usize::try_from(count - 1)
                    .ok()
                    .and_then(|index| shown.get(index))
                    .copied();
                assert_eq!(
                    generations.nth_after(&tx, after, count).expect("nth"),
                    expected,
                    "the request {count} after {after}"
                );
            }
        }
    }

    #[test]
    fn generations_stop_multiplying_when_retirement_falls_behind() {
        let (_dir, mut conn) = store();
        // One id a generation and nothing retired: past the most, the newest takes the rest.
        let mut generations = Generations::load(&conn, Some(4), 0).expect("load").sized(1);
        insert(&mut conn, &mut generations, 1..=40);
        assert_eq!(tables(&conn).len(), 2 * MOST);
        assert_eq!(visible(&conn, "requests"), (1..=40).collect::<Vec<i64>>());
    }

    #[test]
    fn without_a_limit_one_generation_takes_everything() {
        let (_dir, mut conn) = store();
        let mut generations = Generations::load(&conn, None, 0).expect("load");
        insert(&mut conn, &mut generations, 1..=50);
        assert_eq!(tables(&conn), ["payloads_1", "requests_1"]);
        assert_eq!(visible(&conn, "requests").len(), 50);
    }
}
