//! The outbox: deliveries owed to forwarding targets, stored in the same transaction as the request they carry, and
//! every attempt made, beside its request. A delivery is `pending` until it lands (`ok`), runs out of tries
//! (`failed`), or its request is deleted (it goes with it). Eviction stops short of the oldest request whose
//! delivery is pending.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::record::{Attempt, AttemptKind, Delivery, DeliveryPlan, NewAttempt, Settled, StoredRequest};

/// The outbox's tables, created with the store.
pub(super) const TABLES: &str = "
    CREATE TABLE deliveries (
        id         INTEGER PRIMARY KEY,
        request_id INTEGER NOT NULL,
        -- The target's URL as configured: deliveries to one target go in order.
        target     TEXT NOT NULL,
        -- The rest of the plan (record::DeliveryPlan) as JSON.
        plan       TEXT NOT NULL,
        state      TEXT NOT NULL DEFAULT 'pending',
        tries      INTEGER NOT NULL DEFAULT 0,
        next_at    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX deliveries_pending ON deliveries (target, id) WHERE state = 'pending';
    CREATE INDEX deliveries_pending_requests ON deliveries (request_id) WHERE state = 'pending';
    CREATE INDEX deliveries_by_request ON deliveries (request_id);
    CREATE TABLE attempts (
        id          INTEGER PRIMARY KEY,
        request_id  INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        url         TEXT NOT NULL,
        kind        TEXT NOT NULL,
        status      INTEGER,
        -- [[name, value], ...] as JSON, values as text (ISO-8859-1 when not UTF-8).
        headers     TEXT NOT NULL,
        body        BLOB NOT NULL,
        body_size   INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        error       TEXT
    );
    CREATE INDEX attempts_by_request ON attempts (request_id);
";

/// Puts a delivery of request `request_id` in the outbox, due at `next_at_ms`.
pub(super) fn queue(tx: &Transaction, request_id: i64, plan: &DeliveryPlan, next_at_ms: i64) -> rusqlite::Result<()> {
    let text = serde_json::to_string(plan).map_err(|error| rusqlite::Error::ToSqlConversionFailure(error.into()))?;
    tx.prepare_cached("INSERT INTO deliveries (request_id, target, plan, next_at) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![request_id, plan.target, text, next_at_ms])?;
    Ok(())
}

/// Records an attempt beside its request.
pub(super) fn record(tx: &Transaction, attempt: &NewAttempt) -> rusqlite::Result<()> {
    let headers: Vec<(&str, String)> = attempt
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), crate::record::header_text(value)))
        .collect();
    let headers = serde_json::to_string(&headers).unwrap_or_else(|_| "[]".to_owned());
    tx.prepare_cached(
        "INSERT INTO attempts (request_id, at, url, kind, status, headers, body, body_size, duration_ms, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        attempt.request_id,
        attempt.at_ms,
        attempt.url,
        attempt.kind.as_str(),
        attempt.status,
        headers,
        attempt.body.as_ref(),
        i64::try_from(attempt.body_size).unwrap_or(i64::MAX),
        i64::try_from(attempt.duration_ms).unwrap_or(i64::MAX),
        attempt.error,
    ])?;
    Ok(())
}

/// Sets what became of a delivery after its `tries`-th try.
pub(super) fn settle(tx: &Transaction, delivery_id: i64, tries: u32, settled: Settled) -> rusqlite::Result<()> {
    let (state, next_at) = match settled {
        Settled::Done(state) => (state.as_str(), 0),
        Settled::Retry { at_ms } => ("pending", at_ms),
    };
    tx.prepare_cached("UPDATE deliveries SET state = ?2, tries = ?3, next_at = ?4 WHERE id = ?1")?
        .execute(params![delivery_id, state, tries, next_at])?;
    Ok(())
}

/// Forgets the deliveries and attempts of a deleted request: a pending delivery is cancelled.
pub(super) fn forget_request(tx: &Transaction, request_id: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM deliveries WHERE request_id = ?1")?
        .execute([request_id])?;
    tx.prepare_cached("DELETE FROM attempts WHERE request_id = ?1")?
        .execute([request_id])?;
    Ok(())
}

