//! The store's errors: why it could not be opened, each one sentence for the user, and why an operation failed
//! while running.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::ErrorCode;

/// Why the store could not be opened; each reads as one sentence for the user.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the folder {dir} for the database: {source}")]
    CreateDir { dir: String, source: std::io::Error },
    #[error("{path} is a folder, not a database file")]
    IsDirectory { path: String },
    #[error("{path} is not a SQLite database, so hookscope left it untouched; choose another file with --db")]
    NotSqlite { path: String },
    #[error(
        "{path} is a SQLite database written by another program, so hookscope left it untouched; choose another file with --db"
    )]
    Foreign { path: String },
    #[error("{path} was written by a newer hookscope (schema version {found}; this one knows up to {known})")]
    TooNew { path: String, found: i64, known: i64 },
    #[error(
        "{path} was written by an earlier development build of hookscope (schema version {found}), which this one does not read; move it aside or delete it, or choose another file with --db"
    )]
    Outdated { path: String, found: i64 },
    #[error("{path} is locked by another process (waited {} s); stop that process or choose another file with --db", waited.as_secs())]
    Locked { path: String, waited: Duration },
    #[error("{path} is read-only; hookscope needs to write to its database")]
    ReadOnly { path: String },
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("cannot open the database {path}: {reason}")]
    Sqlite { path: String, reason: String },
    #[error("cannot open read connections to {path}: {reason}")]
    Pool { path: String, reason: String },
    #[error("cannot create a temporary database: {0}")]
    Temporary(std::io::Error),
    #[error("cannot start the database writer: {0}")]
    Thread(std::io::Error),
}

/// Why a store operation failed while running.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Another process holds a lock on the database; the operation may succeed later.
    #[error("the database is locked by another process")]
    Busy,
    /// The disk (or the database's size limit) is full.
    #[error("the database is full")]
    Full,
    /// The store is shutting down.
    #[error("the store is closed")]
    Closed,
    /// Anything else; the cause is logged where it happened.
    #[error("database error: {0}")]
    Failed(Arc<anyhow::Error>),
}

impl StoreError {
    pub(super) fn failed(error: impl Into<anyhow::Error>) -> StoreError {
        StoreError::Failed(Arc::new(error.into()))
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
            Some(ErrorCode::DiskFull) => StoreError::Full,
            _ => StoreError::failed(error),
        }
    }
}
