//! Read queries: pages of summaries with filters, one request in full, its raw body, and totals. Every filter
//! reads ids newest first without sorting: through a lookup table (path, event, envelope; see `lookups.rs`), an
//! index that ends in `id`, or, for the common side of a filter whose rare side alone is indexed (valid requests,
//! POST), along the table itself.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use serde::Serialize;

use super::counters::{Counter, EVICTED_THROUGH};
use super::error::StoreError;
use super::headers_codec;
use super::lookups::{self, NO_ENVELOPE};
use super::row::{self, PayloadRow, SummaryRow};
use super::schema::HAS_HEADER;
use crate::filter::{Filter, ProfileFilter};
use crate::profiles::Finding;
use crate::record::{Detail, SignatureCheck, Summary};
use crate::signatures::{Check, SignatureVerdict};

/// The value the envelope lookup files a request under, for a profile filter.
fn lookup_value(filter: &ProfileFilter) -> &str {
    match filter {
        ProfileFilter::Is(name) => name,
        ProfileFilter::None => NO_ENVELOPE,
    }
}

/// A page of the list: the requests matching a filter, from one end.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub filter: Filter,
    pub limit: usize,
    pub from: PageStart,
}

/// Where a page starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    /// The newest requests, newest first.
    Newest,
    /// The newest requests below this id (exclusive), newest first: the list's next page.
    Before(i64),
    /// The oldest requests above this id (exclusive), oldest first: the live stream's catching up.
    After(i64),
}

/// One page of the list.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub requests: Vec<Summary>,
    /// Pass as `before` for the next (older) page; `None` when nothing older matches.
    pub next_before: Option<i64>,
}

/// A request's raw body.
#[derive(Debug, Clone)]
pub struct StoredBody {
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// Totals over the whole store.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub total: i64,
    pub by_envelope: BTreeMap<String, i64>,
    pub valid: i64,
    pub invalid: i64,
    pub duplicates: i64,
    /// Requests per event name.
    pub by_event: BTreeMap<String, i64>,
    /// The newest request id the counts include (0 for none): a live viewer adds arrivals above it, and only those.
    pub through: i64,
    /// How many requests retention (`--keep`) has evicted since the store was created or last cleared.
    pub evicted: i64,
    /// The retention in force: the newest this many requests are kept; `None` keeps everything.
    pub keep: Option<u64>,
}

/// The summary row's columns, as every list query selects them from its source `r`.
fn summary_columns() -> &'static str {
    static COLUMNS: OnceLock<String> = OnceLock::new();
    COLUMNS.get_or_init(|| row::select_list("r", SummaryRow::COLUMNS))
}

fn summary_from_row(row: &Row) -> rusqlite::Result<Summary> {
    SummaryRow::from_row(row).map(SummaryRow::into_summary)
}

/// Collects a statement's parameters and hands out their `?N` placeholders.
#[derive(Default)]
struct Binds(Vec<SqlValue>);

impl Binds {
    fn bind(&mut self, value: impl Into<SqlValue>) -> String {
        self.0.push(value.into());
        format!("?{}", self.0.len())
    }
}

