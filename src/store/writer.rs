//! The writer thread: the only owner of the write connection. It takes every command waiting in its queue, runs
//! them in one transaction, commits once, announces the changes, and only then answers the senders, so a reply
//! always means "on disk". It never waits on a timer: an empty queue blocks, a busy one is drained.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{CachedStatement, Connection, Transaction, TransactionBehavior, params_from_iter};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{broadcast, mpsc, oneshot};

use super::checkpointer::Checkpoints;
use super::counters::Counter;
use super::generations::Generations;
use super::keys::{BatchKeys, KeyIndex};
use super::queries;
use super::row::{Blob, PayloadRow, SummaryRow};
use super::{Change, Changes, Committed, StoreError, headers_codec};
use crate::record::{NewRequest, Stored};

/// A writer that waited this long for work was idle: it uses the batch to catch up on housekeeping.
const IDLE_GAP: Duration = Duration::from_millis(20);

/// The most requests one batch evicts. A store restarted with a smaller `--keep` may be hundreds of thousands of
/// requests over it; removed in one transaction, they held up the sender whose request came first for about ten
/// seconds (900k requests) and grew the WAL by 500 MB. A slice per batch brings it down instead, in batches of its
/// own while nothing else waits (see [`Writer::run`]). At full load a batch evicts about as many as it inserts.
const EVICT_MAX: u64 = 1024;

/// How many ids of an evicted generation one batch retires, per command it carries, at least and at most (the
/// most after the writer was idle). At full load a generation is retired in about half the time the next takes
/// to be evicted, a slice in every batch so that none carries much of it. An idle store retires what is left when
/// requests come again.
const RETIRE_PER_COMMAND: u64 = 2;
const RETIRE_MIN: u64 = 64;
const RETIRE_IDLE: u64 = 1024;

/// The most commands one transaction takes. Large enough to share an fsync among every waiting sender at full
/// load, small enough that one commit's latency stays in the low milliseconds.
const MAX_BATCH: usize = 512;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// What the writer can be asked to do.
pub(super) enum Command {
    Insert(Box<NewRequest>, Reply<Stored>),
    Delete(i64, Reply<bool>),
    Clear(Reply<()>),
    /// Finish what is queued before it, checkpoint, and stop.
    Shutdown,
}

/// What a command did inside the transaction, held until the commit.
enum Done {
    Inserted(Stored),
    Deleted(bool),
    Cleared,
    Stopping,
}

/// The state the writer thread owns.
pub(super) struct Writer {
    conn: Connection,
    changes: broadcast::Sender<Changes>,
    keep: Option<u64>,
    /// How many requests are stored, tracked here so retention needs no count query per batch.
    stored: u64,
    /// Retention has removed every request up to this id. A key whose first request is that old is stale: it
    /// counts as never seen, and the sweep removes it.
    evicted_through: i64,
    /// The id the next inserted request gets. Ids only grow, across deletes, clears and restarts: the live stream
    /// and the list's paging rely on it.
    next_id: i64,
    /// Which request first carried each idempotency key.
    keys: KeyIndex,
    /// The tables requests are stored in; see `generations.rs`.
    generations: Generations,
    /// Where checkpoints are asked for, since SQLite's own would run inside the writer's commits.
    checkpoints: Checkpoints,
    /// The delivery task, when the store was opened inside a runtime; see [`Writer::deliver`].
    deliveries: Option<mpsc::UnboundedSender<Delivery>>,
    /// The last batch evicted a slice and left the store still over `--keep`: the writer goes on trimming while
    /// it has nothing else to do.
    trimming: bool,
    /// An evicted generation is left to retire (see `generations.rs`).
    retiring: bool,
    /// Transactions committed and commands they carried, reported at shutdown: their ratio is the batch size.
    commits: u64,
    commands: u64,
}

