//! The writer thread: the only owner of the write connection. It takes every job waiting in its queue, runs them
//! in one transaction (a [`Batch`]), commits once, announces the changes, and only then answers the senders, so a
//! reply always means "on disk". It never waits on a timer: an empty queue blocks, a busy one is drained.
//!
//! A job is any work on a batch with an answer ([`Store::call`](super::Store)), as tokio-rusqlite's `call` is: a
//! new kind of write is a method on [`Batch`] and a store method that calls it, with nothing to add here.

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::batch::{Batch, Ended, StoreState};
use super::checkpointer::Checkpoints;
use super::counters::Counter;
use super::error::StoreError;
use super::feed::{Change, Changes, Committed};
use super::generations::Generations;
use super::keys::{BatchKeys, KeyIndex};
use super::queries;

/// A writer that waited this long for work was idle: it uses the batch to catch up on housekeeping.
const IDLE_GAP: Duration = Duration::from_millis(20);

/// How many ids of an evicted generation one batch retires, per job it carries, at least and at most (the most
/// after the writer was idle). At full load a generation is retired in about half the time the next takes to be
/// evicted, a slice in every batch so that none carries much of it. An idle store retires what is left when
/// requests come again.
const RETIRE_PER_JOB: u64 = 2;
const RETIRE_MIN: u64 = 64;
const RETIRE_IDLE: u64 = 1024;

/// The most jobs one transaction takes. Large enough to share an fsync among every waiting sender at full load,
/// small enough that one commit's latency stays in the low milliseconds.
const MAX_BATCH: usize = 512;