pub(super) fn list(conn: &Connection, query: &ListQuery) -> Result<Page, StoreError> {
    // One read transaction: the path probes that choose the statement and the page itself see one snapshot, so a
    // path committed between them cannot be left off a page it belongs on.
    let snapshot = conn.unchecked_transaction()?;
    let conn: &Connection = &snapshot;
    let (sql, binds) = list_statement(conn, query)?;
    let mut statement = conn.prepare_cached(&sql)?;
    let mut requests = statement
        .query_map(params_from_iter(binds.0), summary_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_before = if requests.len() > query.limit {
        requests.truncate(query.limit);
        // Only a page newest first has an older page after it.
        requests
            .last()
            .map(|summary| summary.id)
            .filter(|_| !matches!(query.from, PageStart::After(_)))
    } else {
        None
    };
    Ok(Page { requests, next_before })
}

/// The statement for one page (asking for one row more than the page, to know whether older rows exist).
fn list_statement(conn: &Connection, query: &ListQuery) -> Result<(String, Binds), StoreError> {
    let mut conditions: Vec<String> = Vec::new();
    let mut binds = Binds::default();
    let mut source = "requests".to_owned();
    let filter = &query.filter;
    let rare_side = filter.valid == Some(false)
        || filter.duplicate == Some(true)
        || filter.method.as_deref().is_some_and(|method| method != "POST");
    // One filter is read through its lookup view: an event first (one value), then a path prefix that few requests
    // match or that many match under one path, then an envelope unless a rare side of another filter has its own
    // index. A text search or a header filter reads the payloads, which only `captures` joins.
    let mut path_looked_up = false;
    let needs_payload = filter.needs_payload();
    let lookup_free = !needs_payload && filter.event.is_none();
    let order = match query.from {
        PageStart::Newest => "DESC",
        PageStart::Before(before) => {
            conditions.push(format!("r.id < {}", binds.bind(before)));
            "DESC"
        }
        PageStart::After(after) => {
            // The views leave evicted requests out but do not skip them (see `generations.rs`): a cursor from before
            // the last eviction starts past them.
            conditions.push(format!("r.id > max({}, {EVICTED_THROUGH})", binds.bind(after)));
            "ASC"
        }
    };
    if let Some(method) = &filter.method {
        conditions.push(format!("r.method = {}", binds.bind(method.clone())));
        // Only methods other than POST are indexed. SQLite uses a partial index only when the query repeats its
        // condition word for word; for POST, most rows match and walking ids newest first finds a page at once.
        if method != "POST" {
            conditions.push("r.method <> 'POST'".into());
        }
    }
    if let Some(prefix) = filter.path_prefix.as_ref().filter(|prefix| !prefix.is_empty()) {
        match path_condition(conn, prefix, lookup_free, rare_side, &mut binds)? {
            PathCondition::Lookup(condition) => {
                path_looked_up = true;
                source = lookups::PATH.view();
                conditions.push(condition);
            }
            PathCondition::Paths(union) => {
                path_looked_up = true;
                source = union;
            }
            PathCondition::Row(condition) => conditions.push(condition),
        }
    }
    if let Some(envelope) = &filter.envelope {
        if lookup_free && !path_looked_up && !rare_side {
            source = lookups::ENVELOPE.view();
            let value = lookup_value(envelope).to_owned();
            conditions.push(format!("r.lookup = {}", binds.bind(value)));
        } else {
            conditions.push(match envelope {
                ProfileFilter::Is(name) => format!("r.envelope = {}", binds.bind(name.clone())),
                ProfileFilter::None => "r.envelope IS NULL".to_owned(),
            });
        }
    }
    // Literals, not parameters: only invalid requests are indexed (`requests_invalid`), and SQLite matches a
    // partial index's condition only against literal text. Valid requests are the common side, found by walking
    // ids newest first.
    match filter.valid {
        Some(true) => conditions.push("r.valid = 1".into()),
        Some(false) => conditions.push("r.valid = 0".into()),
        None => {}
    }
    match filter.duplicate {
        Some(true) => conditions.push("r.duplicate_of IS NOT NULL".into()),
        Some(false) => conditions.push("r.duplicate_of IS NULL".into()),
        None => {}
    }
    if let Some(event) = &filter.event {
        let column = if !needs_payload {
            source = lookups::EVENT.view();
            "r.lookup"
        } else {
            "r.event"
        };
        conditions.push(format!("{column} = {}", binds.bind(event.clone())));
    }
    // What the request was answered, and when it came: conditions on each row of whatever walk was chosen.
    if let Some(endpoint) = &filter.endpoint {
        conditions.push(format!("r.endpoint = {}", binds.bind(endpoint.clone())));
    }
    if let Some(status) = filter.status {
        let (low, high) = status.range();
        let (low, high) = (binds.bind(i64::from(low)), binds.bind(i64::from(high)));
        conditions.push(format!("r.response_status BETWEEN {low} AND {high}"));
    }
    if let Some(key) = &filter.key {
        conditions.push(format!("r.idempotency_key = {}", binds.bind(key.clone().into_bytes())));
    }
    if let Some(verdict) = filter.signature {
        conditions.push(format!("r.signature = {}", binds.bind(verdict.as_str().to_owned())));
    }
    if let Some(environment) = &filter.environment {
        conditions.push(format!("r.environment = {}", binds.bind(environment.clone())));
    }
    if let Some(state) = filter.forward {
        conditions.push(format!("r.forward = {}", binds.bind(state.as_str().to_owned())));
    }
    if let Some(since) = filter.since_ms {
        conditions.push(format!("r.received_at >= {}", binds.bind(since)));
    }
    if let Some(until) = filter.until_ms {
        conditions.push(format!("r.received_at < {}", binds.bind(until)));
    }
    if needs_payload {
        source = "captures".to_owned();
        conditions.extend(payload_conditions(filter, &mut binds));
    }
    let where_clause = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let limit = binds.bind(i64::try_from(query.limit + 1).unwrap_or(i64::MAX));
    let sql = format!(
        "SELECT {} FROM {source} r{where_clause} ORDER BY r.id {order} LIMIT {limit}",
        summary_columns()
    );
    Ok((sql, binds))
}

/// The conditions only the stored payload answers, as SQL on a row of `captures`: the text search (in the path, the
/// query and the body; `lower()` folds ASCII letters only, as the filter's own matching does) and the header filter
/// (through [`HAS_HEADER`] on the stored headers). The list's, and the live stream's when a summary cannot tell (see
/// [`Filter::matches`]).
fn payload_conditions(filter: &Filter, binds: &mut Binds) -> Vec<String> {
    let mut conditions = Vec::new();
    if let Some(text) = filter.text.as_ref().filter(|text| !text.is_empty()) {
        let needle = binds.bind(text.to_ascii_lowercase());
        conditions.push(format!(
            "(instr(lower(r.path), {needle}) OR instr(lower(r.query), {needle}) \
              OR instr(lower(CAST(r.body AS TEXT)), {needle}))"
        ));
    }
    if let Some(header) = &filter.header {
        let name = binds.bind(header.name.clone().into_bytes());
        let value = match &header.value {
            Some(value) => binds.bind(value.clone().into_bytes()),
            None => binds.bind(SqlValue::Null),
        };
        conditions.push(format!("{HAS_HEADER}(r.headers, {name}, {value})"));
    }
    conditions
}

/// How many ids one query of [`payload_matches`] names: well under SQLite's limit of 32,766 bound variables.
const IDS_PER_QUERY: usize = 4096;

/// Which of the requests `ids` the filter's payload conditions (text search, header) find, in id order.
pub(super) fn payload_matches(conn: &Connection, filter: &Filter, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let mut binds = Binds::default();
        let listed: Vec<String> = chunk.iter().map(|id| binds.bind(*id)).collect();
        let mut conditions = vec![format!("r.id IN ({})", listed.join(", "))];
        conditions.extend(payload_conditions(filter, &mut binds));
        let sql = format!(
            "SELECT r.id FROM captures r WHERE {} ORDER BY r.id",
            conditions.join(" AND ")
        );
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map(params_from_iter(binds.0), |row| row.get::<_, i64>(0))?;
        for row in rows {
            found.push(row?);
        }
    }
    Ok(found)
}

