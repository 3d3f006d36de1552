//! The checkpointer thread: copies the WAL back into the database file on its own connection, so the writer never
//! stalls on a checkpoint. SQLite's automatic checkpoint would run inside a commit on the writer thread and put
//! milliseconds of file copying and an fsync into some unlucky sender's latency.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use rusqlite::{Connection, OpenFlags};

use super::OpenError;
use super::schema::RUNNING_LOCK_WAIT;

/// WAL pages at which a checkpoint is asked for: SQLite's own automatic threshold (4 MB of 4 KiB pages).
pub const WAL_PAGES_PER_CHECKPOINT: i32 = 1000;

thread_local! {
    /// The WAL's size in pages after the last commit on this thread, as SQLite's WAL hook reports it. The hook
    /// takes a plain function, and it runs on the committing thread: the writer's, which reads it after commits.
    static WAL_PAGES: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

/// Installs the hook that records the WAL's size after each commit. It replaces SQLite's automatic checkpoint,
/// which is the same hook.
pub fn watch_wal(conn: &Connection) {
    conn.wal_hook(Some(record_wal_pages));
}

fn record_wal_pages(_: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|recorded| recorded.set(pages));
    Ok(())
}

/// The writer's side: asks for a checkpoint without ever waiting.
pub struct CheckpointRequests {
    sender: SyncSender<()>,
}

impl CheckpointRequests {
    /// Asks for a checkpoint when the WAL has grown past the threshold; call after a commit on the thread that
    /// made it. A request made while one is pending is folded into it.
    pub fn after_commit(&self) {
        if WAL_PAGES.with(std::cell::Cell::get) < WAL_PAGES_PER_CHECKPOINT {
            return;
        }
        match self.sender.try_send(()) {
            Ok(()) | Err(TrySendError::Full(()) | TrySendError::Disconnected(())) => {}
        }
    }
}

/// Starts the checkpointer on its own connection to `path`; it stops when the returned handle is dropped.
pub fn start(path: &Path) -> Result<CheckpointRequests, OpenError> {
    let shown = || path.display().to_string();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)
        .and_then(|conn| conn.busy_timeout(RUNNING_LOCK_WAIT).map(|()| conn))
        .map_err(|source| OpenError::Sqlite { path: shown(), source })?;
    let (sender, requests) = sync_channel(1);
    std::thread::Builder::new()
        .name("hookscope-checkpointer".into())
        .spawn(move || run(&connection, &requests))
        .map_err(OpenError::Thread)?;
    Ok(CheckpointRequests { sender })
}

fn run(connection: &Connection, requests: &Receiver<()>) {
    while requests.recv().is_ok() {
        // PASSIVE never waits for readers or the writer; what it cannot copy now is copied next time.
        let result = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
        });
        match result {
            Ok((_, wal_pages, copied)) => tracing::debug!(wal_pages, copied, "checkpoint"),
            Err(error) => tracing::warn!(%error, "checkpoint failed; it will be tried again"),
        }
    }
}
