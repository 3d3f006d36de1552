//! One viewer's stream. A reconnecting viewer gets what it missed from the store first, then live events, with no
//! gap and no repeat: it subscribes to the hub before the store is read, and live requests at or below the last id
//! sent are skipped. A viewer with a filter is sent only the requests that match it (deletes, evictions and clears
//! always).
//!
//! The response body is itself the stream, polled by the connection's own task: one task per viewer, woken once
//! per burst of commits, which are coalesced into one frame. When requests arrive faster than anyone reads them,
//! each viewer is written a few times a second with the newest requests and a count of the rest (see `pace.rs`),
//! unless it asked for the complete stream. A viewer whose socket stops draining is simply not polled; it falls
//! behind the shared feed and, when it drains again, is told to resync, or, in the complete stream, catches up from
//! the store. Capture never waits for a viewer, and a stuck viewer costs no memory beyond its socket buffer and the
//! feed's bounded backlog.

use std::collections::HashSet;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::event::LiveEvent;
use super::hub::{Hub, LiveBatch};
use super::pace::Pace;
use crate::filter::Filter;
use crate::record::Summary;
use crate::store::{Change, ListQuery, PageStart, Store};

/// A comment is sent after this much silence, so proxies and browsers keep an idle stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The most missed requests replayed on reconnect; a client further behind is told to resync instead (it
/// reloads the list through the API, which pages). The complete stream has no such cap.
pub const MAX_REPLAY: usize = 1000;

/// How many requests the complete stream reads from the store at a time while it catches up: one frame each.
const CATCH_UP_PAGE: usize = 500;

/// How soon a browser's EventSource retries after the stream drops.
const RETRY_MS: u64 = 1000;

/// About how many bytes a `request` event takes, to size a frame: about 390 for a JSON capture at a short path,
/// and the rest for longer paths and event names, so that most frames need no second allocation.
const EVENT_BYTES: usize = 448;

/// What a viewer asked for.
#[derive(Debug, Clone, Default)]
pub struct Subscription {
    /// Replay everything after this id before going live.
    pub after: Option<i64>,
    /// Only the requests that match.
    pub filter: Filter,
    /// Every matching request, in order: no replay cap, no pacing, no `skipped` events; a viewer that falls behind
    /// catches up from the store.
    pub complete: bool,
}

/// One viewer's position in the live stream.
pub struct Viewer {
    feed: broadcast::Receiver<Arc<LiveBatch>>,
    store: Store,
    /// Ends the stream on shutdown. Kept across frames, like the keep-alive timer: a thousand viewers each
    /// registering a fresh waiter and timer per frame showed in the fan-out's cost.
    shutdown: Pin<Box<WaitForCancellationFutureOwned>>,
    /// Fires [`KEEP_ALIVE`] after the last frame, or earlier: moving a timer is not free, so it is moved when it
    /// fires rather than on every frame (docs/performance.md).
    keep_alive: Pin<Box<tokio::time::Sleep>>,
    /// When the last frame went out, on the timer's clock.
    last_frame: tokio::time::Instant,
    /// The batches drained for one frame; kept to reuse its allocation.
    waiting: Vec<Arc<LiveBatch>>,
    subscription: Subscription,
    started: bool,
    /// The complete stream is reading the store from after this id before it goes on live.
    catching_up: Option<i64>,
    /// Live requests at or below this id were already sent, replayed or skipped.
    last_sent: i64,
    /// How fast captures arrive, as this viewer sees them.
    pace: Pace,
}

impl Viewer {
    /// A viewer of `hub`'s stream, subscribed at once so that nothing committed from now on is missed.
    pub fn new(hub: &Hub, subscription: Subscription, shutdown: WaitForCancellationFutureOwned) -> Viewer {
        Viewer {
            feed: hub.subscribe(),
            store: hub.store().clone(),
            shutdown: Box::pin(shutdown),
            keep_alive: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
            last_frame: tokio::time::Instant::now(),
            waiting: Vec::new(),
            last_sent: subscription.after.unwrap_or(i64::MIN),
            subscription,
            started: false,
            catching_up: None,
            pace: Pace::new(),
        }
    }