/// How a page finds the requests under a path prefix.
enum PathCondition {
    /// Through the path lookup view, which the query then reads from, with this condition.
    Lookup(String),
    /// Through the path lookup view once per path: a union the query reads from, whose walks SQLite merges in id
    /// order.
    Paths(String),
    /// As a condition on each row of another walk.
    Row(String),
}

/// The condition for path `prefix`, as a range rather than LIKE, so `%` and `_` in it mean themselves. When few
/// requests match, the path lookup finds them and they are sorted. When many match under at most [`MOST_PATHS`]
/// paths, the lookup walks each path's ids newest first, merged. Otherwise walking ids newest first finds a page
/// sooner, so the path column is kept out of index selection (the unary `+`); that walk is long only when the
/// newest requests went to other paths, which the lookups avoid (at a million requests, one path behind 0.33M newer
/// ones took 34 ms and two paths behind 0.26M took 38 ms; 1.1 and 2.6 ms through the lookups). `lookup_free`: no
/// other filter reads a lookup; `rare_side`: another filter has an index of its rare side, which a walk of common
/// paths would read row by row.
fn path_condition(
    conn: &Connection,
    prefix: &str,
    lookup_free: bool,
    rare_side: bool,
    binds: &mut Binds,
) -> Result<PathCondition, StoreError> {
    let high = format!("{prefix}\u{10FFFF}");
    if lookup_free && !prefix_is_common(conn, prefix, &high)? {
        let (low, high) = (binds.bind(prefix.to_owned()), binds.bind(high));
        return Ok(PathCondition::Lookup(format!(
            "r.lookup >= {low} AND r.lookup < {high}"
        )));
    }
    if lookup_free
        && !rare_side
        && let Some(paths) = paths_under(conn, prefix, &high)?
    {
        let arms: Vec<String> = paths
            .into_iter()
            .map(|path| format!("r.lookup = {}", binds.bind(path)))
            .collect();
        match arms.as_slice() {
            [] => {}
            [only] => return Ok(PathCondition::Lookup(only.clone())),
            _ => {
                let view = lookups::PATH.view();
                let union: Vec<String> = arms
                    .iter()
                    .map(|condition| format!("SELECT * FROM {view} r WHERE {condition}"))
                    .collect();
                return Ok(PathCondition::Paths(format!("({})", union.join(" UNION ALL "))));
            }
        }
    }
    let (low, high) = (binds.bind(prefix.to_owned()), binds.bind(high));
    Ok(PathCondition::Row(format!("+r.path >= {low} AND +r.path < {high}")))
}

/// Path-prefix matches from which walking ids newest first beats sorting the matches: with at least this many
/// among a million rows, a newest-first walk meets a page of 50 within about 10,000 rows.
const PREFIX_PROBE: i64 = 5000;

/// Counts at most [`PREFIX_PROBE`] paths in `[low, high)`. It reads the lookup tables alone: their views join the
/// summaries with a LEFT JOIN, which SQLite leaves out when no summary column is used (an inner join read a
/// summary per entry, 2.9 ms at a million rows against 1.2).
const PREFIX_COUNT: &str =
    "SELECT count(*) FROM (SELECT 1 FROM requests_by_path WHERE lookup >= ?1 AND lookup < ?2 LIMIT ?3)";

/// Whether at least [`PREFIX_PROBE`] paths fall in `[low, high)`.
fn prefix_is_common(conn: &Connection, low: &str, high: &str) -> Result<bool, StoreError> {
    let matches: i64 = conn
        .prepare_cached(PREFIX_COUNT)?
        .query_row(rusqlite::params![low, high, PREFIX_PROBE], |row| row.get(0))?;
    Ok(matches >= PREFIX_PROBE)
}

/// Most paths under a prefix whose lookup walks a page merges; each is one more walk per generation in the query.
const MOST_PATHS: usize = 8;

/// The lowest path stored in `[?1, ?2)`, and the next one after `?1` below `?2`: each found at one end of every
/// lookup table's range (and of the tail, which the view reads from the summaries), so listing the paths under a
/// prefix takes a search per path, however many requests each has.
const FIRST_PATH: &str =
    "SELECT lookup FROM requests_by_path WHERE lookup >= ?1 AND lookup < ?2 ORDER BY lookup LIMIT 1";
const NEXT_PATH: &str = "SELECT lookup FROM requests_by_path WHERE lookup > ?1 AND lookup < ?2 ORDER BY lookup LIMIT 1";

/// The paths stored in `[low, high)`, lowest first, if there are at most [`MOST_PATHS`].
fn paths_under(conn: &Connection, low: &str, high: &str) -> Result<Option<Vec<String>>, StoreError> {
    let search = |sql: &str, after: &str| -> Result<Option<String>, StoreError> {
        Ok(conn
            .prepare_cached(sql)?
            .query_row([after, high], |row| row.get(0))
            .optional()?)
    };
    let mut paths = Vec::new();
    let mut next = search(FIRST_PATH, low)?;
    while let Some(path) = next {
        if paths.len() == MOST_PATHS {
            return Ok(None);
        }
        next = search(NEXT_PATH, &path)?;
        paths.push(path);
    }
    Ok(Some(paths))
}