/// Forgets every delivery and attempt.
pub(super) fn clear(tx: &Transaction) -> rusqlite::Result<()> {
    tx.execute_batch("DELETE FROM deliveries; DELETE FROM attempts;")
}

/// The oldest request whose delivery is pending, which eviction must not reach.
pub(super) fn oldest_pending_request(tx: &Transaction) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached("SELECT min(request_id) FROM deliveries WHERE state = 'pending'")?
        .query_row([], |row| row.get(0))
}

/// Forgets the attempts and finished deliveries of requests evicted through `through`.
pub(super) fn forget_through(tx: &Transaction, through: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM attempts WHERE request_id <= ?1")?
        .execute([through])?;
    tx.prepare_cached("DELETE FROM deliveries WHERE request_id <= ?1 AND state <> 'pending'")?
        .execute([through])?;
    Ok(())
}

/// The oldest pending delivery to `target`.
pub(super) fn next_for(conn: &Connection, target: &str) -> rusqlite::Result<Option<Delivery>> {
    conn.prepare_cached(
        "SELECT id, request_id, plan, tries, next_at FROM deliveries
         WHERE state = 'pending' AND target = ?1 ORDER BY id LIMIT 1",
    )?
    .query_row([target], |row| {
        let plan: String = row.get(2)?;
        let plan: DeliveryPlan = serde_json::from_str(&plan)
            .map_err(|error| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, error.into()))?;
        Ok(Delivery {
            id: row.get(0)?,
            request_id: row.get(1)?,
            plan,
            tries: row.get(3)?,
            next_at_ms: row.get(4)?,
        })
    })
    .optional()
}

/// Every target with a pending delivery.
pub(super) fn pending_targets(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT DISTINCT target FROM deliveries WHERE state = 'pending'")?
        .query_map([], |row| row.get(0))?
        .collect()
}

/// Every attempt for a request, oldest first.
pub(super) fn attempts(conn: &Connection, request_id: i64) -> rusqlite::Result<Vec<Attempt>> {
    conn.prepare_cached(
        "SELECT at, url, kind, status, headers, body, body_size, duration_ms, error FROM attempts
         WHERE request_id = ?1 ORDER BY id",
    )?
    .query_map([request_id], |row| {
        let headers: String = row.get(4)?;
        let headers: Vec<(String, String)> = serde_json::from_str(&headers).unwrap_or_default();
        let headers: Vec<(String, Vec<u8>)> = headers
            .into_iter()
            .map(|(name, value)| (name, value.into_bytes()))
            .collect();
        let body: Vec<u8> = row.get(5)?;
        let kind: String = row.get(2)?;
        Ok(Attempt::new(
            row.get(0)?,
            row.get(1)?,
            AttemptKind::from_name(&kind),
            row.get(3)?,
            &headers,
            &body,
            u64::try_from(row.get::<_, i64>(6)?).unwrap_or(0),
            u64::try_from(row.get::<_, i64>(7)?).unwrap_or(0),
            row.get(8)?,
        ))
    })?
    .collect()
}

/// A stored request as forwarding sends it.
pub(super) fn stored_request(conn: &Connection, id: i64) -> rusqlite::Result<Option<StoredRequest>> {
    let found = conn
        .prepare_cached(
            "SELECT r.method, r.path, r.query, r.headers, r.body, r.remote_addr, r.received_at, r.endpoint
             FROM captures r WHERE r.id = ?1",
        )?
        .query_row([id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Vec<u8>>(3)?,
                row.get::<_, Vec<u8>>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, i64>(6)?,
                row.get::<_, Option<String>>(7)?,
            ))
        })
        .optional()?;
    Ok(found.and_then(
        |(method, path, query, headers, body, remote_addr, received_at_ms, endpoint)| {
            Some(StoredRequest {
                id,
                method,
                path,
                query,
                headers: super::headers_codec::decode(&headers)?,
                body: body.into(),
                remote_addr,
                received_at_ms,
                endpoint,
            })
        },
    ))
}