/// A unit of work for the writer: run inside a batch's transaction, answered after the commit.
pub(super) trait Job: Send {
    /// Does the work; an error rolls the whole batch back.
    fn run(&mut self, batch: &mut Batch<'_>) -> rusqlite::Result<()>;
    /// Sends the answer, once the batch is committed.
    fn answer(self: Box<Self>);
    /// Sends the error that stopped the batch.
    fn fail(self: Box<Self>, error: StoreError);
}

/// A closure and the channel its answer goes back on.
pub(super) struct Call<T, F> {
    work: Option<F>,
    answer: Option<T>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Call<T, F> {
    pub(super) fn new(work: F, reply: oneshot::Sender<Result<T, StoreError>>) -> Call<T, F> {
        Call {
            work: Some(work),
            answer: None,
            reply,
        }
    }
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&mut Batch<'_>) -> rusqlite::Result<T> + Send,
{
    fn run(&mut self, batch: &mut Batch<'_>) -> rusqlite::Result<()> {
        if let Some(work) = self.work.take() {
            self.answer = Some(work(batch)?);
        }
        Ok(())
    }

    fn answer(self: Box<Self>) {
        // A sender that stopped waiting (its connection closed) no longer needs its answer.
        if let Some(answer) = self.answer {
            let _ = self.reply.send(Ok(answer));
        }
    }

    fn fail(self: Box<Self>, error: StoreError) {
        let _ = self.reply.send(Err(error));
    }
}

/// What the writer's queue carries.
pub(super) enum Command {
    Job(Box<dyn Job>),
    /// Finish what is queued before it, checkpoint, and stop.
    Shutdown,
}

/// The state the writer thread owns.
pub(super) struct Writer {
    conn: Connection,
    changes: broadcast::Sender<Changes>,
    keep: Option<u64>,
    /// The store as the last committed batch left it.
    state: StoreState,
    /// Which request first carried each idempotency key.
    keys: KeyIndex,
    /// Where checkpoints are asked for, since SQLite's own would run inside the writer's commits.
    checkpoints: Checkpoints,
    /// The delivery task, when the store was opened inside a runtime; see [`Writer::deliver`].
    deliveries: Option<mpsc::UnboundedSender<Delivery>>,
    /// The last batch evicted a slice and left the store still over `--keep`: the writer goes on trimming while
    /// it has nothing else to do.
    trimming: bool,
    /// An evicted generation is left to retire (see `generations.rs`).
    retiring: bool,
    /// `--max-db-size`, if set: a full database is then most likely that limit, which the log says.
    size_limit: Option<u64>,
    /// Transactions committed and jobs they carried, reported at shutdown: their ratio is the batch size.
    commits: u64,
    jobs: u64,
}

impl Writer {
    pub(super) fn new(
        mut conn: Connection,
        changes: broadcast::Sender<Changes>,
        keep: Option<u64>,
        size_limit: Option<u64>,
        checkpoints: Checkpoints,
    ) -> rusqlite::Result<Writer> {
        // Written when the store is created, so always there.
        let stored = Counter::Stored
            .read(&conn)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        let evicted_through = Counter::EvictedThrough.read(&conn)?.unwrap_or(0);
        let generations = Generations::load(&conn, keep, evicted_through)?;
        let tx = conn.transaction()?;
        generations.write_views(&tx)?;
        tx.commit()?;
        let keys = KeyIndex::load(&conn, evicted_through)?;
        // `last_id` is written only when a delete or clear may have removed the newest request. Evicted requests
        // may still be in their tables, but their ids are never handed out again either.
        let newest = queries::newest_id(&conn)?;
        let last_id = Counter::LastId.read(&conn)?.unwrap_or(0);
        let next_id = newest.unwrap_or(0).max(last_id).max(evicted_through) + 1;
        let evicted = u64::try_from(Counter::Evicted.read(&conn)?.unwrap_or(0)).unwrap_or(0);
        // Each generation's insert statements are cached under their own text, beside the others.
        conn.set_prepared_statement_cache_capacity(32);
        super::checkpointer::watch_wal(&conn);
        let deliveries = start_deliveries(&changes);
        Ok(Writer {
            conn,
            deliveries,
            changes,
            keep,
            state: StoreState {
                stored: u64::try_from(stored).unwrap_or(0),
                evicted_through,
                next_id,
                generations,
                evicted,
            },
            keys,
            checkpoints,
            trimming: false,
            retiring: false,
            size_limit,
            commits: 0,
            jobs: 0,
        })
    }

    /// Serves jobs until `Shutdown` arrives or every sender is gone.
    pub(super) fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut jobs: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
        let mut stop = false;
        while !stop {
            let waiting_since = Instant::now();
            let first = if self.trimming {
                match commands.try_recv() {
                    Ok(command) => Some(command),
                    // Nothing waits: a batch of its own evicts the next slice.
                    Err(TryRecvError::Empty) => {
                        self.apply(&mut jobs, false);
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => None,
                }
            } else {
                commands.blocking_recv()
            };
            let Some(first) = first else { break };
            let idle = waiting_since.elapsed() >= IDLE_GAP;
            stop |= take(first, &mut jobs);
            // Give the CPU back once before draining: senders that are mid-flight get to enqueue, so a busy
            // moment becomes one larger batch (fewer pages rewritten per request) instead of several small ones.
            // No timer: when nothing else is runnable this returns at once.
            std::thread::yield_now();
            while jobs.len() < MAX_BATCH {
                match commands.try_recv() {
                    Ok(command) => stop |= take(command, &mut jobs),
                    Err(_) => break,
                }
            }
            self.apply(&mut jobs, idle);
        }
        commands.close();
        self.finish();
    }

    /// Runs a batch in one transaction and answers each job after the commit.
    fn apply(&mut self, jobs: &mut Vec<Box<dyn Job>>, idle: bool) {
        match self.transaction(jobs, idle) {
            Ok(changes) => {
                self.checkpoints.after_commit(&self.conn);
                self.commits += 1;
                self.jobs += u64::try_from(jobs.len()).unwrap_or(u64::MAX);
                self.deliver(changes, std::mem::take(jobs));
            }
            Err(error) => {
                // Trimming resumes with the next batch that commits, not in a loop of failing ones. But one batch of
                // retirement alone may commit where requests did not: a store at its size limit frees pages so.
                self.trimming = !jobs.is_empty() && self.retiring;
                let error = StoreError::from(error);
                match (&error, self.size_limit) {
                    (StoreError::Full, Some(limit)) => tracing::error!(
                        limit_bytes = limit,
                        "the database reached its --max-db-size limit: nothing in this batch was stored, and captures \
                         are answered 507 until requests are deleted"
                    ),
                    _ => tracing::error!(%error, "a write batch failed; nothing in it was stored"),
                }
                for job in jobs.drain(..) {
                    job.fail(error.clone());
                }
            }
        }
    }

    /// Announces a committed batch's changes, then answers its senders.
    ///
    /// Each answer wakes a task on the runtime. Woken one by one from this thread, the first wake-up makes the
    /// runtime's worker preempt the writer, run that single task and sleep again, and so on for every answer: a
    /// ping-pong of dozens of context switches per batch. Handed to one delivery task on the runtime, the whole
    /// batch costs at most one wake-up, and the senders' tasks are woken on the worker itself. One long-lived task
    /// fed in order, not a task spawned per batch: spawned tasks may run out of order, and the live stream relies
    /// on batches being announced in commit order.
    fn deliver(&self, changes: Vec<Change>, answers: Vec<Box<dyn Job>>) {
        let delivery = Delivery { changes, answers };
        match &self.deliveries {
            Some(deliveries) => {
                // The task is gone only when the runtime is shutting down; then answer from here.
                if let Err(returned) = deliveries.send(delivery) {
                    returned.0.run(&self.changes);
                }
            }
            None => delivery.run(&self.changes),
        }
    }

    /// Runs the batch's steps in one transaction and commits; returns its changes for the live feed (none when
    /// nobody listens).
    fn transaction(&mut self, jobs: &mut [Box<dyn Job>], idle: bool) -> rusqlite::Result<Vec<Change>> {
        let announce = self.changes.receiver_count() > 0;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut batch = Batch::begin(&tx, &self.state, &self.keys, announce);
        let retiring = batch.retire_evicted(retire_budget(jobs.len(), idle))?;
        for job in jobs.iter_mut() {
            job.run(&mut batch)?;
        }
        batch.file_lookups_when_due()?;
        let trimming = batch.evict_over(self.keep)?;
        batch.maintain_keys(idle)?;
        batch.write_counters()?;
        let Ended { state, keys, changes } = batch.end();
        tx.commit()?;
        self.state = state;
        self.keys.commit(keys);
        self.trimming = trimming;
        self.retiring = retiring;
        Ok(changes)
    }

    /// Checkpoints the WAL into the main file so a stopped hookscope leaves one self-contained file.
    fn finish(mut self) {
        self.checkpoints.stop();
        if let Err(error) = self.merge_waiting_keys() {
            tracing::warn!(%error, "could not merge the waiting idempotency keys on shutdown; start-up reloads them");
        }
        tracing::debug!(commits = self.commits, jobs = self.jobs, "writer stopped");
        if let Err(error) = self
            .conn
            .execute_batch("PRAGMA optimize; PRAGMA wal_checkpoint(TRUNCATE);")
        {
            tracing::warn!(%error, "could not checkpoint the database on shutdown");
        }
        if let Err((_, error)) = self.conn.close() {
            tracing::warn!(%error, "could not close the database cleanly");
        }
    }

    /// Writes every idempotency key still waiting in memory into the key table, so that the next start-up reads
    /// none of them back from the requests.
    fn merge_waiting_keys(&mut self) -> rusqlite::Result<()> {
        if self.keys.nothing_waits() {
            return Ok(());
        }
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut keys = BatchKeys::default();
        self.keys.merge_all(&mut keys, &tx, self.state.evicted_through)?;
        tx.commit()?;
        self.keys.commit(keys);
        Ok(())
    }
}

/// One committed batch's announcement and answers, handed from the writer thread to the runtime.
struct Delivery {
    changes: Vec<Change>,
    answers: Vec<Box<dyn Job>>,
}

impl Delivery {
    fn run(self, feed: &broadcast::Sender<Changes>) {
        // One announcement per batch, so a viewer wakes once per commit however many requests it carried.
        if !self.changes.is_empty() {
            // A send fails only when nobody listens, which is fine.
            let _ = feed.send(Changes::new(Committed::new(self.changes)));
        }
        for job in self.answers {
            job.answer();
        }
    }
}

/// Starts the task that runs deliveries in commit order, when there is a runtime to run it on. Its channel is
/// unbounded, but what waits in it is bounded all the same: each delivery answers jobs whose senders are waiting for
/// those answers, and senders are bounded by the connection limit and the writer's queue.
fn start_deliveries(feed: &broadcast::Sender<Changes>) -> Option<mpsc::UnboundedSender<Delivery>> {
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let (sender, mut receiver) = mpsc::unbounded_channel::<Delivery>();
    let feed = feed.clone();
    runtime.spawn(async move {
        while let Some(delivery) = receiver.recv().await {
            delivery.run(&feed);
        }
    });
    Some(sender)
}

/// Adds a command's job to the batch; returns whether it was the one to stop.
fn take(command: Command, jobs: &mut Vec<Box<dyn Job>>) -> bool {
    match command {
        Command::Job(job) => {
            jobs.push(job);
            false
        }
        Command::Shutdown => true,
    }
}

/// How many evicted ids a batch of `jobs` jobs retires: under load a little, in proportion to what it carries
/// (batches of their own would hold up the next senders); an idle writer takes larger steps.
fn retire_budget(jobs: usize, idle: bool) -> u64 {
    if idle {
        RETIRE_IDLE
    } else {
        (u64::try_from(jobs).unwrap_or(u64::MAX) * RETIRE_PER_JOB).clamp(RETIRE_MIN, RETIRE_IDLE)
    }
}
