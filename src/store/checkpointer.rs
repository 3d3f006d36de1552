//! Checkpoints: copying the WAL back into the database file. A thread of its own does the bulk of it on its own
//! connection, so the writer never waits for pages to be copied or for the disk to sync them. SQLite's automatic
//! checkpoint would run inside a commit on the writer thread instead.
//!
//! A background checkpoint cannot restart the WAL while the writer keeps appending to it: SQLite starts writing
//! the WAL from its beginning again only when a write transaction begins with every frame already copied. So the
//! writer finishes the job itself once the WAL is large and the thread has copied nearly all of it; that last
//! step copies a few pages, and the WAL stays bounded under any sustained load. Once the writer has been quiet for
//! [`QUIET_BEFORE_TRUNCATE`], the thread cuts the WAL file back to nothing, so a burst leaves no large file behind.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::error::OpenError;
use super::schema::RUNNING_LOCK_WAIT;

/// WAL growth, in pages, after which the thread is asked to copy what is new (1 MB of 4 KiB pages). The thread
/// shares the server's core with the writer, and a checkpoint copying 1,000 pages held up the batches committed
/// meanwhile: p99 at full load was 5.4 to 5.5 ms with 1,000 pages, 4.3 to 5.2 with 250, 6.8 with 4,000, for 2 to
/// 3 % less throughput at 250 (10 s runs, default `--keep`). Asking after every commit instead had the thread
/// syncing hundreds of times a second.
pub const CHECKPOINT_EVERY_PAGES: i64 = 256;

/// WAL size, in pages, at which the writer restarts the WAL itself (64 MB of 4 KiB pages). A quiet store restarts
/// it far sooner, on its own, whenever a checkpoint catches up before the next commit; this is for sustained
/// load, where that never happens. Rare at this size, which matters because each holds up the writer for the
/// final copy and sync (1 to 2 ms, now and then 20 ms).
pub const RESTART_AT_PAGES: i64 = 16_000;

/// How many uncopied pages the writer takes on itself to restart the WAL: small enough that the final copy and
/// sync takes about a millisecond.
const RESTART_REMAINDER_PAGES: i64 = 256;

/// WAL size at which the writer restarts the WAL whatever is left to copy, if the thread cannot keep up.
const RESTART_FORCED_PAGES: i64 = 2 * RESTART_AT_PAGES;

/// How long the writer must have asked for no checkpoint before the thread truncates the WAL file. Under load the
/// WAL file is reused rather than cut and grown again (growing it costs block allocation); once a burst is over, a
/// WAL of up to 64 MB would otherwise stay on disk beside a small store. Half a second is far longer than any gap
/// between checkpoints under load (one per 1 MB of WAL), and short enough that the files are small a second after
/// captures pause. The truncation copies what is left and syncs, which holds up a capture arriving meanwhile for
/// about as long as one checkpoint.
pub const QUIET_BEFORE_TRUNCATE: Duration = Duration::from_millis(500);

thread_local! {
    /// The WAL's size in pages after the last commit on this thread, as SQLite's WAL hook reports it. The hook
    /// takes a plain function, and it runs on the committing thread: the writer's, which reads it after commits.
    static WAL_PAGES: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// Installs the hook that records the WAL's size after each commit. It replaces SQLite's automatic checkpoint,
/// which is the same hook.
pub fn watch_wal(conn: &Connection) {
    conn.wal_hook(Some(record_wal_pages));
}

fn record_wal_pages(_: &rusqlite::hooks::Wal, pages: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|recorded| recorded.set(i64::from(pages)));
    Ok(())
}

/// What the checkpoint thread has done, for the writer to read.
#[derive(Default)]
struct Progress {
    /// A checkpoint is being run now.
    running: AtomicBool,
    /// WAL frames copied into the database file by the last checkpoint (counted from the WAL's start).
    copied: AtomicI64,
}

/// The writer's side: asks the thread for checkpoints without ever waiting, and restarts the WAL when due.
pub struct Checkpoints {
    sender: Option<SyncSender<()>>,
    progress: Arc<Progress>,
    thread: Option<JoinHandle<()>>,
    /// The WAL's size when a checkpoint was last asked for.
    asked_at: i64,
}

