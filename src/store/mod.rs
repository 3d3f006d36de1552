//! Storage: one SQLite file in WAL mode. A single writer thread owns the write connection and commits whatever is
//! waiting as one transaction (group commit), so concurrent senders share an fsync instead of queueing for one
//! each. Reads go through a small pool of read-only connections on blocking threads; no async task ever holds a
//! connection across an `.await`. Every committed batch of changes is announced on a bounded broadcast feed.

mod batch;
mod checkpointer;
mod counters;
mod error;
mod feed;
mod generations;
mod headers_codec;
mod key_filter;
mod keys;
mod lookups;
mod outbox;
mod queries;
mod row;
mod schema;
mod waiting_keys;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use tokio::sync::{broadcast, mpsc, oneshot};

pub use error::{OpenError, StoreError};
pub use feed::{Change, Changes, Committed};
pub use queries::{ListQuery, Page, PageStart, RawHeaders, Stats, StoredBody};
pub use schema::{Durability, STARTUP_LOCK_WAIT};

use crate::filter::Filter;
use crate::record::{AttemptOutcome, Delivery, DeliveryPlan, Detail, NewRequest, Stored, StoredRequest};

/// How many commands may wait for the writer. Senders beyond it wait for room (backpressure), so memory stays
/// bounded however fast requests arrive; 4096 is several batches' worth at full speed.
const WRITER_QUEUE: usize = 4096;

/// How many committed batches the live feed keeps for a slow subscriber before that subscriber is told it lagged.
/// A batch carries one request at a trickle and dozens under load, so this is at least a second of slack at 1k
/// captures a second, and about two at full load; a viewer further behind resyncs from the store.
pub const CHANGE_FEED_CAPACITY: usize = 1024;

/// How many read connections run at once; reads are short, and the machine this targets has two cores.
const READERS: u32 = 4;

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file, created if missing.
    File(PathBuf),
    /// A throwaway database in a temporary directory, removed when hookscope stops.
    Temporary,
}

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub location: Location,
    pub durability: Durability,
    /// Keep only this many of the newest requests; `None` keeps everything.
    pub keep: Option<u64>,
    /// Largest the database file may grow, in bytes; writes past it fail with [`StoreError::Full`].
    pub max_bytes: Option<u64>,
}

/// A cheap-to-clone handle to the store.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    /// Commands for the writer thread, which owns the only write connection.
    commands: mpsc::Sender<writer::Command>,
    /// Read-only connections, used from blocking threads only.
    readers: r2d2::Pool<SqliteConnectionManager>,
    /// Where committed changes are announced.
    changes: broadcast::Sender<Changes>,
    /// The writer thread, joined on close.
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// The retention in force, which the stats report.
    keep: Option<u64>,
    /// Keeps a temporary database's directory alive until the store is dropped.
    _temporary: Option<tempfile::TempDir>,
}

impl Store {
    /// Opens the store: checks the file (creating the schema in a new one), then starts the writer thread and the read pool.
    pub fn open(options: &StoreOptions) -> Result<Store, OpenError> {
        let (path, temporary) = match &options.location {
            Location::File(path) => (path.clone(), None),
            Location::Temporary => {
                let dir = tempfile::Builder::new()
                    .prefix("hookscope-")
                    .tempdir()
                    .map_err(OpenError::Temporary)?;
                (dir.path().join("hookscope.db"), Some(dir))
            }
        };
        let write_connection = schema::open_writer(&path, options.durability, options.max_bytes)?;
        let readers = read_pool(&path)?;
        let (changes, _) = broadcast::channel(CHANGE_FEED_CAPACITY);
        let (commands, receiver) = mpsc::channel(WRITER_QUEUE);
        let checkpoints = checkpointer::start(&path)?;
        let writer = writer::Writer::new(
            write_connection,
            changes.clone(),
            options.keep,
            options.max_bytes,
            checkpoints,
        )
        .map_err(|source| OpenError::Sqlite {
            path: path.display().to_string(),
            reason: source.to_string(),
        })?;
        let thread = std::thread::Builder::new()
            .name("hookscope-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(OpenError::Thread)?;
        Ok(Store {
            shared: Arc::new(Shared {
                commands,
                readers,
                changes,
                writer: Mutex::new(Some(thread)),
                keep: options.keep,
                _temporary: temporary,
            }),
        })
    }

    /// Stores a request; returns once it is committed, with its id and the first request that carried its
    /// idempotency key.
    pub async fn insert(&self, request: NewRequest) -> Result<Stored, StoreError> {
        self.call(move |batch| batch.insert(&request)).await
    }

    /// Records a delivery attempt, what becomes of its delivery, and its request's forwarding state.
    pub async fn record_attempt(&self, outcome: AttemptOutcome) -> Result<(), StoreError> {
        self.call(move |batch| batch.record_attempt(&outcome)).await
    }

    /// Puts deliveries of stored requests in the outbox; returns how many were queued.
    pub async fn queue_deliveries(&self, plans: Vec<(i64, DeliveryPlan)>) -> Result<usize, StoreError> {
        self.call(move |batch| batch.queue_deliveries(&plans)).await
    }

    /// Forgets a delivery whose request is no longer stored, so that its queue moves on.
    pub async fn drop_delivery(&self, delivery_id: i64) -> Result<(), StoreError> {
        self.call(move |batch| batch.drop_delivery(delivery_id)).await
    }

    /// The oldest pending delivery to `target`.
    pub async fn next_delivery(&self, target: String) -> Result<Option<Delivery>, StoreError> {
        self.read(move |conn| Ok(outbox::next_for(conn, &target)?)).await
    }

    /// Every target with a pending delivery.
    pub async fn pending_targets(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| Ok(outbox::pending_targets(conn)?)).await
    }

