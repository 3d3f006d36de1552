//! Lookup tables: the list's path, event and envelope filters, indexed in runs rather than one capture at a time.
//!
//! Each generation has one lookup table per filter, `requests_N_{path,event,envelope}_ids`, keyed by `(value, id)`
//! without a rowid, so a filter walks one value's ids newest first. The writer fills them a run of requests at a
//! time (see [`CATCH_UP_AT`]) and records the newest id they hold in the `indexed_through` counter; readers take
//! the requests above it, the tail, from the summary table itself. As SQLite indexes on the summaries, these three
//! rewrote three to four pages each to the WAL at every commit of a few dozen captures, about a third of its
//! pages: an append to an index rewrites its rightmost leaf and, every few commits, spreads the last leaves over
//! one page more. Filled a thousand entries at a time, a page is written once whatever share of it is new: at full
//! load a commit wrote 27.4 WAL pages instead of 36.2, the writer spent 1.2 to 1.6 µs less per capture, and
//! alternating runs captured 0 to 20 % more, median 6.6 % (docs/performance.md).
//!
//! Readers see each filter as a view, `requests_by_{path,event,envelope}`: the summaries' columns and a `lookup`
//! column holding the filter's value, over the tail and every generation not being retired. A query states its
//! value on `lookup`; SQLite then searches each lookup table and merges the walks in id order, like the `requests`
//! view's.

use rusqlite::Transaction;

use super::counters::{EVICTED_THROUGH, INDEXED_THROUGH};
use super::row::{self, SummaryRow};

/// How many ids the tail spans before the writer files its requests in the lookup tables, in the batch that
/// reaches it. A filtered read scans the tail whole, a fraction of a millisecond at this size; the batch that files
/// a run inserts three times as many entries and takes about 0.7 ms more.
pub(super) const CATCH_UP_AT: i64 = 1024;

/// The envelope lookup's value for a request without an envelope (a key column cannot be NULL); [`ENVELOPE`]'s SQL
/// spells the same literal.
pub const NO_ENVELOPE: &str = "none";

/// One filter's lookup: its name and the value it files a summary under, as SQL on the summary's columns. A
/// summary without a value (no event) is not filed.
pub(super) struct Lookup {
    pub name: &'static str,
    value: &'static str,
}

pub(super) const PATH: Lookup = Lookup {
    name: "path",
    value: "path",
};
pub(super) const EVENT: Lookup = Lookup {
    name: "event",
    value: "event",
};
pub(super) const ENVELOPE: Lookup = Lookup {
    name: "envelope",
    value: "CAST(coalesce(envelope, 'none') AS TEXT)",
};

pub(super) const ALL: [Lookup; 3] = [PATH, EVENT, ENVELOPE];

impl Lookup {
    /// The lookup table of generation `number`.
    pub(super) fn table(&self, number: u64) -> String {
        format!("requests_{number}_{}_ids", self.name)
    }

    /// The view readers filter through.
    pub(super) fn view(&self) -> String {
        format!("requests_by_{}", self.name)
    }

    fn create(&self, number: u64) -> String {
        format!(
            "CREATE TABLE {} (value TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (value, id)) WITHOUT ROWID;\n",
            self.table(number)
        )
    }

    /// Files the requests of generation `number` above `?1`. Ids are taken in order, so each value's entries are
    /// appended.
    fn fill(&self, number: u64) -> String {
        format!(
            "INSERT INTO {} (value, id) SELECT {value}, id FROM requests_{number} WHERE id > ?1 AND {value} IS NOT NULL",
            self.table(number),
            value = self.value
        )
    }