pub(super) fn detail(conn: &Connection, id: i64) -> Result<Option<Detail>, StoreError> {
    Ok(detail_with_headers(conn, id)?.map(|(detail, _)| detail))
}

/// One request in full, with its headers' raw bytes (the detail shows values that are not UTF-8 decoded).
pub(super) fn detail_with_headers(conn: &Connection, id: i64) -> Result<Option<(Detail, RawHeaders)>, StoreError> {
    let sql = format!(
        "SELECT {}, {} FROM captures r WHERE r.id = ?1",
        summary_columns(),
        row::select_list("r", &PayloadRow::COLUMNS[1..])
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let found = statement
        .query_row([id], |row| Ok((SummaryRow::from_row(row)?, PayloadRow::from_row(row)?)))
        .optional()?;
    let Some((summary, payload)) = found else {
        return Ok(None);
    };
    let headers = headers_codec::decode(&payload.headers)
        .ok_or_else(|| StoreError::failed(anyhow::anyhow!("stored headers of request {id} are damaged")))?;
    let (errors, warnings) = match payload.findings {
        Some(text) => {
            let stored: StoredFindings = serde_json::from_str(&text).map_err(StoreError::failed)?;
            (stored.errors, stored.warnings)
        }
        None => (Vec::new(), Vec::new()),
    };
    let mut check: Check = match payload.signature_check {
        Some(text) => serde_json::from_str(&text).map_err(StoreError::failed)?,
        None => Check::default(),
    };
    check.verdict = SignatureVerdict::from_name(&summary.signature);
    let remote_addr = summary.remote_addr.clone();
    let raw = headers.clone();
    let mut detail = Detail::new(
        summary.into_summary(),
        headers,
        remote_addr,
        Vec::from(payload.body.0),
        errors,
        warnings,
    );
    detail.signature_check = SignatureCheck::of(check);
    detail.forwards = super::outbox::attempts(conn, id)?;
    detail.key_source = payload.key_source;
    Ok(Some((detail, raw)))
}

/// `(name, value bytes)` pairs as received.
pub type RawHeaders = Vec<(String, Vec<u8>)>;

/// The next `limit` requests after `after` that `filter` matches, oldest first, in full: what an export writes.
pub(super) fn export_page(
    conn: &Connection,
    filter: &Filter,
    after: i64,
    limit: usize,
) -> Result<Vec<(Detail, RawHeaders)>, StoreError> {
    let page = list(
        conn,
        &ListQuery {
            filter: filter.clone(),
            limit,
            from: PageStart::After(after),
        },
    )?;
    let mut details = Vec::with_capacity(page.requests.len());
    for summary in &page.requests {
        if let Some(found) = detail_with_headers(conn, summary.id)? {
            details.push(found);
        }
    }
    Ok(details)
}

#[derive(serde::Deserialize)]
struct StoredFindings {
    errors: Vec<Finding>,
    warnings: Vec<Finding>,
}

pub(super) fn body(conn: &Connection, id: i64) -> Result<Option<StoredBody>, StoreError> {
    let mut statement = conn.prepare_cached("SELECT r.content_type, r.body FROM captures r WHERE r.id = ?1")?;
    let found = statement
        .query_row([id], |row| {
            Ok(StoredBody {
                content_type: row.get(0)?,
                bytes: row.get(1)?,
            })
        })
        .optional()?;
    Ok(found)
}

/// The newest stored request's id, if any: one step down the views' merged walk of ids.
pub(super) fn newest_id(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT id FROM requests ORDER BY id DESC LIMIT 1", [], |row| row.get(0))
        .optional()
}

pub(super) fn stats(conn: &Connection) -> Result<Stats, StoreError> {
    // One read transaction: the counts and the newest id come from one snapshot, so a viewer knows exactly which
    // live arrivals they already include. Read one by one, a commit in between left a page short of requests.
    let snapshot = conn.unchecked_transaction()?;
    let conn: &Connection = &snapshot;
    // One walk of the summaries counts everything but events and profiles, which their lookup tables count.
    let (total, valid, invalid, duplicates) = conn
        .prepare_cached(
            "SELECT count(*), count(CASE WHEN valid = 1 THEN 1 END), count(CASE WHEN valid = 0 THEN 1 END),
                    count(duplicate_of)
             FROM requests",
        )?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))?;
    let by_envelope = counts(conn, "envelope_counts")?;
    let by_event = counts(conn, "event_counts")?;
    let through = newest_id(conn)?.unwrap_or(0);
    let evicted = Counter::Evicted.read(conn)?.unwrap_or(0);
    Ok(Stats {
        total,
        by_envelope,
        valid,
        invalid,
        duplicates,
        by_event,
        through,
        evicted,
        keep: None,
    })
}