impl Writer {
    pub(super) fn new(
        mut conn: Connection,
        changes: broadcast::Sender<Changes>,
        keep: Option<u64>,
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
        // Each generation's insert statements are cached under their own text, beside the others.
        conn.set_prepared_statement_cache_capacity(32);
        super::checkpointer::watch_wal(&conn);
        let deliveries = start_deliveries(&changes);
        Ok(Writer {
            conn,
            deliveries,
            changes,
            keep,
            stored: u64::try_from(stored).unwrap_or(0),
            evicted_through,
            next_id,
            keys,
            generations,
            checkpoints,
            trimming: false,
            retiring: false,
            commits: 0,
            commands: 0,
        })
    }

    /// Serves commands until `Shutdown` arrives or every sender is gone.
    pub(super) fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            let waiting_since = Instant::now();
            let first = if self.trimming {
                match commands.try_recv() {
                    Ok(command) => Some(command),
                    // Nothing waits: a batch of its own evicts the next slice.
                    Err(TryRecvError::Empty) => {
                        self.apply(&mut batch, false);
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => None,
                }
            } else {
                commands.blocking_recv()
            };
            let Some(first) = first else { break };
            let idle = waiting_since.elapsed() >= IDLE_GAP;
            batch.push(first);
            // Give the CPU back once before draining: senders that are mid-flight get to enqueue, so a busy
            // moment becomes one larger batch (fewer pages rewritten per request) instead of several small ones.
            // No timer: when nothing else is runnable this returns at once.
            std::thread::yield_now();
            while batch.len() < MAX_BATCH {
                match commands.try_recv() {
                    Ok(command) => batch.push(command),
                    Err(_) => break,
                }
            }
            let stop = batch.iter().any(|command| matches!(command, Command::Shutdown));
            self.apply(&mut batch, idle);
            if stop {
                break;
            }
        }
        commands.close();
        self.finish();
    }

    /// Runs a batch in one transaction and answers each command after the commit.
    fn apply(&mut self, batch: &mut Vec<Command>, idle: bool) {
        let mut changes = Vec::with_capacity(batch.len());
        match self.transaction(batch, &mut changes, idle) {
            Ok(done) => {
                self.checkpoints.after_commit(&self.conn);
                self.commits += 1;
                self.commands += u64::try_from(batch.len()).unwrap_or(u64::MAX);
                let answers = batch.drain(..).zip(done).collect();
                self.deliver(changes, answers);
            }
            Err(error) => {
                // Trimming resumes with the next batch that commits, not in a loop of failing ones. But one batch of
                // retirement alone may commit where requests did not: a store at its size limit frees pages so.
                self.trimming = !batch.is_empty() && self.retiring;
                let error = StoreError::from(error);
                tracing::error!(%error, "a write batch failed; nothing in it was stored");
                for command in batch.drain(..) {
                    match command {
                        Command::Insert(_, reply) => drop(reply.send(Err(error.clone()))),
                        Command::Delete(_, reply) => drop(reply.send(Err(error.clone()))),
                        Command::Clear(reply) => drop(reply.send(Err(error.clone()))),
                        Command::Shutdown => {}
                    }
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
    fn deliver(&self, changes: Vec<Change>, answers: Vec<(Command, Done)>) {
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

    /// Applies every command of the batch in one transaction; returns what each did, in order, once committed.
    /// Changes are collected for announcement only when someone listens.
    fn transaction(&mut self, batch: &[Command], changes: &mut Vec<Change>, idle: bool) -> rusqlite::Result<Vec<Done>> {
        let announce = self.changes.receiver_count() > 0;
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stored = self.stored;
        let mut inserted = 0;
        let mut next_id = self.next_id;
        let mut removed_any = false;
        let mut keys = BatchKeys::default();
        let mut generations = self.generations.clone();
        // Retirement goes first, so that a store at its size limit frees pages before the inserts need them. Under
        // load each batch retires a little, in proportion to what it carries; batches of their own would hold up
        // the next senders. An idle writer takes larger steps.
        let retire_budget = if idle {
            RETIRE_IDLE
        } else {
            (u64::try_from(batch.len()).unwrap_or(u64::MAX) * RETIRE_PER_COMMAND).clamp(RETIRE_MIN, RETIRE_IDLE)
        };
        let retiring = generations.retire(&tx, self.evicted_through, retire_budget)?;
        let mut done = Vec::with_capacity(batch.len());
        // Taken from the statement cache once per batch, not per request; again only when a generation starts.
        let mut statements: Option<InsertStatements> = None;
        for command in batch {
            match command {
                Command::Insert(request, _) => {
                    let started = generations.make_room(&tx, next_id)?;
                    let statements = match statements.as_mut() {
                        Some(prepared) if !started => prepared,
                        _ => statements.insert(InsertStatements::prepare(&tx, &generations)?),
                    };
                    let (outcome, row) = insert(
                        &tx,
                        statements,
                        next_id,
                        request,
                        &self.keys,
                        &mut keys,
                        self.evicted_through,
                    )?;
                    generations.inserted(next_id);
                    next_id += 1;
                    stored += 1;
                    inserted += 1;
                    if announce {
                        changes.push(Change::Captured(Arc::new(row.into_summary())));
                    }
                    done.push(Done::Inserted(outcome));
                }
                Command::Delete(id, _) => {
                    // An evicted request is already gone for every reader, though its table may remain.
                    let removed = *id > self.evicted_through && {
                        self.keys.persist_before_delete(&mut keys, &tx, *id)?;
                        generations.delete(&tx, *id)?
                    };
                    if removed {
                        removed_any = true;
                        stored = stored.saturating_sub(1);
                        changes.push(Change::Deleted { id: *id });
                    }
                    done.push(Done::Deleted(removed));
                }
                Command::Clear(_) => {
                    // The statements name tables about to be dropped.
                    statements = None;
                    generations.clear(&tx)?;
                    tx.execute_batch("DELETE FROM idempotency_keys;")?;
                    keys.clear();
                    removed_any = true;
                    stored = 0;
                    changes.push(Change::Cleared);
                    done.push(Done::Cleared);
                }
                Command::Shutdown => done.push(Done::Stopping),
            }
        }
        drop(statements);
        generations.catch_up_when_due(&tx)?;
        let mut evicted_through = self.evicted_through;
        let mut trimming = false;
        // Eviction raises `evicted_through`, from which on every reader leaves the oldest requests out. Their tables
        // are retired once all their requests are evicted (see `generations.rs`); their keys are left for the sweep,
        // since deleting them here would touch a random page of the key table per request.
        if let Some(keep) = self.keep
            && stored > keep
            && let count = (stored - keep).min(EVICT_MAX)
            && let Some(through) = generations.nth_after(&tx, self.evicted_through, count)?
        {
            stored -= count;
            trimming = stored > keep;
            evicted_through = through;
            changes.push(Change::Evicted { through });
            Counter::EvictedThrough.write(&tx, through)?;
        }
        self.keys.maintain(&mut keys, &tx, evicted_through, idle, inserted)?;
        if stored != self.stored {
            Counter::Stored.write(&tx, i64::try_from(stored).unwrap_or(i64::MAX))?;
        }
        if removed_any {
            // The newest request may be gone, and start-up must not hand its id out again.
            Counter::LastId.write(&tx, next_id - 1)?;
        }
        tx.commit()?;
        self.trimming = trimming;
        self.retiring = retiring;
        self.next_id = next_id;
        self.stored = stored;
        self.evicted_through = evicted_through;
        self.keys.commit(keys);
        self.generations = generations;
        if !announce {
            changes.clear();
        }
        Ok(done)
    }

    /// Checkpoints the WAL into the main file so a stopped hookscope leaves one self-contained file.
    fn finish(mut self) {
        self.checkpoints.stop();
        if let Err(error) = self.merge_waiting_keys() {
            tracing::warn!(%error, "could not merge the waiting idempotency keys on shutdown; start-up reloads them");
        }
        tracing::debug!(commits = self.commits, commands = self.commands, "writer stopped");
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
        self.keys.merge_all(&mut keys, &tx, self.evicted_through)?;
        tx.commit()?;
        self.keys.commit(keys);
        Ok(())
    }
}

/// One committed batch's announcement and answers, handed from the writer thread to the runtime.
struct Delivery {
    changes: Vec<Change>,
    answers: Vec<(Command, Done)>,
}

impl Delivery {
    fn run(self, feed: &broadcast::Sender<Changes>) {
        // One announcement per batch, so a viewer wakes once per commit however many requests it carried.
        if !self.changes.is_empty() {
            // A send fails only when nobody listens, which is fine.
            let _ = feed.send(Changes::new(Committed::new(self.changes)));
        }
        // A sender that stopped waiting (its connection closed) no longer needs its answer.
        for (command, done) in self.answers {
            match (command, done) {
                (Command::Insert(_, reply), Done::Inserted(stored)) => drop(reply.send(Ok(stored))),
                (Command::Delete(_, reply), Done::Deleted(existed)) => drop(reply.send(Ok(existed))),
                (Command::Clear(reply), Done::Cleared) => drop(reply.send(Ok(()))),
                _ => {}
            }
        }
    }
}

/// Starts the task that runs deliveries in commit order, when there is a runtime to run it on.
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

/// The statements that insert a request into the newest generation, held for a batch.
struct InsertStatements<'tx> {
    request: CachedStatement<'tx>,
    payload: CachedStatement<'tx>,
}

impl<'tx> InsertStatements<'tx> {
    fn prepare(tx: &'tx Transaction, generations: &Generations) -> rusqlite::Result<InsertStatements<'tx>> {
        Ok(InsertStatements {
            request: tx.prepare_cached(generations.insert_request())?,
            payload: tx.prepare_cached(generations.insert_payload())?,
        })
    }
}

/// Inserts one request, resolving its idempotency key against every key seen before, except keys whose first
/// request retention has removed (`evicted_through`). Returns the outcome and the summary row it stored.
fn insert(
    tx: &Transaction,
    statements: &mut InsertStatements,
    id: i64,
    request: &NewRequest,
    index: &KeyIndex,
    keys: &mut BatchKeys,
    evicted_through: i64,
) -> rusqlite::Result<(Stored, SummaryRow)> {
    let verdict = &request.verdict;
    let duplicate_of = match &request.idempotency_key {
        Some(key) => index.first_sighting(keys, tx, key, evicted_through)?,
        None => None,
    };
    let row = summary_row(id, request, duplicate_of);
    statements.request.execute(params_from_iter(row.values()))?;
    let findings = if verdict.errors.is_empty() && verdict.warnings.is_empty() {
        None
    } else {
        serde_json::to_string(&serde_json::json!({
            "errors": verdict.errors,
            "warnings": verdict.warnings,
        }))
        .ok()
    };
    let payload = PayloadRow {
        id,
        headers: headers_codec::encode(&request.headers),
        findings,
        body: Blob(request.body.clone()),
    };
    statements.payload.execute(params_from_iter(payload.values()))?;
    if let (Some(key), None) = (&request.idempotency_key, duplicate_of) {
        KeyIndex::record(keys, key, id);
    }

    Ok((Stored { id, duplicate_of }, row))
}

/// A size or count as SQLite's integer (which no real length reaches the limit of).
fn as_count(length: usize) -> i64 {
    i64::try_from(length).unwrap_or(i64::MAX)
}

/// The summary row of request `id`.
fn summary_row(id: i64, request: &NewRequest, duplicate_of: Option<i64>) -> SummaryRow {
    let verdict = &request.verdict;
    SummaryRow {
        id,
        received_at: request.received_at_ms,
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        content_type: request.content_type.clone(),
        body_size: as_count(request.body.len()),
        body_kind: verdict.kind.as_str().to_owned(),
        envelope: verdict.envelope.map(str::to_owned),
        valid: verdict.valid,
        event: verdict.event.clone(),
        error_count: as_count(verdict.errors.len()),
        warning_count: as_count(verdict.warnings.len()),
        idempotency_key: request.idempotency_key.clone(),
        duplicate_of,
        remote_addr: request.remote_addr.clone(),
    }
}
