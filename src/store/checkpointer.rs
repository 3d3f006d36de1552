//! The checkpointer thread: copies the WAL back into the database file on its own connection, so the writer never
//! stalls on a checkpoint. SQLite's automatic checkpoint would run inside a commit on the writer thread and put
//! milliseconds of file copying and an fsync into some unlucky sender's latency.

use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use rusqlite::{Connection, OpenFlags};

use super::OpenError;
use super::schema::RUNNING_LOCK_WAIT;

/// Committed rows between two checkpoint requests: about 2 MB of WAL for webhook-sized requests, well under the
/// size at which SQLite itself would checkpoint (1,000 pages, 4 MB).
pub const ROWS_PER_CHECKPOINT: u64 = 1000;

/// The writer's side: asks for a checkpoint without ever waiting.
pub struct CheckpointRequests {
    sender: SyncSender<()>,
    rows_since: u64,
}

impl CheckpointRequests {
    /// Counts committed rows and asks for a checkpoint when enough accumulated. A request made while one is
    /// pending is folded into it.
    pub fn committed(&mut self, rows: u64) {
        self.rows_since += rows;
        if self.rows_since < ROWS_PER_CHECKPOINT {
            return;
        }
        match self.sender.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => self.rows_since = 0,
            Err(TrySendError::Disconnected(())) => {}
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
    Ok(CheckpointRequests { sender, rows_since: 0 })
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
