//! Opening the database file: refusing files that are not ours, creating and migrating the schema, and setting the
//! pragmas every connection needs. The schema version lives in `PRAGMA user_version`.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};

use super::OpenError;

/// Marks a SQLite file as hookscope's (`PRAGMA application_id`), so that another program's database is never
/// mistaken for ours and migrated.
pub const APPLICATION_ID: i32 = 0x486b_5370; // "HkSp"

/// How long start-up waits for a database locked by another process before giving up.
pub const STARTUP_LOCK_WAIT: Duration = Duration::from_secs(3);

/// How long a running writer or reader waits on a lock held by another process before reporting it busy. Short,
/// because a sender is waiting for its answer meanwhile.
pub const RUNNING_LOCK_WAIT: Duration = Duration::from_secs(2);

/// The size the WAL file is cut back to when it restarts: a little over the size at which the writer restarts it
/// (see the checkpointer), so that under load the same file is rewritten rather than cut and grown again, which
/// costs block allocation and discards. Shutdown truncates it to nothing.
const WAL_SIZE_LIMIT: i64 = 80 * 1024 * 1024;

/// The writer's page cache, in KiB (SQLite's negative `cache_size`). SQLite's default 2 MiB holds little of a
/// large store's key and index pages, so each insert would re-read some of them from the file; 16 MiB keeps that
/// working set in memory for a store of a million requests, within the memory budget.
const WRITER_CACHE_KIB: i64 = 16 * 1024;