    /// The next bytes for the viewer; `None` ends the stream (shutdown, or the store closed).
    pub async fn next_frame(&mut self) -> Option<Bytes> {
        if !self.started {
            self.started = true;
            return Some(self.opening().await);
        }
        if let Some(after) = self.catching_up {
            return Some(self.catch_up(after).await);
        }
        if !self.subscription.complete
            && let Some(until) = self.pace.hold_until()
        {
            tokio::select! {
                () = &mut self.shutdown => return None,
                () = tokio::time::sleep_until(until) => {}
            }
        }
        // The feed first: a viewer woken by a commit then polls neither the shutdown token (a lock) nor its timer.
        // At shutdown the feed soon runs dry, as capture stops taking requests, and the token is seen then.
        let first = loop {
            tokio::select! {
                biased;
                received = self.feed.recv() => break received,
                () = &mut self.shutdown => return None,
                () = &mut self.keep_alive => {
                    if let Some(comment) = self.on_keep_alive_timer() {
                        return Some(comment);
                    }
                }
            }
        };
        let mut waiting = std::mem::take(&mut self.waiting);
        let mut lagged = false;
        match first {
            Ok(batch) => waiting.push(batch),
            Err(RecvError::Lagged(_)) => lagged = true,
            Err(RecvError::Closed) => return None,
        }
        // Whatever else is already waiting goes out in the same write; in the complete stream, which never skips,
        // a frame stops at about a page of requests and leaves the rest in the feed for the next one.
        let mut requests: usize = waiting.iter().map(|batch| batch.changes().len()).sum();
        while !(self.subscription.complete && requests >= CATCH_UP_PAGE) {
            match self.feed.try_recv() {
                Ok(batch) => {
                    requests += batch.changes().len();
                    waiting.push(batch);
                }
                Err(TryRecvError::Lagged(_)) => lagged = true,
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        lagged |= waiting.iter().any(|batch| batch.committed.is_none());
        let mut frame = Vec::new();
        if lagged {
            tracing::debug!("a live viewer fell behind the live stream");
            if self.subscription.complete {
                // The requests it lost are in the store, and come from there; what else still waits (deletes,
                // evictions, clears) goes out first.
                for batch in &waiting {
                    for (index, change) in batch.changes().iter().enumerate() {
                        if !matches!(change, Change::Captured(_) | Change::Updated(_)) {
                            frame.extend_from_slice(batch.event(index));
                        }
                    }
                }
                waiting.clear();
                self.waiting = waiting;
                self.catching_up = Some(self.last_sent.max(0));
                return Some(Bytes::from(frame));
            }
            push(&mut frame, &resync("this viewer fell behind the live stream"));
        }
        // One clock reading per frame serves the pace and the keep-alive.
        let now = tokio::time::Instant::now();
        self.append(&waiting, &mut frame, now.into_std()).await;
        waiting.clear();
        self.waiting = waiting;
        self.pace.sent(now.into_std());
        self.last_frame = now;
        Some(Bytes::from(frame))
    }

    /// When the keep-alive timer fires: the comment if the stream has been silent for [`KEEP_ALIVE`]; otherwise
    /// the timer moves to that long after the last frame.
    fn on_keep_alive_timer(&mut self) -> Option<Bytes> {
        let now = tokio::time::Instant::now();
        match silence_ends(self.last_frame, now) {
            Some(due) => {
                self.keep_alive.as_mut().reset(due);
                None
            }
            None => {
                self.last_frame = now;
                self.keep_alive.as_mut().reset(now + KEEP_ALIVE);
                Some(Bytes::from_static(b": keep-alive\n\n"))
            }
        }
    }

    /// The retry hint, then whatever the viewer missed since its resume point (the complete stream reads it page
    /// by page in the frames that follow).
    async fn opening(&mut self) -> Bytes {
        let mut frame = format!("retry: {RETRY_MS}\n\n").into_bytes();
        let Some(after) = self.subscription.after else {
            if self.subscription.complete {
                // Live from now: a viewer that falls behind catches up from here, never from the store's start.
                // Read after subscribing, so nothing committed in between is missed.
                match self.store.newest_id().await {
                    Ok(newest) => self.last_sent = newest.unwrap_or(0),
                    Err(error) => {
                        tracing::warn!(%error, "could not read where a complete live stream starts");
                        self.last_sent = 0;
                    }
                }
            }
            return Bytes::from(frame);
        };
        if self.subscription.complete {
            self.catching_up = Some(after);
            return Bytes::from(frame);
        }
        match self.read_after(after, MAX_REPLAY + 1).await {
            Ok(missed) if missed.len() > MAX_REPLAY => push(&mut frame, &resync("too many missed requests to replay")),
            Ok(missed) => {
                for summary in missed {
                    self.last_sent = summary.id;
                    push(&mut frame, &LiveEvent::Request(summary));
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not replay missed requests to a live viewer");
                push(&mut frame, &resync("missed requests could not be read"));
            }
        }
        Bytes::from(frame)
    }

    /// The complete stream's next page from the store, after `after`; once a page comes back short, the stream goes
    /// on live (requests committed meanwhile wait in the feed).
    async fn catch_up(&mut self, after: i64) -> Bytes {
        let mut frame = Vec::new();
        match self.read_after(after, CATCH_UP_PAGE).await {
            Ok(page) => {
                self.catching_up = (page.len() == CATCH_UP_PAGE).then(|| page.last().map_or(after, |last| last.id));
                frame.reserve(page.len() * EVENT_BYTES);
                for summary in page {
                    self.last_sent = self.last_sent.max(summary.id);
                    push(&mut frame, &LiveEvent::Request(summary));
                }
            }
            Err(error) => {
                // Tried again with the next frame, after a pause so that a failing store is not hammered.
                tracing::warn!(%error, "could not read missed requests for a complete live stream");
                self.catching_up = Some(after);
                tokio::time::sleep(Duration::from_millis(250)).await;
                frame.extend_from_slice(b": catching up\n\n");
            }
        }
        Bytes::from(frame)
    }

    /// The stored requests matching the viewer's filter above `after`, oldest first.
    async fn read_after(&self, after: i64, limit: usize) -> Result<Vec<Summary>, crate::store::StoreError> {
        let query = ListQuery {
            filter: self.subscription.filter.clone(),
            limit,
            from: PageStart::After(after),
        };
        Ok(self.store.list(query).await?.requests)
    }

    /// Adds the waiting batches to the frame, as many of their requests as the pace allows.
    async fn append(&mut self, waiting: &[Arc<LiveBatch>], frame: &mut Vec<u8>, now: Instant) {
        if self.subscription.filter.is_empty() {
            let arrived: usize = waiting
                .iter()
                .filter_map(|batch| batch.committed.as_ref())
                .map(|batch| batch.inserts_after(self.last_sent))
                .sum();
            let skip = self.skip(arrived, now);
            frame.reserve((arrived - skip) * EVENT_BYTES);
            append_changes(waiting, skip, &mut self.last_sent, frame);
            return;
        }
        let selected = match self.select(waiting).await {
            Ok(selected) => selected,
            Err(error) => {
                // Whether these requests match is unknown: the complete stream reads them again from the store, the
                // paced one asks the viewer to reload.
                tracing::warn!(%error, "could not check the headers and bodies of live requests");
                if self.subscription.complete {
                    self.catching_up = Some(self.last_sent.max(0));
                } else {
                    push(frame, &resync("live requests could not be checked against the filter"));
                }
                return;
            }
        };
        let arrived = selected
            .iter()
            .filter(|(batch, index)| matches!(&batch.changes()[*index], Change::Captured(_)))
            .count();
        let skip = self.skip(arrived, now);
        frame.reserve((arrived - skip) * EVENT_BYTES);
        append_selected(&selected, skip, &mut self.last_sent, frame);
    }

    /// How many of the `arrived` requests this frame leaves out, by the pace (none in the complete stream).
    fn skip(&mut self, arrived: usize, now: Instant) -> usize {
        if self.subscription.complete {
            return 0;
        }
        self.pace.arrived(arrived, now);
        arrived.saturating_sub(self.pace.rows_per_frame())
    }

    /// The changes this viewer's filter lets through, in order, as (batch, index of the change): requests not yet
    /// sent that match, updates that match, and every delete, eviction and clear. Where only a request's stored
    /// headers or body can tell (a header filter, a text search), the store is asked, once for the frame.
    async fn select<'a>(
        &self,
        waiting: &'a [Arc<LiveBatch>],
    ) -> Result<Vec<(&'a LiveBatch, usize)>, crate::store::StoreError> {
        let filter = &self.subscription.filter;
        // Each change that may go out, with its verdict from the summary alone: `None` where the store must tell.
        let mut candidates: Vec<(&'a LiveBatch, usize, i64, Option<bool>)> = Vec::new();
        let mut payload_needed = Vec::new();
        for batch in waiting {
            for (index, change) in batch.changes().iter().enumerate() {
                let (id, verdict) = match change {
                    Change::Captured(summary) if summary.id <= self.last_sent => continue,
                    Change::Captured(summary) | Change::Updated(summary) => (summary.id, filter.matches(summary, None)),
                    Change::Deleted { .. } | Change::Cleared | Change::Evicted { .. } => (0, Some(true)),
                };
                if verdict.is_none() {
                    payload_needed.push(id);
                }
                candidates.push((&**batch, index, id, verdict));
            }
        }
        let found_in_payload: HashSet<i64> = if payload_needed.is_empty() {
            HashSet::new()
        } else {
            self.store
                .payload_matches(filter.clone(), payload_needed)
                .await?
                .into_iter()
                .collect()
        };
        let selected = candidates
            .into_iter()
            .filter(|(_, _, id, verdict)| verdict.unwrap_or_else(|| found_in_payload.contains(id)))
            .map(|(batch, index, _, _)| (batch, index))
            .collect();
        Ok(selected)
    }
}

/// Adds the waiting batches to the frame, in order, leaving out the oldest `skip` requests above `last_sent`; a
/// `skipped` event says how many and up to which id, so the viewer shows the newest and can read the rest through
/// the API. Under load a viewer passes over hundreds of batches per write, so batches it shows nothing of are
/// passed over whole, by their counts.
fn append_changes(waiting: &[Arc<LiveBatch>], skip: usize, last_sent: &mut i64, frame: &mut Vec<u8>) {
    let mut skipping = Skipping {
        total: skip,
        left: skip,
        evicted: None,
    };
    for batch in waiting {
        let Some(committed) = &batch.committed else {
            continue;
        };
        let fresh = committed.inserts_after(*last_sent);
        if committed.plain && fresh > 0 && fresh <= skipping.left {
            *last_sent = committed.last_insert;
            skipping.evicted = committed.evicted_through().or(skipping.evicted);
            skipping.pass(fresh, *last_sent, frame);
            continue;
        }
        if skipping.left == 0 && fresh == committed.inserts {
            frame.extend_from_slice(batch.whole());
            if committed.inserts > 0 {
                *last_sent = committed.last_insert;
            }
            continue;
        }
        for (index, change) in committed.changes.iter().enumerate() {
            match change {
                Change::Captured(summary) if summary.id <= *last_sent => {}
                Change::Captured(summary) if skipping.left > 0 => {
                    *last_sent = summary.id;
                    skipping.pass(1, summary.id, frame);
                }
                Change::Captured(summary) => {
                    *last_sent = summary.id;
                    frame.extend_from_slice(batch.event(index));
                }
                _ => frame.extend_from_slice(batch.event(index)),
            }
        }
    }
}

/// Adds the changes a filter selected to the frame, in order, leaving out the oldest `skip` requests as
/// [`append_changes`] does.
fn append_selected(selected: &[(&LiveBatch, usize)], skip: usize, last_sent: &mut i64, frame: &mut Vec<u8>) {
    let mut skipping = Skipping {
        total: skip,
        left: skip,
        evicted: None,
    };
    for (batch, index) in selected {
        match &batch.changes()[*index] {
            Change::Captured(summary) if skipping.left > 0 => {
                *last_sent = summary.id;
                skipping.pass(1, summary.id, frame);
            }
            Change::Captured(summary) => {
                *last_sent = summary.id;
                frame.extend_from_slice(batch.event(*index));
            }
            _ => frame.extend_from_slice(batch.event(*index)),
        }
    }
}

/// The requests a frame leaves out, oldest first, and the last eviction among the batches passed over whole.
struct Skipping {
    total: usize,
    left: usize,
    evicted: Option<i64>,
}

impl Skipping {
    /// Leaves out `requests` more, the last of them `through`; once the last one to leave out is passed, says
    /// what was skipped.
    fn pass(&mut self, requests: usize, through: i64, frame: &mut Vec<u8>) {
        self.left -= requests;
        if self.left > 0 {
            return;
        }
        push(
            frame,
            &LiveEvent::Skipped {
                count: self.total,
                through,
            },
        );
        if let Some(through) = self.evicted.take() {
            push(frame, &LiveEvent::Evicted { through });
        }
    }
}

/// When [`KEEP_ALIVE`] of silence after `last_frame` will have passed, if it has not by `now`.
fn silence_ends(last_frame: tokio::time::Instant, now: tokio::time::Instant) -> Option<tokio::time::Instant> {
    let due = last_frame + KEEP_ALIVE;
    (due > now).then_some(due)
}

fn push(frame: &mut Vec<u8>, event: &LiveEvent) {
    event.write_sse(frame);
}

fn resync(reason: &str) -> LiveEvent {
    LiveEvent::Resync {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Committed;

    #[test]
    fn keep_alive_waits_for_silence_since_the_last_frame() {
        let last_frame = tokio::time::Instant::now();
        let just_short = last_frame + KEEP_ALIVE - Duration::from_millis(1);
        assert_eq!(silence_ends(last_frame, just_short), Some(last_frame + KEEP_ALIVE));
        assert_eq!(silence_ends(last_frame, last_frame + KEEP_ALIVE), None);
        assert_eq!(silence_ends(last_frame, last_frame + 2 * KEEP_ALIVE), None);
    }

    fn captured(id: i64) -> Change {
        Change::Captured(Arc::new(Summary::example(id, "/")))
    }

    fn live(changes: Vec<Change>) -> Arc<LiveBatch> {
        Arc::new(LiveBatch::for_test(Committed::new(changes)))
    }

    fn batch(ids: std::ops::RangeInclusive<i64>, evicted: Option<i64>) -> Arc<LiveBatch> {
        let mut changes: Vec<Change> = ids.map(captured).collect();
        changes.extend(evicted.map(|through| Change::Evicted { through }));
        live(changes)
    }

    fn text(frame: &[u8]) -> &str {
        std::str::from_utf8(frame).expect("frames are UTF-8")
    }

    fn event_lines(frame: &[u8]) -> Vec<&str> {
        text(frame)
            .lines()
            .filter(|line| line.starts_with("event:") || line.starts_with("id:"))
            .collect()
    }

    fn data_lines(frame: &[u8]) -> Vec<&str> {
        text(frame).lines().filter(|line| line.starts_with("data:")).collect()
    }

    fn request_ids(frame: &[u8]) -> Vec<i64> {
        text(frame)
            .lines()
            .filter_map(|line| line.strip_prefix("id: "))
            .map(|id| id.parse().expect("id"))
            .collect()
    }

    #[test]
    fn a_frame_past_its_rows_shows_the_newest_and_counts_the_rest() {
        let waiting = [batch(1..=10, Some(0)), batch(11..=20, Some(3)), batch(21..=30, Some(7))];
        let mut last_sent = 0;
        let mut frame = Vec::new();
        append_changes(&waiting, 25, &mut last_sent, &mut frame);
        assert_eq!(last_sent, 30);
        let data = data_lines(&frame);
        // The first two batches are passed over whole: one skipped event, then their last eviction.
        assert_eq!(
            data[..2],
            [r#"data: {"count":25,"through":25}"#, r#"data: {"through":3}"#]
        );
        assert_eq!(request_ids(&frame), [26, 27, 28, 29, 30]);
        assert_eq!(data.last(), Some(&r#"data: {"through":7}"#));
    }

    #[test]
    fn requests_already_sent_are_neither_shown_nor_counted() {
        let waiting = [batch(1..=10, None), batch(11..=12, None)];
        let mut last_sent = 8;
        let mut frame = Vec::new();
        append_changes(&waiting, 2, &mut last_sent, &mut frame);
        assert_eq!(data_lines(&frame)[0], r#"data: {"count":2,"through":10}"#);
        assert_eq!(request_ids(&frame), [11, 12]);
        assert_eq!(last_sent, 12);
    }

    #[test]
    fn deletes_and_clears_are_kept_in_order_while_requests_are_skipped() {
        let mixed = live(vec![
            captured(1),
            Change::Cleared,
            captured(2),
            Change::Deleted { id: 2 },
            captured(3),
        ]);
        let mut last_sent = 0;
        let mut frame = Vec::new();
        append_changes(&[mixed], 2, &mut last_sent, &mut frame);
        let names: Vec<&str> = text(&frame)
            .lines()
            .filter_map(|line| line.strip_prefix("event: "))
            .collect();
        assert_eq!(names, ["cleared", "skipped", "deleted", "request"]);
    }

    #[test]
    fn a_batch_sent_whole_is_rendered_once_and_shared() {
        let whole = batch(1..=3, Some(0));
        let (mut first, mut second, mut partial) = (Vec::new(), Vec::new(), Vec::new());
        let (mut first_sent, mut second_sent, mut partial_sent) = (0, 0, 2);
        append_changes(std::slice::from_ref(&whole), 0, &mut first_sent, &mut first);
        let shared = whole.whole().clone();
        append_changes(std::slice::from_ref(&whole), 0, &mut second_sent, &mut second);
        append_changes(std::slice::from_ref(&whole), 0, &mut partial_sent, &mut partial);
        assert_eq!((first_sent, second_sent, partial_sent), (3, 3, 3));
        assert_eq!(first, &shared[..]);
        assert_eq!(second, first);
        assert_eq!(
            event_lines(&first),
            [
                "event: request",
                "id: 1",
                "event: request",
                "id: 2",
                "event: request",
                "id: 3",
                "event: evicted"
            ]
        );
        // A viewer that already has some of the batch gets only the rest.
        assert_eq!(request_ids(&partial), [3]);
    }

    #[test]
    fn selected_changes_skip_the_oldest_requests_and_keep_the_rest_in_order() {
        let mixed = live(vec![captured(1), captured(2), Change::Deleted { id: 1 }, captured(3)]);
        let selected: Vec<(&LiveBatch, usize)> = (0..4).map(|index| (&*mixed, index)).collect();
        let mut last_sent = 0;
        let mut frame = Vec::new();
        append_selected(&selected, 1, &mut last_sent, &mut frame);
        let names: Vec<&str> = text(&frame)
            .lines()
            .filter_map(|line| line.strip_prefix("event: "))
            .collect();
        assert_eq!(names, ["skipped", "request", "deleted", "request"]);
        assert_eq!(request_ids(&frame), [2, 3]);
        assert_eq!(last_sent, 3);
    }
}