/// Sums one of the lookups' count views by value.
fn counts(conn: &Connection, view: &str) -> Result<BTreeMap<String, i64>, StoreError> {
    let mut counts = BTreeMap::new();
    let mut statement = conn.prepare_cached(&format!("SELECT value, sum(requests) FROM {view} GROUP BY value"))?;
    for row in statement.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))? {
        let (value, count) = row?;
        counts.insert(value, count);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list query with its filter's fields flattened, as the tests spell them.
    #[derive(Debug, Clone, Default)]
    struct TestQuery {
        limit: usize,
        before: Option<i64>,
        method: Option<String>,
        path_prefix: Option<String>,
        envelope: Option<ProfileFilter>,
        valid: Option<bool>,
        duplicate: Option<bool>,
        event: Option<String>,
        text: Option<String>,
    }

    impl TestQuery {
        fn to_list(&self) -> ListQuery {
            ListQuery {
                filter: Filter {
                    method: self.method.clone(),
                    path_prefix: self.path_prefix.clone(),
                    envelope: self.envelope.clone(),
                    valid: self.valid,
                    duplicate: self.duplicate,
                    event: self.event.clone(),
                    text: self.text.clone(),
                    ..Filter::default()
                },
                limit: self.limit,
                from: self.before.map_or(PageStart::Newest, PageStart::Before),
            }
        }
    }
    use crate::store::generations::Generations;
    use crate::store::schema::{Durability, open_writer};

    fn plan(conn: &Connection, sql: &str, binds: Vec<SqlValue>) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).expect("plan");
        let rows = statement
            .query_map(params_from_iter(binds), |row| row.get::<_, String>(3))
            .expect("plan rows")
            .collect::<rusqlite::Result<Vec<_>>>()
            .expect("plan rows");
        rows.join("\n")
    }

    /// A store of two generations: the first made with the store, the second as the writer starts one.
    fn store() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = open_writer(&dir.path().join("plans.db"), Durability::Normal, None).expect("open");
        conn.execute(
            "INSERT INTO requests_1 (id, received_at, method, path, query, body_size, body_kind, error_count,
                                     warning_count, remote_addr)
             VALUES (1, 0, 'POST', '/', '', 0, 'empty', 0, 0, '')",
            [],
        )
        .expect("row");
        let mut generations = Generations::load(&conn, Some(4), 0).expect("generations").sized(1);
        let tx = conn.transaction().expect("begin");
        generations.make_room(&tx, 2).expect("second generation");
        tx.commit().expect("commit");
        (dir, conn)
    }

    /// What a test request varies.
    struct Shape {
        path: &'static str,
        envelope: Option<&'static str>,
        valid: bool,
        event: Option<&'static str>,
    }

    /// Inserts requests `ids` in batches of `batch_size`, as the writer does: each generation started when due, and the
    /// lookup tables filled when due.
    fn insert_requests(
        conn: &mut Connection,
        generations: &mut Generations,
        ids: std::ops::RangeInclusive<i64>,
        batch_size: usize,
        shape: impl Fn(i64) -> Shape,
    ) {
        for batch in ids.collect::<Vec<i64>>().chunks(batch_size) {
            let tx = conn.transaction().expect("begin");
            for &id in batch {
                generations.make_room(&tx, id).expect("room");
                let Shape {
                    path,
                    envelope,
                    valid,
                    event,
                } = shape(id);
                let row = SummaryRow {
                    path: path.to_owned(),
                    body_kind: "json".into(),
                    envelope: envelope.map(str::to_owned),
                    valid: Some(valid),
                    event: event.map(str::to_owned),
                    ..SummaryRow::example(id)
                };
                tx.execute(generations.insert_request(), params_from_iter(row.values()))
                    .expect("summary");
                tx.execute(
                    generations.insert_payload(),
                    rusqlite::params![id, b"", None::<String>, None::<String>, None::<String>, b""],
                )
                .expect("payload");
                generations.inserted(id);
            }
            generations.catch_up_when_due(&tx).expect("catch up");
            tx.commit().expect("commit");
        }
    }

    /// Asserts that `plan` searches the `lookup` table of both generations, its condition starting as `how`.
    fn assert_searched(plan: &str, lookup: &str, how: &str) {
        for generation in [1, 2] {
            let search = format!("SEARCH requests_{generation}_{lookup}_ids USING PRIMARY KEY ({how}");
            assert!(plan.contains(&search), "{search}: {plan}");
        }
    }

    /// The plan's reads of each generation's summary table, one line each.
    fn table_reads(plan: &str) -> Vec<&str> {
        plan.lines()
            .filter(|line| line.contains(" requests_") && (line.starts_with("SCAN") || line.starts_with("SEARCH")))
            .collect()
    }

    #[test]
    fn each_filter_reads_ids_newest_first_without_sorting() {
        let (_dir, conn) = store();
        // Each filter, and the index it must use (`None`: the common side of a filter, read along the table).
        let filters = [
            (
                TestQuery {
                    valid: Some(false),
                    ..TestQuery::default()
                },
                Some("invalid"),
            ),
            (
                TestQuery {
                    valid: Some(true),
                    ..TestQuery::default()
                },
                None,
            ),
            (
                TestQuery {
                    duplicate: Some(true),
                    ..TestQuery::default()
                },
                Some("duplicates"),
            ),
            (
                TestQuery {
                    method: Some("GET".into()),
                    ..TestQuery::default()
                },
                Some("by_rare_method"),
            ),
            (
                TestQuery {
                    method: Some("POST".into()),
                    ..TestQuery::default()
                },
                None,
            ),
        ];
        for (filter, index) in filters {
            let query = TestQuery { limit: 50, ..filter };
            let (sql, binds) = list_statement(&conn, &query.to_list()).expect("statement");
            let plan = plan(&conn, &sql, binds.0);
            let reads = table_reads(&plan);
            assert_eq!(reads.len(), 2, "{query:?} reads each generation once: {plan}");
            for read in reads {
                match index {
                    // Both `requests_1_invalid` and `requests_2_invalid`.
                    Some(index) => assert!(
                        read.contains(" INDEX ")
                            && read.split_whitespace().any(|word| word.ends_with(&format!("_{index}"))),
                        "{query:?}: {plan}"
                    ),
                    // Walking ids newest first: the table itself, in rowid order.
                    None => assert!(!read.contains(" INDEX "), "{query:?}: {plan}"),
                }
            }
            assert!(!plan.contains("TEMP B-TREE"), "{query:?} sorts: {plan}");
        }
    }

    #[test]
    fn lookup_filters_search_each_lookup_table_and_the_tail_in_id_order() {
        let (_dir, conn) = store();
        let filters = [
            (
                TestQuery {
                    event: Some("invoices.created".into()),
                    ..TestQuery::default()
                },
                "event",
            ),
            (
                TestQuery {
                    event: Some("user.new".into()),
                    before: Some(1000),
                    valid: Some(false),
                    ..TestQuery::default()
                },
                "event",
            ),
            (
                TestQuery {
                    envelope: Some(ProfileFilter::Is("channel_event".into())),
                    ..TestQuery::default()
                },
                "envelope",
            ),
            (
                TestQuery {
                    envelope: Some(ProfileFilter::Is("entity_action".into())),
                    method: Some("POST".into()),
                    ..TestQuery::default()
                },
                "envelope",
            ),
            (
                TestQuery {
                    envelope: Some(ProfileFilter::None),
                    ..TestQuery::default()
                },
                "envelope",
            ),
        ];
        for (filter, lookup) in filters {
            let query = TestQuery { limit: 50, ..filter };
            let (sql, binds) = list_statement(&conn, &query.to_list()).expect("statement");
            let plan = plan(&conn, &sql, binds.0);
            for generation in [1, 2] {
                assert!(
                    plan.contains(&format!(
                        "SEARCH requests_{generation}_{lookup}_ids USING PRIMARY KEY (value=?"
                    )),
                    "{query:?} searches generation {generation}'s lookup table: {plan}"
                );
            }
            // The tail, above the ids filed, is in the newest generation: a range of its ids.
            assert!(
                plan.lines()
                    .any(|line| line.starts_with("SEARCH requests_2 ") && line.contains(">?")),
                "{query:?}: {plan}"
            );
            assert!(!plan.contains("SCAN"), "{query:?} scans: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{query:?} sorts: {plan}");
        }
    }

    #[test]
    fn a_rare_side_filter_beside_an_envelope_keeps_its_own_index() {
        let (_dir, conn) = store();
        let query = TestQuery {
            limit: 50,
            envelope: Some(ProfileFilter::Is("channel_event".into())),
            valid: Some(false),
            ..TestQuery::default()
        };
        let (sql, binds) = list_statement(&conn, &query.to_list()).expect("statement");
        let plan = plan(&conn, &sql, binds.0);
        let reads = table_reads(&plan);
        assert_eq!(reads.len(), 2, "{plan}");
        assert!(reads.iter().all(|read| read.contains("_invalid")), "{plan}");
    }

    #[test]
    fn counting_paths_reads_the_path_lookup_tables_alone() {
        let (_dir, conn) = store();
        let binds = vec![
            SqlValue::Text("/hooks/".into()),
            SqlValue::Text("/hooks/\u{10FFFF}".into()),
            SqlValue::Integer(PREFIX_PROBE),
        ];
        let plan = plan(&conn, PREFIX_COUNT, binds);
        for generation in [1, 2] {
            assert!(
                plan.contains(&format!("SEARCH requests_{generation}_path_ids USING PRIMARY KEY")),
                "{plan}"
            );
        }
        assert!(!plan.contains("(rowid=?)"), "no summary is read: {plan}");
    }

    #[test]
    fn rare_path_prefix_uses_the_path_lookup() {
        let (_dir, conn) = store();
        let query = TestQuery {
            limit: 50,
            path_prefix: Some("/hooks/".into()),
            ..TestQuery::default()
        };
        let (sql, binds) = list_statement(&conn, &query.to_list()).expect("statement");
        let plan = plan(&conn, &sql, binds.0);
        assert_searched(&plan, "path", "value>? AND value<?)");
        assert!(!plan.contains("SCAN"), "{plan}");
    }

    #[test]
    fn a_common_prefix_of_few_paths_walks_their_lookups() {
        let (_dir, conn) = store();
        // Enough entries under `/crm/` for the prefix to count as common, all of one path.
        let file = |path: &str, ids: std::ops::Range<i64>| {
            let mut insert = conn
                .prepare("INSERT INTO requests_2_path_ids (value, id) VALUES (?1, ?2)")
                .expect("insert");
            for id in ids {
                insert.execute(rusqlite::params![path, id]).expect("entry");
            }
        };
        file("/crm/events", 10..10 + PREFIX_PROBE);
        file("/hooks/bench", 10 + PREFIX_PROBE..10 + 2 * PREFIX_PROBE);
        // The views show filed entries up to this counter.
        conn.execute(
            "INSERT OR REPLACE INTO counters (name, value) VALUES ('indexed_through', ?1)",
            [3 * PREFIX_PROBE],
        )
        .expect("counter");
        let query = |prefix: &str| TestQuery {
            limit: 50,
            path_prefix: Some(prefix.into()),
            ..TestQuery::default()
        };

        let under = |prefix: &str| paths_under(&conn, prefix, &format!("{prefix}\u{10FFFF}")).expect("paths");
        assert_eq!(under("/crm/"), Some(vec!["/crm/events".to_owned()]));
        for sql in [FIRST_PATH, NEXT_PATH] {
            let ends = plan(
                &conn,
                sql,
                vec![SqlValue::Text("/crm/".into()), SqlValue::Text("/crm/\u{10FFFF}".into())],
            );
            // The lookup tables' walks merged; only the tail's few rows are sorted.
            assert!(ends.contains("MERGE (UNION ALL)"), "{ends}");
            assert_searched(&ends, "path", "value>?");
            assert_eq!(
                ends.matches("TEMP B-TREE").count(),
                1,
                "only the tail is sorted: {ends}"
            );
            assert!(!ends.contains("SCAN"), "an end is found by a search: {ends}");
            assert!(!ends.contains("(rowid=?)"), "no summary is read: {ends}");
        }
        let (sql, binds) = list_statement(&conn, &query("/crm/").to_list()).expect("statement");
        let one_path = plan(&conn, &sql, binds.0);
        // One path: searched by its value, so each lookup table's walk is in id order.
        assert_searched(&one_path, "path", "value=?");
        assert!(!one_path.contains("TEMP B-TREE"), "sorts: {one_path}");

        // A rare side of another filter keeps its own index rather than walking every request of the path.
        for rare in [
            TestQuery {
                valid: Some(false),
                ..query("/crm/")
            },
            TestQuery {
                duplicate: Some(true),
                ..query("/crm/")
            },
            TestQuery {
                method: Some("GET".into()),
                ..query("/crm/")
            },
        ] {
            let (sql, binds) = list_statement(&conn, &rare.to_list()).expect("statement");
            let with_rare = plan(&conn, &sql, binds.0);
            assert!(!with_rare.contains("path_ids"), "{rare:?}: {with_rare}");
            assert!(with_rare.contains(" INDEX "), "{rare:?}: {with_rare}");
        }

        // A second path under the prefix: both lookups walked and merged, still without sorting.
        file("/crm/other", 10 + 2 * PREFIX_PROBE..11 + 2 * PREFIX_PROBE);
        assert_eq!(
            under("/crm/"),
            Some(vec!["/crm/events".to_owned(), "/crm/other".to_owned()])
        );
        let (sql, binds) = list_statement(&conn, &query("/crm/").to_list()).expect("statement");
        let two_paths = plan(&conn, &sql, binds.0);
        assert_eq!(
            two_paths
                .matches("SEARCH requests_2_path_ids USING PRIMARY KEY (value=?")
                .count(),
            2,
            "each path's lookup: {two_paths}"
        );
        assert!(!two_paths.contains("TEMP B-TREE"), "sorts: {two_paths}");

        // More paths than a page merges: the walk of ids newest first.
        let many = i64::try_from(MOST_PATHS).expect("count");
        for path in 0..many {
            let first = 11 + 2 * PREFIX_PROBE + path;
            file(&format!("/crm/more/{path}"), first..first + 1);
        }
        assert_eq!(under("/crm/"), None);
        let (sql, binds) = list_statement(&conn, &query("/crm/").to_list()).expect("statement");
        let walk = plan(&conn, &sql, binds.0);
        assert!(!walk.contains("path_ids"), "walks ids newest first: {walk}");
        assert!(!walk.contains("TEMP B-TREE"), "sorts: {walk}");
        assert_eq!(under("/nothing/"), Some(Vec::new()));
    }

    #[test]
    fn a_common_path_behind_newer_requests_is_paged_newest_first() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = open_writer(&dir.path().join("paths.db"), Durability::Normal, None).expect("open");
        let mut generations = Generations::load(&conn, None, 0).expect("generations");
        let tx = conn.transaction().expect("begin");
        generations.write_views(&tx).expect("views");
        tx.commit().expect("commit");
        // One path common enough to be walked, then newer requests to another, then a few to the first again, in
        // the tail that is not filed yet (filing runs at 1,024 ids, at the end of a batch).
        let last_filed_crm = PREFIX_PROBE + 200;
        let last = last_filed_crm + 1800;
        let crm = |id: i64| id <= last_filed_crm || id > last - 10;
        insert_requests(&mut conn, &mut generations, 1..=last, 256, |id| Shape {
            path: if crm(id) { "/crm/events" } else { "/hooks/bench" },
            envelope: None,
            valid: true,
            event: None,
        });
        let through: i64 = conn
            .query_row("SELECT value FROM counters WHERE name = 'indexed_through'", [], |row| {
                row.get(0)
            })
            .expect("counter");
        assert!(
            through > last_filed_crm && through <= last - 10,
            "filed through {through}"
        );
        let deleted = last_filed_crm - 60;
        let tx = conn.transaction().expect("begin");
        assert!(generations.delete(&tx, deleted).expect("delete"));
        tx.commit().expect("commit");
        assert_eq!(
            paths_under(&conn, "/crm/", "/crm/\u{10FFFF}").expect("paths"),
            Some(vec!["/crm/events".to_owned()])
        );

        let expected: Vec<i64> = (1..=last).rev().filter(|&id| crm(id) && id != deleted).collect();
        let mut before = None;
        for (page, want) in expected.chunks(50).take(3).enumerate() {
            let query = TestQuery {
                limit: 50,
                path_prefix: Some("/crm/".into()),
                before,
                ..TestQuery::default()
            };
            let found = list(&conn, &query.to_list()).expect("page");
            let ids: Vec<i64> = found.requests.iter().map(|summary| summary.id).collect();
            assert_eq!(ids, want, "page {page}");
            assert_eq!(found.next_before, want.last().copied());
            before = found.next_before;
        }

        // A second path under the prefix, only in the tail: the search for paths sees it, and the page has it.
        insert_requests(&mut conn, &mut generations, last + 1..=last + 1, 1, |_| Shape {
            path: "/crm/other",
            envelope: None,
            valid: true,
            event: None,
        });
        assert_eq!(
            paths_under(&conn, "/crm/", "/crm/\u{10FFFF}").expect("paths"),
            Some(vec!["/crm/events".to_owned(), "/crm/other".to_owned()])
        );
        let query = TestQuery {
            limit: 50,
            path_prefix: Some("/crm/".into()),
            ..TestQuery::default()
        };
        let first = list(&conn, &query.to_list()).expect("page");
        assert_eq!(first.requests.first().map(|summary| summary.id), Some(last + 1));
    }

    #[test]
    fn filters_find_the_same_requests_in_the_lookup_tables_and_the_tail() {
        let dir = tempfile::tempdir().expect("dir");
        let mut conn = open_writer(&dir.path().join("lookups.db"), Durability::Normal, None).expect("open");
        // Generations of 700 ids: the lookup tables catch up when the second starts and at 1,024 of the tail.
        let mut generations = Generations::load(&conn, Some(4 * 700), 0)
            .expect("generations")
            .sized(700);
        let paths = ["/hooks/a", "/hooks/b", "/other"];
        let events = [Some("invoices.created"), Some("user.new"), None];
        let envelopes = [Some("channel_event"), None, Some("entity_action"), None];
        let last = 2 * super::lookups::CATCH_UP_AT;
        insert_requests(&mut conn, &mut generations, 1..=last, 64, |id| {
            let index = usize::try_from(id).expect("id");
            Shape {
                path: paths[index % 3],
                envelope: envelopes[index % 4],
                valid: index % 5 != 0,
                event: events[index % 7 % 3],
            }
        });
        let through: i64 = conn
            .query_row("SELECT value FROM counters WHERE name = 'indexed_through'", [], |row| {
                row.get(0)
            })
            .expect("counter");
        assert!(
            through > 1000 && through < last,
            "requests on both sides: filed through {through}"
        );
        // A filed request and one of the tail deleted: neither is found any more.
        let tx = conn.transaction().expect("begin");
        assert!(generations.delete(&tx, 9).expect("delete filed"));
        assert!(generations.delete(&tx, last - 3).expect("delete tail"));
        tx.commit().expect("commit");

        let filters = [
            (
                TestQuery {
                    event: Some("user.new".into()),
                    ..TestQuery::default()
                },
                "event = 'user.new'",
            ),
            (
                TestQuery {
                    envelope: Some(ProfileFilter::None),
                    ..TestQuery::default()
                },
                "envelope IS NULL",
            ),
            (
                TestQuery {
                    envelope: Some(ProfileFilter::Is("entity_action".into())),
                    ..TestQuery::default()
                },
                "envelope = 'entity_action'",
            ),
            (
                TestQuery {
                    path_prefix: Some("/hooks/".into()),
                    ..TestQuery::default()
                },
                "path LIKE '/hooks/%'",
            ),
            (
                TestQuery {
                    event: Some("invoices.created".into()),
                    path_prefix: Some("/other".into()),
                    valid: Some(false),
                    ..TestQuery::default()
                },
                "event = 'invoices.created' AND path = '/other' AND valid = 0",
            ),
        ];
        for (filter, condition) in filters {
            let expected: Vec<i64> = conn
                .prepare(&format!("SELECT id FROM requests WHERE {condition} ORDER BY id DESC"))
                .expect("expected")
                .query_map([], |row| row.get(0))
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("rows");
            assert!(expected.iter().any(|id| *id > through) && expected.iter().any(|id| *id <= through));
            let mut found = Vec::new();
            let mut before = None;
            loop {
                let query = TestQuery {
                    limit: 100,
                    before,
                    ..filter.clone()
                };
                let page = list(&conn, &query.to_list()).expect("page");
                found.extend(page.requests.iter().map(|summary| summary.id));
                match page.next_before {
                    Some(next) => before = Some(next),
                    None => break,
                }
            }
            assert_eq!(found, expected, "{condition}");
        }
        let stats = stats(&conn).expect("stats");
        let counted: i64 = conn
            .query_row("SELECT count(*) FROM requests WHERE event = 'user.new'", [], |row| {
                row.get(0)
            })
            .expect("count");
        assert_eq!(stats.by_event.get("user.new"), Some(&counted));
        let with_event: i64 = conn
            .query_row("SELECT count(*) FROM requests WHERE event IS NOT NULL", [], |row| {
                row.get(0)
            })
            .expect("count");
        assert_eq!(stats.by_event.values().sum::<i64>(), with_event);
    }

    #[test]
    fn a_payload_check_of_more_ids_than_sqlite_binds_at_once_is_split() {
        let (_dir, conn) = store();
        let filter = Filter::from_query("q=needle").expect("filter");
        let ids: Vec<i64> = (1..=40_000).collect();
        assert_eq!(
            payload_matches(&conn, &filter, &ids).expect("no bind limit hit"),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn duplicate_key_lookup_is_a_primary_key_search() {
        let (_dir, conn) = store();
        let plan = plan(
            &conn,
            "SELECT first_id FROM idempotency_keys WHERE key_hash = ?1",
            vec![SqlValue::Integer(7)],
        );
        assert!(
            plan.starts_with("SEARCH idempotency_keys USING INTEGER PRIMARY KEY"),
            "{plan}"
        );
    }
}