/// One step of the schema.
#[derive(Clone, Copy)]
enum Migration {
    /// A fixed script.
    Sql(&'static str),
    /// A step that depends on what the store holds, such as its generations' tables.
    Code(fn(&Connection) -> rusqlite::Result<()>),
}

impl Migration {
    fn apply(self, conn: &Connection) -> rusqlite::Result<()> {
        match self {
            Migration::Sql(sql) => conn.execute_batch(sql),
            Migration::Code(step) => step(conn),
        }
    }
}

/// Each migration takes the schema from version `index` to `index + 1`.
const MIGRATIONS: &[Migration] = &[
    Migration::Sql(
        r#"
    CREATE TABLE requests (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        received_at     INTEGER NOT NULL,
        method          TEXT    NOT NULL,
        path            TEXT    NOT NULL,
        query           TEXT    NOT NULL,
        content_type    TEXT,
        body_size       INTEGER NOT NULL,
        body_kind       TEXT    NOT NULL,
        envelope        TEXT,
        valid           INTEGER,
        event           TEXT,
        error_count     INTEGER NOT NULL,
        warning_count   INTEGER NOT NULL,
        idempotency_key BLOB,
        duplicate_of    INTEGER,
        remote_addr     TEXT    NOT NULL
    );
    -- Bodies and headers live apart from the summaries so that list scans touch small rows only.
    CREATE TABLE payloads (
        id       INTEGER PRIMARY KEY,
        headers  BLOB NOT NULL,
        findings TEXT,
        body     BLOB NOT NULL
    );
    -- Kept by the writer in the same transaction as the rows, so start-up never counts a large table.
    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO counters (name, value) VALUES ('stored', 0);
    CREATE TABLE idempotency_keys (
        key      BLOB PRIMARY KEY,
        first_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX requests_by_method    ON requests (method, id);
    CREATE INDEX requests_by_path      ON requests (path, id);
    CREATE INDEX requests_by_envelope  ON requests (envelope, id);
    CREATE INDEX requests_by_valid     ON requests (valid, id);
    CREATE INDEX requests_by_event     ON requests (event, id);
    -- Duplicates listed newest first straight from the index, without sorting them.
    CREATE INDEX requests_duplicates   ON requests (id) WHERE duplicate_of IS NOT NULL;
"#,
    ),
    // Version 2 trims what every insert pays for (see docs/design.md, "Storage layout"):
    // - ids come from the writer, not AUTOINCREMENT, which read and rewrote `sqlite_sequence` on every insert; the
    //   counter `last_id` keeps ids increasing across deletes and clears;
    // - validity and method are indexed on their rare side only (invalid requests, methods other than POST); the
    //   common side is found by walking ids newest first, which meets a page within a few rows.
    Migration::Sql(
        r#"
    CREATE TABLE requests_v2 (
        id              INTEGER PRIMARY KEY,
        received_at     INTEGER NOT NULL,
        method          TEXT    NOT NULL,
        path            TEXT    NOT NULL,
        query           TEXT    NOT NULL,
        content_type    TEXT,
        body_size       INTEGER NOT NULL,
        body_kind       TEXT    NOT NULL,
        envelope        TEXT,
        valid           INTEGER,
        event           TEXT,
        error_count     INTEGER NOT NULL,
        warning_count   INTEGER NOT NULL,
        idempotency_key BLOB,
        duplicate_of    INTEGER,
        remote_addr     TEXT    NOT NULL
    );
    INSERT INTO requests_v2 SELECT * FROM requests;
    INSERT OR REPLACE INTO counters (name, value)
        SELECT 'last_id', seq FROM sqlite_sequence WHERE name = 'requests';
    DROP TABLE requests;
    ALTER TABLE requests_v2 RENAME TO requests;
    CREATE INDEX requests_by_path      ON requests (path, id);
    CREATE INDEX requests_by_envelope  ON requests (envelope, id);
    CREATE INDEX requests_by_event     ON requests (event, id);
    CREATE INDEX requests_duplicates   ON requests (id) WHERE duplicate_of IS NOT NULL;
    CREATE INDEX requests_invalid      ON requests (id) WHERE valid = 0;
    CREATE INDEX requests_by_rare_method ON requests (method, id) WHERE method <> 'POST';
"#,
    ),
    // Version 3 keys the idempotency-key table by a 64-bit hash of each key (see `keys.rs`): about a third of the
    // room per entry, so fewer pages per new key. Where two stored keys share a hash, the later first sighting
    // stays, as when keys collide at run time (and an evicted one is always the earlier).
    Migration::Sql(
        r#"
    CREATE TABLE idempotency_keys_v3 (
        key_hash INTEGER PRIMARY KEY,
        first_id INTEGER NOT NULL
    );
    -- Grouped, hence sorted, by hash: appended in order, the new table's pages are each written once.
    INSERT INTO idempotency_keys_v3 (key_hash, first_id)
        SELECT hookscope_key_hash(key) AS hash, max(first_id) FROM idempotency_keys
        WHERE typeof(key) IN ('blob', 'text') GROUP BY hash;
    DROP TABLE idempotency_keys;
    ALTER TABLE idempotency_keys_v3 RENAME TO idempotency_keys;
"#,
    ),
    // Version 4 stores requests in generations of tables that retention retires whole (see `generations.rs`). The
    // tables so far become the first generation; readers see the generations through two views, which leave out
    // the requests retention has evicted. The writer rewrites the views at every start (`Generations::write_views`).
    Migration::Sql(
        r#"
    ALTER TABLE requests RENAME TO requests_1;
    ALTER TABLE payloads RENAME TO payloads_1;
    INSERT OR IGNORE INTO counters (name, value) VALUES ('evicted_through', 0);
    CREATE VIEW requests AS
        SELECT * FROM requests_1 WHERE +id > (SELECT value FROM counters WHERE name = 'evicted_through');
    CREATE VIEW captures AS
        SELECT r.*, p.headers, p.findings, p.body FROM requests_1 r JOIN payloads_1 p ON p.id = r.id
        WHERE +r.id > (SELECT value FROM counters WHERE name = 'evicted_through');
"#,
    ),
    // Version 5 indexes envelopes by partial indexes of ids, one per envelope (see `generations.rs`).
    Migration::Code(super::generations::split_envelope_indexes),
    // Version 6 moves the path, event and envelope filters from indexes to lookup tables filled in runs (see
    // `lookups.rs`).
    Migration::Code(super::lookups::migrate),
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// How much durability a commit buys; see `docs/security.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a committed request survives a power loss.
    Full,
    /// `synchronous=NORMAL` (the default): survives a crash of hookscope; a power loss may lose the last commits.
    Normal,
}

/// A named counter from the `counters` table; `None` when the row is absent (stores written by older builds lack
/// the newer counters).
pub fn read_counter(conn: &Connection, name: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT value FROM counters WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()
}

/// Sets a named counter, creating its row if needed.
pub fn write_counter(conn: &Connection, name: &str, value: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO counters (name, value) VALUES (?1, ?2)")?
        .execute(rusqlite::params![name, value])?;
    Ok(())
}

/// Opens (creating if needed) the database at `path` for writing, checks it is ours, and migrates it.
pub fn open_writer(path: &Path, durability: Durability, max_bytes: Option<u64>) -> Result<Connection, OpenError> {
    let shown = path.display().to_string();
    refuse_foreign_file(path)?;
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
        && !dir.exists()
    {
        fs::create_dir_all(dir).map_err(|source| OpenError::CreateDir {
            dir: dir.display().to_string(),
            source,
        })?;
    }

    let sqlite = |source: rusqlite::Error| classify(&shown, source);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(STARTUP_LOCK_WAIT).map_err(sqlite)?;
    if conn.is_readonly(rusqlite::MAIN_DB).map_err(sqlite)? {
        return Err(OpenError::ReadOnly { path: shown });
    }

    let application_id: i32 = conn
        .query_row("PRAGMA application_id", [], |row| row.get(0))
        .map_err(sqlite)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(sqlite)?;
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .map_err(sqlite)?;
    let fresh = application_id == 0 && version == 0 && objects == 0;
    if !fresh && application_id != APPLICATION_ID {
        return Err(OpenError::Foreign { path: shown });
    }
    if version > LATEST_VERSION {
        return Err(OpenError::TooNew {
            path: shown,
            found: version,
            known: LATEST_VERSION,
        });
    }

    conn.pragma_update(None, "journal_mode", "WAL").map_err(sqlite)?;
    set_durability(&conn, durability).map_err(sqlite)?;
    migrate(&mut conn, version).map_err(sqlite)?;
    // When the WAL restarts it is cut back to this size, so a burst leaves no oversized WAL behind.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
        .map_err(sqlite)?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)
        .map_err(sqlite)?;
    if let Some(max_bytes) = max_bytes {
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .map_err(sqlite)?;
        let pages = i64::try_from(max_bytes).unwrap_or(i64::MAX) / page_size.max(1);
        conn.pragma_update(None, "max_page_count", pages.max(1))
            .map_err(sqlite)?;
    }
    conn.busy_timeout(RUNNING_LOCK_WAIT).map_err(sqlite)?;
    Ok(conn)
}

/// The settings every read connection needs.
pub fn configure_reader(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(RUNNING_LOCK_WAIT)?;
    conn.pragma_update(None, "query_only", true)
}

fn set_durability(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    let level = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", level)
}

/// The key hash as a SQL function, for the migration that rewrites the key table by hash.
fn register_key_hash(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        super::keys::KEY_HASH_FUNCTION,
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |context| {
            let hash = match context.get_raw(0) {
                ValueRef::Blob(key) | ValueRef::Text(key) => Some(super::keys::key_hash(key)),
                _ => None,
            };
            Ok(hash)
        },
    )
}