    /// A stored request, as forwarding sends it.
    pub async fn stored_request(&self, id: i64) -> Result<Option<StoredRequest>, StoreError> {
        self.read(move |conn| Ok(outbox::stored_request(conn, id)?)).await
    }

    /// Deletes one request; `false` when there was no such request.
    pub async fn delete(&self, id: i64) -> Result<bool, StoreError> {
        self.call(move |batch| batch.delete(id)).await
    }

    /// Deletes these requests in one transaction; returns how many were stored.
    pub async fn delete_many(&self, ids: Vec<i64>) -> Result<usize, StoreError> {
        self.call(move |batch| {
            let mut deleted = 0;
            for id in ids {
                deleted += usize::from(batch.delete(id)?);
            }
            Ok(deleted)
        })
        .await
    }

    /// Deletes every request and forgets every idempotency key.
    pub async fn clear(&self) -> Result<(), StoreError> {
        self.call(|batch| batch.clear()).await
    }

    /// Stores an endpoint made through the API, as written (JSON), under its id.
    pub async fn save_endpoint(&self, id: i64, name: String, spec: String) -> Result<(), StoreError> {
        self.call(move |batch| batch.save_endpoint(id, &name, &spec)).await
    }

    /// Deletes a stored endpoint; `false` when there was none with that id.
    pub async fn delete_endpoint(&self, id: i64) -> Result<bool, StoreError> {
        self.call(move |batch| batch.delete_endpoint(id)).await
    }

    /// The stored endpoints: `(id, spec as JSON)`, by id.
    pub async fn endpoints(&self) -> Result<Vec<(i64, String)>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare("SELECT id, spec FROM endpoints ORDER BY id")?;
            let rows = statement
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// Stores a custom profile made through the API, as written (JSON), replacing the one of that name.
    pub async fn save_profile(&self, name: String, spec: String) -> Result<(), StoreError> {
        self.call(move |batch| batch.save_profile(&name, &spec)).await
    }

    /// Deletes a stored profile; `false` when there was none of that name.
    pub async fn delete_profile(&self, name: String) -> Result<bool, StoreError> {
        self.call(move |batch| batch.delete_profile(&name)).await
    }

    /// The stored profiles as JSON, in the order made.
    pub async fn profiles(&self) -> Result<Vec<String>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare("SELECT spec FROM profiles ORDER BY id")?;
            let rows = statement
                .query_map([], |row| row.get(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    /// A page of summaries, newest first.
    pub async fn list(&self, query: ListQuery) -> Result<Page, StoreError> {
        self.read(move |conn| queries::list(conn, &query)).await
    }

    /// The newest stored request's id, if any.
    pub async fn newest_id(&self) -> Result<Option<i64>, StoreError> {
        self.read(|conn| Ok(queries::newest_id(conn)?)).await
    }

    /// Which of the requests `ids` the filter's conditions on the stored payload (text search, header) find.
    pub async fn payload_matches(&self, filter: Filter, ids: Vec<i64>) -> Result<Vec<i64>, StoreError> {
        self.read(move |conn| queries::payload_matches(conn, &filter, &ids))
            .await
    }

    /// One request in full.
    pub async fn get(&self, id: i64) -> Result<Option<Detail>, StoreError> {
        self.read(move |conn| queries::detail(conn, id)).await
    }

    /// The next `limit` requests after `after` that `filter` matches, oldest first, in full, with their headers' raw
    /// bytes: a page of an export.
    pub async fn export_page(
        &self,
        filter: Filter,
        after: i64,
        limit: usize,
    ) -> Result<Vec<(Detail, RawHeaders)>, StoreError> {
        self.read(move |conn| queries::export_page(conn, &filter, after, limit))
            .await
    }

    /// One request's raw body and content type.
    pub async fn body(&self, id: i64) -> Result<Option<StoredBody>, StoreError> {
        self.read(move |conn| queries::body(conn, id)).await
    }

    /// Totals for the stats API and the booth view.
    pub async fn stats(&self) -> Result<Stats, StoreError> {
        let keep = self.shared.keep;
        let mut stats = self.read(queries::stats).await?;
        stats.keep = keep;
        Ok(stats)
    }

    /// Subscribes to committed changes. A subscriber that falls more than [`CHANGE_FEED_CAPACITY`] behind is told
    /// it lagged and must catch up from the store.
    pub fn subscribe(&self) -> broadcast::Receiver<Changes> {
        self.shared.changes.subscribe()
    }

    /// Finishes queued writes, checkpoints the WAL and stops the writer. Later writes fail with `Closed`.
    pub async fn close(&self) {
        // The writer may already be gone if a previous close ran; then there is nothing to send to.
        let _ = self.shared.commands.send(writer::Command::Shutdown).await;
        let thread = self.shared.writer.lock().ok().and_then(|mut slot| slot.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Runs `work` in the writer's next batch, inside its transaction; answers once the batch is committed. This is
    /// how every write reaches the database: a new kind of write is a method on [`batch::Batch`] and a call here.
    async fn call<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut batch::Batch<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(writer::Call::new(work, reply));
        self.shared
            .commands
            .send(writer::Command::Job(job))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = self.shared.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.get().map_err(StoreError::failed)?;
            work(&conn)
        })
        .await
        .map_err(StoreError::failed)?
    }
}

fn read_pool(path: &Path) -> Result<r2d2::Pool<SqliteConnectionManager>, OpenError> {
    let manager = SqliteConnectionManager::file(path)
        .with_flags(rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_init(schema::configure_reader);
    r2d2::Pool::builder()
        .max_size(READERS)
        .min_idle(Some(1))
        .build(manager)
        .map_err(|source| OpenError::Pool {
            path: path.display().to_string(),
            reason: source.to_string(),
        })
}