impl Checkpoints {
    /// Call after each commit, on the thread that made it, with the connection that made it.
    pub fn after_commit(&mut self, writer: &Connection) {
        let pages = WAL_PAGES.with(std::cell::Cell::get);
        if pages < self.asked_at {
            // The WAL restarted from its beginning: what the thread copied before counts no more.
            self.asked_at = 0;
            self.progress.copied.store(0, Ordering::Release);
        }
        // Once a restart is due, the thread is kept close behind the writer, so that soon after one of its
        // checkpoints only a few pages are left for the writer to copy.
        let step = if pages >= RESTART_AT_PAGES {
            RESTART_REMAINDER_PAGES / 2
        } else {
            CHECKPOINT_EVERY_PAGES
        };
        if pages - self.asked_at >= step {
            self.asked_at = pages;
            if let Some(sender) = &self.sender {
                match sender.try_send(()) {
                    // Full: one is pending already and will copy these pages too.
                    Ok(()) | Err(TrySendError::Full(()) | TrySendError::Disconnected(())) => {}
                }
            }
        }
        if pages >= RESTART_AT_PAGES && !self.progress.running.load(Ordering::Acquire) {
            // A figure from before the last restart can exceed the WAL's size; then nothing is known copied.
            let copied = self.progress.copied.load(Ordering::Acquire);
            let remainder = if copied > pages { pages } else { pages - copied };
            if remainder <= RESTART_REMAINDER_PAGES || pages >= RESTART_FORCED_PAGES {
                // With every frame copied, the writer's next transaction starts the WAL from its beginning.
                match checkpoint(writer) {
                    Ok((_, copied)) => tracing::debug!(pages, copied, remainder, "WAL restarted"),
                    Err(error) => tracing::debug!(%error, "could not restart the WAL yet"),
                }
            }
        }
    }

    /// Stops the thread and waits for it, so a final checkpoint does not race with one of its own.
    pub fn stop(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the checkpoint thread on its own connection to `path`.
pub fn start(path: &Path) -> Result<Checkpoints, OpenError> {
    let shown = || path.display().to_string();
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)
        .and_then(|conn| conn.busy_timeout(RUNNING_LOCK_WAIT).map(|()| conn))
        .map_err(|source| OpenError::Sqlite {
            path: shown(),
            reason: source.to_string(),
        })?;
    let (sender, requests) = sync_channel(1);
    let progress = Arc::new(Progress::default());
    let thread = std::thread::Builder::new()
        .name("hookscope-checkpointer".into())
        .spawn({
            let progress = Arc::clone(&progress);
            move || run(&connection, &requests, &progress)
        })
        .map_err(OpenError::Thread)?;
    Ok(Checkpoints {
        sender: Some(sender),
        progress,
        thread: Some(thread),
        asked_at: 0,
    })
}

fn run(connection: &Connection, requests: &Receiver<()>, progress: &Progress) {
    // Whether a checkpoint ran since the WAL was last truncated: only then can the WAL be large.
    let mut grown = false;
    loop {
        let wait = if grown { QUIET_BEFORE_TRUNCATE } else { Duration::MAX };
        match requests.recv_timeout(wait) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => {
                grown = !truncate(connection, progress);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
        grown = true;
        progress.running.store(true, Ordering::Release);
        match checkpoint(connection) {
            Ok((wal_pages, copied)) => {
                progress.copied.store(copied, Ordering::Release);
                tracing::debug!(wal_pages, copied, "checkpoint");
            }
            Err(error) => tracing::warn!(%error, "checkpoint failed; it will be tried again"),
        }
        progress.running.store(false, Ordering::Release);
    }
}

/// How long a truncation waits for the writer's lock and for readers on older snapshots. It holds the writer's lock
/// while it waits for readers, so a capture arriving meanwhile waits too: this is kept short, and a truncation
/// held off is tried again after the next quiet spell.
const TRUNCATE_LOCK_WAIT: Duration = Duration::from_millis(50);

/// Copies what is left of the WAL and cuts its file to nothing; returns whether it did.
fn truncate(connection: &Connection, progress: &Progress) -> bool {
    progress.running.store(true, Ordering::Release);
    let result = connection
        .busy_timeout(TRUNCATE_LOCK_WAIT)
        .and_then(|()| connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get::<_, i64>(0)));
    if let Err(error) = connection.busy_timeout(RUNNING_LOCK_WAIT) {
        tracing::debug!(%error, "could not restore the checkpointer's lock wait");
    }
    progress.running.store(false, Ordering::Release);
    match result {
        Ok(0) => {
            progress.copied.store(0, Ordering::Release);
            tracing::debug!("WAL truncated after a quiet spell");
            true
        }
        Ok(_) => {
            tracing::debug!("WAL not truncated: a reader or the writer held it");
            false
        }
        Err(error) => {
            tracing::debug!(%error, "WAL not truncated");
            false
        }
    }
}

/// A PASSIVE checkpoint: it never waits for readers or the writer, and what it cannot copy now is copied next
/// time. Returns the WAL's size and how much of it is copied, in frames.
fn checkpoint(connection: &Connection) -> rusqlite::Result<(i64, i64)> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get(1)?, row.get(2)?))
    })
}