fn migrate(conn: &mut Connection, from: i64) -> rusqlite::Result<()> {
    if from == LATEST_VERSION {
        return Ok(());
    }
    register_key_hash(conn)?;
    // A store written by an older build may take seconds (version 6 files every stored request in the lookup
    // tables: 4 s for a million), so whoever started it learns why start-up waits.
    let started = std::time::Instant::now();
    if from > 0 {
        tracing::info!(
            from,
            to = LATEST_VERSION,
            "upgrading the store's schema; a large store takes a few seconds"
        );
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(usize::try_from(from).unwrap_or(0)) {
        migration.apply(&tx)?;
        tx.pragma_update(None, "user_version", i64::try_from(index + 1).unwrap_or(i64::MAX))?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()?;
    if from > 0 {
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis(),
            "upgraded the store's schema"
        );
    }
    Ok(())
}

/// Refuses a non-empty file that does not start with SQLite's magic header, before SQLite touches it.
fn refuse_foreign_file(path: &Path) -> Result<(), OpenError> {
    let shown = path.display().to_string();
    let Ok(metadata) = fs::metadata(path) else {
        return Ok(());
    };
    if metadata.is_dir() {
        return Err(OpenError::IsDirectory { path: shown });
    }
    if metadata.len() == 0 {
        return Ok(());
    }
    let mut header = [0u8; 16];
    let read = fs::File::open(path).and_then(|mut file| file.read_exact(&mut header));
    match read {
        Ok(()) if &header == b"SQLite format 3\0" => Ok(()),
        Ok(()) => Err(OpenError::NotSqlite { path: shown }),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Err(OpenError::NotSqlite { path: shown }),
        Err(source) => Err(OpenError::Io { path: shown, source }),
    }
}

/// Turns a SQLite error met while opening into the sentence a user needs.
fn classify(path: &str, source: rusqlite::Error) -> OpenError {
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => OpenError::Locked {
            path: path.to_owned(),
            waited: STARTUP_LOCK_WAIT,
        },
        Some(ErrorCode::ReadOnly) => OpenError::ReadOnly { path: path.to_owned() },
        Some(ErrorCode::NotADatabase) => OpenError::NotSqlite { path: path.to_owned() },
        _ => OpenError::Sqlite {
            path: path.to_owned(),
            source,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store at schema `version`, as the builds of that version left it.
    fn store_at_version(path: &Path, version: usize) -> Connection {
        let conn = Connection::open(path).expect("open");
        register_key_hash(&conn).expect("hash function");
        for migration in &MIGRATIONS[..version] {
            migration.apply(&conn).expect("older schema");
        }
        conn.pragma_update(None, "user_version", i64::try_from(version).expect("version"))
            .expect("version");
        conn.pragma_update(None, "application_id", APPLICATION_ID).expect("id");
        conn
    }

    #[test]
    fn version_1_store_keeps_its_rows_and_its_highest_id() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v1.db");
        {
            let conn = store_at_version(&path, 1);
            for _ in 0..3 {
                conn.execute(
                    "INSERT INTO requests (received_at, method, path, query, body_size, body_kind, valid,
                                           error_count, warning_count, remote_addr)
                     VALUES (0, 'GET', '/v1', '', 0, 'empty', 0, 1, 0, '127.0.0.1:1')",
                    [],
                )
                .expect("row");
            }
            // The newest request was deleted: AUTOINCREMENT remembered id 3 in sqlite_sequence.
            conn.execute("DELETE FROM requests WHERE id = 3", []).expect("delete");
        }
        let conn = open_writer(&path, Durability::Normal, None).expect("migrate");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("version");
        assert_eq!(version, LATEST_VERSION);
        let ids: Vec<i64> = conn
            .prepare("SELECT id FROM requests ORDER BY id")
            .expect("ids")
            .query_map([], |row| row.get(0))
            .expect("ids")
            .collect::<rusqlite::Result<_>>()
            .expect("ids");
        assert_eq!(ids, [1, 2]);
        assert_eq!(read_counter(&conn, "last_id").expect("counter"), Some(3));
        let invalid: i64 = conn
            .query_row(
                "SELECT count(*) FROM requests_1 INDEXED BY requests_invalid WHERE valid = 0",
                [],
                |row| row.get(0),
            )
            .expect("partial index");
        assert_eq!(invalid, 2);
    }

    #[test]
    fn version_3_store_becomes_the_first_generation() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v3.db");
        {
            let conn = store_at_version(&path, 3);
            for id in [4, 5] {
                conn.execute(
                    "INSERT INTO requests (id, received_at, method, path, query, body_size, body_kind, error_count,
                                           warning_count, remote_addr)
                     VALUES (?1, 0, 'POST', '/v3', '', 4, 'text', 0, 0, '127.0.0.1:1')",
                    [id],
                )
                .expect("row");
                conn.execute(
                    "INSERT INTO payloads (id, headers, body) VALUES (?1, x'', CAST('body' AS BLOB))",
                    [id],
                )
                .expect("payload");
            }
        }
        let conn = open_writer(&path, Durability::Normal, None).expect("migrate");
        // Stores written before keys were swept lazily had no `evicted_through`; the views need one.
        assert_eq!(read_counter(&conn, "evicted_through").expect("counter"), Some(0));
        let bodies = |conn: &Connection| -> Vec<(i64, Vec<u8>)> {
            conn.prepare("SELECT id, body FROM captures ORDER BY id")
                .expect("captures")
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        assert_eq!(bodies(&conn), [(4, b"body".to_vec()), (5, b"body".to_vec())]);
        write_counter(&conn, "evicted_through", 4).expect("evict");
        assert_eq!(bodies(&conn), [(5, b"body".to_vec())]);
        let summaries: i64 = conn
            .query_row("SELECT count(*) FROM requests", [], |row| row.get(0))
            .expect("count");
        assert_eq!(summaries, 1, "the views leave evicted requests out");
    }

    /// The names of a table's indexes.
    fn indexes_of(conn: &Connection, table: &str) -> Vec<String> {
        conn.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?1 ORDER BY name")
            .expect("indexes")
            .query_map([table], |row| row.get(0))
            .expect("indexes")
            .collect::<rusqlite::Result<_>>()
            .expect("indexes")
    }

    #[test]
    fn version_4_store_indexes_each_envelope_apart_then_files_them_in_lookup_tables() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v4.db");
        {
            let conn = store_at_version(&path, 4);
            for (id, envelope) in [
                (1, Some("channel_event")),
                (2, Some("entity_action")),
                (3, None),
                (4, None),
            ] {
                conn.execute(
                    "INSERT INTO requests_1 (id, received_at, method, path, query, body_size, body_kind, envelope,
                                             error_count, warning_count, remote_addr)
                     VALUES (?1, 0, 'POST', '/v4', '', 0, 'empty', ?2, 0, 0, '127.0.0.1:1')",
                    rusqlite::params![id, envelope],
                )
                .expect("row");
            }
            // A later generation, as version 4 started them, and one being retired, whose indexes are gone.
            conn.execute_batch(
                "CREATE TABLE requests_2 AS SELECT * FROM requests_1 WHERE 0;
                 CREATE INDEX requests_2_by_envelope ON requests_2 (envelope, id);
                 CREATE TABLE requests_3 AS SELECT * FROM requests_1 WHERE 0;",
            )
            .expect("generations");
        }
        let conn = Connection::open(&path).expect("open");
        MIGRATIONS[4].apply(&conn).expect("version 5");
        let indexes = |table: &str| indexes_of(&conn, table);
        assert!(
            indexes("requests_1").iter().all(|name| !name.ends_with("by_envelope")),
            "{:?}",
            indexes("requests_1")
        );
        assert_eq!(
            indexes("requests_2"),
            [
                "requests_2_envelope_channel_event",
                "requests_2_envelope_entity_action",
                "requests_2_no_envelope"
            ]
        );
        assert!(
            indexes("requests_3").is_empty(),
            "a retiring generation stays without indexes"
        );
        let ids = |index: &str, condition: &str| -> Vec<i64> {
            conn.prepare(&format!(
                "SELECT id FROM requests_1 INDEXED BY {index} WHERE {condition} ORDER BY id"
            ))
            .expect("query")
            .query_map([], |row| row.get(0))
            .expect("ids")
            .collect::<rusqlite::Result<_>>()
            .expect("ids")
        };
        assert_eq!(
            ids("requests_1_envelope_channel_event", "envelope = 'channel_event'"),
            [1]
        );
        assert_eq!(
            ids("requests_1_envelope_entity_action", "envelope = 'entity_action'"),
            [2]
        );
        assert_eq!(ids("requests_1_no_envelope", "envelope IS NULL"), [3, 4]);
        conn.pragma_update(None, "user_version", 5).expect("version");
        drop(conn);

        // Version 6: the path, event and envelope indexes become lookup tables holding every stored request.
        let conn = open_writer(&path, Durability::Normal, None).expect("migrate");
        let indexes = |table: &str| indexes_of(&conn, table);
        assert!(
            indexes("requests_1")
                .iter()
                .all(|name| !name.contains("envelope") && !name.ends_with("by_path") && !name.ends_with("by_event")),
            "{:?}",
            indexes("requests_1")
        );
        assert!(indexes("requests_2").is_empty(), "{:?}", indexes("requests_2"));
        let filed = |table: &str| -> Vec<(String, i64)> {
            conn.prepare(&format!("SELECT value, id FROM {table} ORDER BY value, id"))
                .expect("lookup")
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("rows")
        };
        assert_eq!(
            filed("requests_1_envelope_ids"),
            [
                ("channel_event".to_owned(), 1),
                ("entity_action".to_owned(), 2),
                ("none".to_owned(), 3),
                ("none".to_owned(), 4)
            ]
        );
        assert_eq!(filed("requests_1_path_ids").len(), 4);
        assert!(filed("requests_1_event_ids").is_empty(), "no request has an event");
        assert!(filed("requests_2_path_ids").is_empty());
        let retiring_lookups: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name GLOB 'requests_3_*_ids'",
                [],
                |row| row.get(0),
            )
            .expect("schema");
        assert_eq!(retiring_lookups, 0, "a retiring generation gets no lookup tables");
        assert_eq!(read_counter(&conn, "indexed_through").expect("counter"), Some(4));
    }

    #[test]
    fn version_2_store_keeps_its_keys_by_hash() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("v2.db");
        {
            let conn = store_at_version(&path, 2);
            conn.execute_batch("INSERT INTO idempotency_keys (key, first_id) VALUES (x'6b2d31', 4), (x'6b2d32', 9);")
                .expect("keys");
        }
        let conn = open_writer(&path, Durability::Normal, None).expect("migrate");
        let first_id = |key: &[u8]| -> Option<i64> {
            conn.query_row(
                "SELECT first_id FROM idempotency_keys WHERE key_hash = ?1",
                [crate::store::keys::key_hash(key)],
                |row| row.get(0),
            )
            .optional()
            .expect("lookup")
        };
        assert_eq!(first_id(b"k-1"), Some(4));
        assert_eq!(first_id(b"k-2"), Some(9));
        assert_eq!(first_id(b"k-3"), None);
    }
}
