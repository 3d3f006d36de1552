//! One write transaction of the writer: the work that jobs do inside it (insert, delete, clear, and whatever later
//! writes need), and the housekeeping steps every batch takes around them (retiring evicted tables, filing lookups,
//! evicting past `--keep`, keeping the idempotency keys, the counters). Nothing here is visible to a reader until
//! the writer commits; if any step fails, the writer rolls the whole batch back and nothing of it happened.

use std::sync::Arc;

use rusqlite::{CachedStatement, Transaction, params_from_iter};

use super::counters::Counter;
use super::feed::Change;
use super::generations::Generations;
use super::headers_codec;
use super::keys::{BatchKeys, KeyIndex};
use super::outbox;
use super::row::{Blob, PayloadRow, SummaryRow};
use crate::record::{AttemptOutcome, DeliveryPlan, ForwardState, NewRequest, Stored};
use crate::signatures::SignatureVerdict;

/// The most requests one batch evicts. A store restarted with a smaller `--keep` may be hundreds of thousands of
/// requests over it; removed in one transaction, they held up the sender whose request came first for about ten
/// seconds (900k requests) and grew the WAL by 500 MB. A slice per batch brings it down instead, in batches of its
/// own while nothing else waits (see the writer's loop). At full load a batch evicts about as many as it inserts.
const EVICT_MAX: u64 = 1024;

/// What the writer knows about the store between batches; a batch works on a copy and the writer keeps it once
/// the batch commits.
#[derive(Clone)]
pub(super) struct StoreState {
    /// How many requests are stored, tracked here so retention needs no count query per batch.
    pub stored: u64,
    /// Retention has removed every request up to this id. A key whose first request is that old is stale: it
    /// counts as never seen, and the sweep removes it.
    pub evicted_through: i64,
    /// The id the next inserted request gets. Ids only grow, across deletes, clears and restarts: the live stream
    /// and the list's paging rely on it.
    pub next_id: i64,
    /// The tables requests are stored in; see `generations.rs`.
    pub generations: Generations,
    /// How many requests retention has evicted since the store was created or last cleared.
    pub evicted: u64,
}

/// One transaction's work in progress.
pub(super) struct Batch<'tx> {
    tx: &'tx Transaction<'tx>,
    /// The state as it was before the batch, and as the batch leaves it.
    before: &'tx StoreState,
    state: StoreState,
    /// The idempotency keys as committed, and what this batch adds to them.
    index: &'tx KeyIndex,
    keys: BatchKeys,
    /// What the batch changed, in order, for the live feed; kept only when someone listens.
    changes: Vec<Change>,
    announce: bool,
    inserted: usize,
    /// A delete or clear may have removed the newest request.
    removed_any: bool,
    /// The insert statements, taken from the statement cache once per batch, not per request; again only when a
    /// generation starts.
    statements: Option<InsertStatements<'tx>>,
}

/// What a committed batch leaves behind for the writer.
pub(super) struct Ended {
    pub state: StoreState,
    pub keys: BatchKeys,
    pub changes: Vec<Change>,
}