    /// The view's statement over the tail, in generation `newest`, and the generations `numbers`, newest first.
    /// Each arm takes its id from the lookup table, so that its walk of one value is in id order. The join to the
    /// summaries is a LEFT JOIN, which SQLite leaves out of a query that reads no summary column (counting paths);
    /// it yields the same rows, since every filed id has its summary: a delete removes both, and retirement drops
    /// the lookup tables before it deletes a row.
    fn view_sql(&self, newest: u64, numbers: &[u64]) -> String {
        // No aliases, so that query plans name the tables they read.
        let value = self.value;
        let mut arms = vec![format!(
            "SELECT *, {value} AS lookup FROM requests_{newest}
             WHERE id > {INDEXED_THROUGH} AND +id > {EVICTED_THROUGH}"
        )];
        for number in numbers {
            let table = self.table(*number);
            let summary = format!("requests_{number}");
            let others: Vec<String> = row::names(SummaryRow::COLUMNS)
                .skip(1)
                .map(|column| format!("{summary}.{column}"))
                .collect();
            arms.push(format!(
                "SELECT {table}.id, {others}, {table}.value FROM {table} LEFT JOIN {summary} ON {summary}.id = {table}.id
                 WHERE {table}.id <= {INDEXED_THROUGH} AND +{table}.id > {EVICTED_THROUGH}",
                others = others.join(", ")
            ));
        }
        format!("CREATE VIEW {} AS {};\n", self.view(), arms.join(" UNION ALL "))
    }
}

impl Lookup {
    /// The view `{name}_counts`: each value with its number of requests (`value`, `requests`), in one row per value
    /// and lookup table; a reader sums them by value.
    fn counts_sql(&self, newest: u64, numbers: &[u64]) -> String {
        let value = self.value;
        let mut arms = vec![format!(
            "SELECT {value} AS value, count(*) AS requests FROM requests_{newest}
             WHERE id > {INDEXED_THROUGH} AND +id > {EVICTED_THROUGH} AND {value} IS NOT NULL GROUP BY 1"
        )];
        for number in numbers {
            arms.push(format!(
                "SELECT value, count(*) FROM {} WHERE +id > {EVICTED_THROUGH} AND id <= {INDEXED_THROUGH} GROUP BY value",
                self.table(*number)
            ));
        }
        format!("CREATE VIEW {}_counts AS {};\n", self.name, arms.join(" UNION ALL "))
    }
}

/// Creates the lookup tables of generation `number`.
pub(super) fn create(number: u64) -> String {
    ALL.iter().map(|lookup| lookup.create(number)).collect()
}

/// Drops the lookup tables of generation `number`, if it has them (a generation being retired has lost them).
pub(super) fn drop(number: u64) -> String {
    ALL.iter()
        .map(|lookup| format!("DROP TABLE IF EXISTS {};\n", lookup.table(number)))
        .collect()
}

/// Files the requests of generation `number` above `through` in every lookup table.
pub(super) fn fill(tx: &Transaction, number: u64, through: i64) -> rusqlite::Result<()> {
    for lookup in &ALL {
        tx.prepare_cached(&lookup.fill(number))?.execute([through])?;
    }
    Ok(())
}

/// Removes request `id` of generation `number` from every lookup table, before its summary goes.
pub(super) fn remove(tx: &Transaction, number: u64, id: i64) -> rusqlite::Result<()> {
    for lookup in &ALL {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE value = (SELECT {value} FROM requests_{number} WHERE id = ?1) AND id = ?1",
            table = lookup.table(number),
            value = lookup.value
        ))?
        .execute([id])?;
    }
    Ok(())
}

/// The filters' views, and `event_counts` and `envelope_counts`, the number of requests per event and per profile
/// (`none` for none): counted per lookup table along its key, so no summary is read for them but the tail's.
pub(super) fn views(newest: u64, numbers: &[u64]) -> String {
    let mut sql: String = ALL.iter().map(|lookup| lookup.view_sql(newest, numbers)).collect();
    for lookup in [EVENT, ENVELOPE] {
        sql.push_str(&lookup.counts_sql(newest, numbers));
    }
    sql
}

/// Drops the views [`views`] creates.
pub(super) fn drop_views() -> String {
    let mut sql: String = ALL
        .iter()
        .map(|lookup| format!("DROP VIEW IF EXISTS {};\n", lookup.view()))
        .collect();
    sql.push_str("DROP VIEW IF EXISTS event_counts;\nDROP VIEW IF EXISTS envelope_counts;\n");
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_lookup_files_requests_without_one_under_the_name_the_filter_asks_for() {
        assert!(
            ENVELOPE.value.contains(&format!("'{NO_ENVELOPE}'")),
            "{}",
            ENVELOPE.value
        );
    }
}
