//! Opening the database file: refusing files that are not ours or not of this schema version, creating the schema
//! in a new file, and setting the pragmas every connection needs. The schema version lives in `PRAGMA user_version`.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::counters::Counter;
use super::error::OpenError;
use super::generations;

/// Marks a SQLite file as hookscope's (`PRAGMA application_id`), so that another program's database is never
/// mistaken for ours.
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

/// The schema version this build writes and reads (`PRAGMA user_version`). hookscope is unreleased: a store of an
/// older version was written by a development build and is refused with a sentence that says so, never migrated.
/// Until the first release, a change to the schema bumps this and refuses older stores the same way.
pub const VERSION: i64 = 12;

/// How much durability a commit buys; see `docs/security.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a committed request survives a power loss.
    Full,
    /// `synchronous=NORMAL` (the default): survives a crash of hookscope; a power loss may lose the last commits.
    Normal,
}

/// Opens (creating if needed) the database at `path` for writing, after checking it is ours and of this version.
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
    if version > VERSION {
        return Err(OpenError::TooNew {
            path: shown,
            found: version,
            known: VERSION,
        });
    }
    if !fresh && version < VERSION {
        return Err(OpenError::Outdated {
            path: shown,
            found: version,
        });
    }

    conn.pragma_update(None, "journal_mode", "WAL").map_err(sqlite)?;
    set_durability(&conn, durability).map_err(sqlite)?;
    if fresh {
        create(&mut conn).map_err(sqlite)?;
    }
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
    register_functions(&conn).map_err(sqlite)?;
    Ok(conn)
}

/// The settings every read connection needs.
pub fn configure_reader(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(RUNNING_LOCK_WAIT)?;
    register_functions(conn)?;
    conn.pragma_update(None, "query_only", true)
}

/// The name of the SQL function the header filter runs on the stored headers: `hookscope_has_header(headers, name,
/// value)`, `value` NULL for any.
pub const HAS_HEADER: &str = "hookscope_has_header";

/// The SQL functions hookscope's queries use, on every connection that runs them.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    use rusqlite::types::ValueRef;
    conn.create_scalar_function(
        HAS_HEADER,
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |context| {
            let bytes = |index: usize| match context.get_raw(index) {
                ValueRef::Blob(bytes) | ValueRef::Text(bytes) => Some(bytes),
                _ => None,
            };
            let (Some(headers), Some(name)) = (bytes(0), bytes(1)) else {
                return Ok(false);
            };
            Ok(super::headers_codec::has_header(headers, name, bytes(2)))
        },
    )
}

fn set_durability(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    let level = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", level)
}

/// Creates the schema in a new, empty file: the counters, the idempotency keys, the first generation of request
/// tables and the views over it (which the writer writes again at every start).
fn create(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    tx.execute_batch(&format!(
        "CREATE TABLE counters (
             name  TEXT PRIMARY KEY,
             value INTEGER NOT NULL
         ) WITHOUT ROWID;
         -- Keyed by a 64-bit hash of each key, about a third of the room of the key itself (see keys.rs).
         CREATE TABLE idempotency_keys (
             key_hash INTEGER PRIMARY KEY,
             first_id INTEGER NOT NULL
         );
         -- Custom profiles made through the API, as they were written (JSON), in the order made.
         CREATE TABLE profiles (
             id   INTEGER PRIMARY KEY,
             name TEXT NOT NULL UNIQUE,
             spec TEXT NOT NULL
         );
         -- Endpoints made through the API, as they were written (JSON), so they outlive a restart.
         CREATE TABLE endpoints (
             id   INTEGER PRIMARY KEY,
             name TEXT NOT NULL UNIQUE,
             spec TEXT NOT NULL
         );
         {}
         {}",
        super::outbox::TABLES,
        generations::tables_sql(1)
    ))?;
    for (counter, value) in Counter::STARTING {
        counter.write(&tx, value)?;
    }
    generations::Generations::load(&tx, None, 0)?.write_views(&tx)?;
    tx.pragma_update(None, "user_version", VERSION)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.commit()
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
            reason: source.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_store_starts_at_this_version_with_its_counters() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = open_writer(&dir.path().join("new.db"), Durability::Normal, None).expect("open");
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .expect("version");
        assert_eq!(version, VERSION);
        for (counter, value) in Counter::STARTING {
            assert_eq!(counter.read(&conn).expect("counter"), Some(value));
        }
    }

    #[test]
    fn a_store_of_an_older_version_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("old.db");
        let conn = Connection::open(&path).expect("create");
        conn.execute_batch("CREATE TABLE requests (id INTEGER PRIMARY KEY);")
            .expect("table");
        conn.pragma_update(None, "user_version", 6).expect("version");
        conn.pragma_update(None, "application_id", APPLICATION_ID).expect("id");
        drop(conn);
        let before = fs::read(&path).expect("read");
        let refused = open_writer(&path, Durability::Normal, None).expect_err("refused");
        assert!(matches!(refused, OpenError::Outdated { found: 6, .. }), "{refused}");
        assert_eq!(fs::read(&path).expect("read"), before);
    }
}