impl<'tx> Batch<'tx> {
    pub(super) fn begin(
        tx: &'tx Transaction<'tx>,
        before: &'tx StoreState,
        index: &'tx KeyIndex,
        announce: bool,
    ) -> Batch<'tx> {
        Batch {
            tx,
            before,
            state: before.clone(),
            index,
            keys: BatchKeys::default(),
            changes: Vec::new(),
            announce,
            inserted: 0,
            removed_any: false,
            statements: None,
        }
    }

    /// Stores a request, resolving its idempotency key against every key seen before, except keys whose first
    /// request retention has removed.
    pub(super) fn insert(&mut self, request: &NewRequest) -> rusqlite::Result<Stored> {
        let id = self.state.next_id;
        let started = self.state.generations.make_room(self.tx, id)?;
        let statements = match self.statements.as_mut() {
            Some(prepared) if !started => prepared,
            _ => self
                .statements
                .insert(InsertStatements::prepare(self.tx, &self.state.generations)?),
        };
        let duplicate_of = match &request.idempotency_key {
            Some(key) => self
                .index
                .first_sighting(&self.keys, self.tx, key, self.before.evicted_through)?,
            None => None,
        };
        let row = summary_row(id, request, duplicate_of);
        statements.request.execute(params_from_iter(row.values()))?;
        statements
            .payload
            .execute(params_from_iter(payload_row(id, request).values()))?;
        if let (Some(key), None) = (&request.idempotency_key, duplicate_of) {
            KeyIndex::record(&mut self.keys, key, id);
        }
        if let Some(plan) = &request.delivery {
            outbox::queue(self.tx, id, plan, 0)?;
        }
        self.state.generations.inserted(id);
        self.state.next_id += 1;
        self.state.stored += 1;
        self.inserted += 1;
        if self.announce {
            self.changes.push(Change::Captured(Arc::new(row.into_summary())));
        }
        Ok(Stored { id, duplicate_of })
    }

    /// Deletes one request; `false` when there was no such request.
    pub(super) fn delete(&mut self, id: i64) -> rusqlite::Result<bool> {
        // An evicted request is already gone for every reader, though its table may remain.
        let removed = id > self.before.evicted_through && {
            self.index.persist_before_delete(&mut self.keys, self.tx, id)?;
            self.state.generations.delete(self.tx, id)?
        };
        if removed {
            outbox::forget_request(self.tx, id)?;
            self.removed_any = true;
            self.state.stored = self.state.stored.saturating_sub(1);
            self.changes.push(Change::Deleted { id });
        }
        Ok(removed)
    }

    /// Deletes every request and forgets every idempotency key.
    pub(super) fn clear(&mut self) -> rusqlite::Result<()> {
        // The statements name tables about to be dropped.
        self.statements = None;
        self.state.generations.clear(self.tx)?;
        self.tx.execute_batch("DELETE FROM idempotency_keys;")?;
        outbox::clear(self.tx)?;
        self.keys.clear();
        self.removed_any = true;
        self.state.stored = 0;
        self.state.evicted = 0;
        self.changes.push(Change::Cleared);
        Ok(())
    }

    /// Records a delivery attempt with what becomes of its delivery and its request; nothing when the request is
    /// no longer stored (deleted while the attempt was under way).
    pub(super) fn record_attempt(&mut self, outcome: &AttemptOutcome) -> rusqlite::Result<()> {
        let id = outcome.attempt.request_id;
        let Some(row) =
            self.state
                .generations
                .update_forward(self.tx, id, outcome.forward.as_str(), outcome.response.as_ref())?
        else {
            return Ok(());
        };
        outbox::record(self.tx, &outcome.attempt)?;
        if let Some((delivery, tries, settled)) = outcome.delivery {
            outbox::settle(self.tx, delivery, tries, settled)?;
        }
        if self.announce {
            self.changes.push(Change::Updated(Arc::new(row.into_summary())));
        }
        Ok(())
    }

    /// Puts deliveries of stored requests in the outbox (replays), each request's forwarding state `pending`;
    /// returns how many were queued (a request no longer stored is passed over).
    pub(super) fn queue_deliveries(&mut self, plans: &[(i64, DeliveryPlan)]) -> rusqlite::Result<usize> {
        let mut queued = 0;
        for (id, plan) in plans {
            let Some(row) =
                self.state
                    .generations
                    .update_forward(self.tx, *id, ForwardState::Pending.as_str(), None)?
            else {
                continue;
            };
            outbox::queue(self.tx, *id, plan, 0)?;
            queued += 1;
            if self.announce {
                self.changes.push(Change::Updated(Arc::new(row.into_summary())));
            }
        }
        Ok(queued)
    }

    /// Forgets a delivery whose request is no longer stored.
    pub(super) fn drop_delivery(&mut self, delivery_id: i64) -> rusqlite::Result<()> {
        self.tx
            .prepare_cached("DELETE FROM deliveries WHERE id = ?1")?
            .execute([delivery_id])?;
        Ok(())
    }

    /// Stores an endpoint made through the API (or replaces the one with its id).
    pub(super) fn save_endpoint(&mut self, id: i64, name: &str, spec: &str) -> rusqlite::Result<()> {
        self.tx
            .prepare_cached("INSERT OR REPLACE INTO endpoints (id, name, spec) VALUES (?1, ?2, ?3)")?
            .execute(rusqlite::params![id, name, spec])?;
        Ok(())
    }

    /// Stores a custom profile (replacing the one of its name, which keeps its place).
    pub(super) fn save_profile(&mut self, name: &str, spec: &str) -> rusqlite::Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO profiles (name, spec) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET spec = excluded.spec",
            )?
            .execute(rusqlite::params![name, spec])?;
        Ok(())
    }

    /// Deletes a stored profile; `false` when there was none of that name.
    pub(super) fn delete_profile(&mut self, name: &str) -> rusqlite::Result<bool> {
        Ok(self
            .tx
            .prepare_cached("DELETE FROM profiles WHERE name = ?1")?
            .execute([name])?
            > 0)
    }

    /// Deletes a stored endpoint; `false` when there was none with that id.
    pub(super) fn delete_endpoint(&mut self, id: i64) -> rusqlite::Result<bool> {
        Ok(self
            .tx
            .prepare_cached("DELETE FROM endpoints WHERE id = ?1")?
            .execute([id])?
            > 0)
    }

    /// Takes a step of retiring the evicted generations, up to `budget` ids. It goes first in a batch, so that a
    /// store at its size limit frees pages before the inserts need them. Returns whether more is left to retire.
    pub(super) fn retire_evicted(&mut self, budget: u64) -> rusqlite::Result<bool> {
        self.state
            .generations
            .retire(self.tx, self.before.evicted_through, budget)
    }

    /// Files the newest requests in the lookup tables once they make a run (see `lookups.rs`).
    pub(super) fn file_lookups_when_due(&mut self) -> rusqlite::Result<()> {
        self.state.generations.catch_up_when_due(self.tx)
    }

    /// Evicts the oldest requests past `keep`, at most [`EVICT_MAX`] of them; returns whether the store is still over
    /// it. Eviction raises `evicted_through`, from which on every reader leaves the oldest requests out. Their tables
    /// are retired once all their requests are evicted (see `generations.rs`); their keys are left for the sweep,
    /// since deleting them here would touch a random page of the key table per request.
    pub(super) fn evict_over(&mut self, keep: Option<u64>) -> rusqlite::Result<bool> {
        let stored = self.state.stored;
        if let Some(keep) = keep
            && stored > keep
            && let count = (stored - keep).min(EVICT_MAX)
            && let Some(through) = self
                .state
                .generations
                .nth_after(self.tx, self.before.evicted_through, count)?
        {
            // A request whose delivery is pending stays, and so does every newer one.
            let (through, count) = match outbox::oldest_pending_request(self.tx)? {
                Some(pending) if pending <= through => {
                    let through = pending - 1;
                    let count = self
                        .state
                        .generations
                        .count_between(self.tx, self.before.evicted_through, through)?;
                    if count == 0 {
                        return Ok(false);
                    }
                    (through, count)
                }
                _ => (through, count),
            };
            outbox::forget_through(self.tx, through)?;
            self.state.stored -= count;
            self.state.evicted += count;
            self.state.evicted_through = through;
            self.changes.push(Change::Evicted { through });
            Counter::EvictedThrough.write(self.tx, through)?;
            return Ok(self.state.stored > keep);
        }
        Ok(false)
    }

    /// Merges waiting idempotency keys into the key table and sweeps stale ones, in proportion to the batch.
    pub(super) fn maintain_keys(&mut self, idle: bool) -> rusqlite::Result<()> {
        self.index
            .maintain(&mut self.keys, self.tx, self.state.evicted_through, idle, self.inserted)
    }

    /// Writes the counters the batch changed.
    pub(super) fn write_counters(&mut self) -> rusqlite::Result<()> {
        if self.state.stored != self.before.stored {
            Counter::Stored.write(self.tx, i64::try_from(self.state.stored).unwrap_or(i64::MAX))?;
        }
        if self.state.evicted != self.before.evicted {
            Counter::Evicted.write(self.tx, i64::try_from(self.state.evicted).unwrap_or(i64::MAX))?;
        }
        if self.removed_any {
            // The newest request may be gone, and start-up must not hand its id out again.
            Counter::LastId.write(self.tx, self.state.next_id - 1)?;
        }
        Ok(())
    }

    /// Ends the batch's work, before the writer commits it.
    pub(super) fn end(mut self) -> Ended {
        if !self.announce {
            self.changes.clear();
        }
        Ended {
            state: self.state,
            keys: self.keys,
            changes: self.changes,
        }
    }
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
        envelope: verdict.envelope.clone(),
        valid: verdict.valid,
        event: verdict.event.clone(),
        error_count: as_count(verdict.errors.len()),
        warning_count: as_count(verdict.warnings.len()),
        idempotency_key: request.idempotency_key.clone(),
        duplicate_of,
        remote_addr: request.remote_addr.clone(),
        endpoint: request.endpoint.clone(),
        response_status: i64::from(request.response.status),
        response_delay_ms: i64::try_from(request.response.delay_ms).unwrap_or(i64::MAX),
        response_step: request.response.step.and_then(|step| i64::try_from(step).ok()),
        response_reason: request.response.reason.as_str().to_owned(),
        signature: request.signature.verdict.as_str().to_owned(),
        forward: request.forward.as_str().to_owned(),
        environment: verdict.environment.clone(),
    }
}

/// The payload row of request `id`: its headers, findings and body.
fn payload_row(id: i64, request: &NewRequest) -> PayloadRow {
    let verdict = &request.verdict;
    let findings = if verdict.errors.is_empty() && verdict.warnings.is_empty() {
        None
    } else {
        serde_json::to_string(&serde_json::json!({
            "errors": verdict.errors,
            "warnings": verdict.warnings,
        }))
        .ok()
    };
    PayloadRow {
        id,
        headers: headers_codec::encode(&request.headers),
        findings,
        signature_check: (request.signature.verdict != SignatureVerdict::Unsigned)
            .then(|| serde_json::to_string(&request.signature).ok())
            .flatten(),
        key_source: verdict.key_source.clone(),
        body: Blob(request.body.clone()),
    }
}
