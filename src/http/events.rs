//! The live stream, `GET /_/events`: server-sent events for every committed change. A reconnecting client gets
//! what it missed from the store first, then live events, with no gap and no repeat: the feed is subscribed to
//! before the store is read, and live inserts at or below the last id sent are skipped.
//!
//! The response body is itself the stream, polled by the connection's own task: one task per viewer, woken once
//! per burst of commits, which are coalesced into one frame. When requests arrive faster than anyone reads them,
//! each viewer is written a few times a second with the newest requests and a count of the rest (see [`Pace`]).
//! A viewer whose socket stops draining is simply not polled; it falls behind the shared feed and, when it drains
//! again, is told to resync. Capture never waits for a viewer, and a stuck viewer costs no memory beyond its
//! socket buffer.

use std::convert::Infallible;
use std::io::Write as _;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio_util::sync::WaitForCancellationFutureOwned;

use super::AppState;
use super::error::ApiError;
use super::response::Body;
use crate::store::{Change, Changes, Committed, Store};

/// A comment is sent after this much silence, so proxies and browsers keep an idle stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The most missed requests replayed on reconnect; a client further behind is told to resync instead (it
/// reloads the list through the API, which pages).
pub const MAX_REPLAY: usize = 1000;

/// How soon a browser's EventSource retries after the stream drops.
const RETRY_MS: u64 = 1000;

/// About how many bytes a `request` event takes, to size a frame: about 390 for a JSON capture at a short path,
/// and the rest for longer paths and event names, so that most frames need no second allocation.
const EVENT_BYTES: usize = 448;

/// `GET /_/events[?after=ID]`; the `Last-Event-ID` header, sent by a reconnecting EventSource, wins over `after`.
pub fn stream(state: &AppState, headers: &HeaderMap, raw_query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let after = resume_point(headers, raw_query)?;
    let viewer = Viewer {
        // Subscribed before the store is read for the replay, so nothing committed in between is missed.
        feed: state.store.subscribe(),
        store: state.store.clone(),
        shutdown: Box::pin(state.shutdown.clone().cancelled_owned()),
        keep_alive: Box::pin(tokio::time::sleep(KEEP_ALIVE)),
        last_frame: tokio::time::Instant::now(),
        waiting: Vec::new(),
        replay_after: after,
        started: false,
        last_sent: after.unwrap_or(i64::MIN),
        pace: Pace::new(),
    };
    let frames = futures_util::stream::unfold(viewer, |mut viewer| async move {
        let frame = viewer.next_frame().await?;
        Some((Ok::<_, Infallible>(Frame::data(frame)), viewer))
    });
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn resume_point(headers: &HeaderMap, raw_query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let from_header = headers.get("last-event-id").map(|value| value.as_bytes().to_vec());
    let from_query = form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "after")
        .map(|(_, value)| value.as_bytes().to_vec());
    let Some(raw) = from_header.or(from_query).filter(|raw| !raw.is_empty()) else {
        return Ok(None);
    };
    std::str::from_utf8(&raw)
        .ok()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .filter(|id| *id >= 0)
        .map(Some)
        .ok_or_else(|| ApiError::BadRequest("the resume point (Last-Event-ID or after) must be a request id".into()))
}

/// One viewer's position in the live stream.
struct Viewer {
    feed: broadcast::Receiver<Changes>,
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
    waiting: Vec<Changes>,
    /// Replay everything after this id before going live.
    replay_after: Option<i64>,
    started: bool,
    /// Live inserts at or below this id were already sent, replayed or skipped.
    last_sent: i64,
    /// How fast captures arrive, as this viewer sees them.
    pace: Pace,
}

impl Viewer {
    /// The next bytes for the viewer; `None` ends the stream (shutdown, or the store closed).
    async fn next_frame(&mut self) -> Option<Bytes> {
        if !self.started {
            self.started = true;
            return Some(self.opening().await);
        }
        if let Some(until) = self.pace.hold_until() {
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
        let mut frame = Vec::new();
        match first {
            Ok(changes) => waiting.push(changes),
            Err(RecvError::Lagged(missed)) => append_lagged(missed, &mut frame),
            Err(RecvError::Closed) => return None,
        }
        // Whatever else is already waiting goes out in the same write.
        loop {
            match self.feed.try_recv() {
                Ok(changes) => waiting.push(changes),
                Err(TryRecvError::Lagged(missed)) => append_lagged(missed, &mut frame),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        // One clock reading per frame serves the pace and the keep-alive.
        let now = tokio::time::Instant::now();
        self.append(&waiting, &mut frame, now.into_std());
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

    /// The retry hint, then whatever the viewer missed since its resume point.
    async fn opening(&mut self) -> Bytes {
        let mut frame = format!("retry: {RETRY_MS}\n\n").into_bytes();
        let Some(after) = self.replay_after else {
            return Bytes::from(frame);
        };
        match self.store.since(after, MAX_REPLAY + 1).await {
            Ok(missed) if missed.len() > MAX_REPLAY => push_resync(&mut frame, "too many missed requests to replay"),
            Ok(missed) => {
                for summary in missed {
                    let json = serde_json::to_string(&summary).unwrap_or_default();
                    self.last_sent = summary.id;
                    push_request(&mut frame, summary.id, &json);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not replay missed requests to a live viewer");
                push_resync(&mut frame, "missed requests could not be read");
            }
        }
        Bytes::from(frame)
    }

    /// Adds the waiting batches to the frame, as many of their requests as the pace allows.
    fn append(&mut self, waiting: &[Changes], frame: &mut Vec<u8>, now: Instant) {
        let arrived: usize = waiting.iter().map(|batch| batch.inserts_after(self.last_sent)).sum();
        self.pace.arrived(arrived, now);
        let skip = arrived.saturating_sub(self.pace.rows_per_frame());
        // One allocation for the frame, rather than one each time it outgrows the last.
        frame.reserve((arrived - skip) * EVENT_BYTES);
        append_changes(waiting, skip, &mut self.last_sent, frame);
    }
}

/// Adds the waiting batches to the frame, in order, leaving out the oldest `skip` requests above `last_sent`; a
/// `skipped` event says how many and up to which id, so the viewer shows the newest and can read the rest through
/// the API. Under load a viewer passes over hundreds of batches per write, so batches it shows nothing of are
/// passed over whole, by their counts.
fn append_changes(waiting: &[Changes], skip: usize, last_sent: &mut i64, frame: &mut Vec<u8>) {
    let mut skipping = Skipping {
        total: skip,
        left: skip,
        evicted: None,
    };
    for batch in waiting {
        let fresh = batch.inserts_after(*last_sent);
        if batch.plain && fresh > 0 && fresh <= skipping.left {
            *last_sent = batch.last_insert;
            skipping.evicted = batch.evicted_through().or(skipping.evicted);
            skipping.pass(fresh, *last_sent, frame);
            continue;
        }
        if skipping.left == 0 && fresh == batch.inserts {
            frame.extend_from_slice(rendered(batch));
            if batch.inserts > 0 {
                *last_sent = batch.last_insert;
            }
            continue;
        }
        for change in &batch.changes {
            match change {
                Change::Inserted { id, .. } if *id <= *last_sent => {}
                Change::Inserted { id, .. } if skipping.left > 0 => {
                    *last_sent = *id;
                    skipping.pass(1, *id, frame);
                }
                Change::Inserted { id, .. } => {
                    *last_sent = *id;
                    push_change(frame, change);
                }
                _ => push_change(frame, change),
            }
        }
    }
}

/// The whole batch as events, rendered once and shared by every viewer that sends all of it.
fn rendered(batch: &Committed) -> &Bytes {
    batch.rendered.get_or_init(|| {
        let mut text = Vec::new();
        for change in &batch.changes {
            push_change(&mut text, change);
        }
        Bytes::from(text)
    })
}

/// One change as its event.
fn push_change(frame: &mut Vec<u8>, change: &Change) {
    match change {
        Change::Inserted { id, json } => push_request(frame, *id, json),
        Change::Deleted { id } => {
            let _ = write!(frame, "event: deleted\ndata: {{\"id\":{id}}}\n\n");
        }
        Change::Cleared => frame.extend_from_slice(b"event: cleared\ndata: {}\n\n"),
        Change::Evicted { through } => push_evicted(frame, *through),
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
        push_skipped(frame, self.total, through);
        if let Some(through) = self.evicted.take() {
            push_evicted(frame, through);
        }
    }
}

/// How often a viewer is written to. Below [`BUSY_RATE`] every commit goes out as soon as it lands, so a
/// request shows within milliseconds. Above it, nobody reads rows that fast, and a thousand viewers each written
/// on every commit would take the CPU from capture itself; so each viewer is written at most every
/// [`BUSY_INTERVAL`], with the newest [`BUSY_ROWS`] requests and a count of the rest.
struct Pace {
    /// Requests that arrived in the current window, and when it started.
    window_start: Instant,
    in_window: usize,
    /// Whether the last full window's rate was above [`BUSY_RATE`].
    busy: bool,
    last_sent: Instant,
}

/// Requests a second above which the stream is paced; see [`Pace`].
const BUSY_RATE: usize = 2000;
/// How long a window of the rate measurement lasts, and how many requests in one make it busy.
const RATE_WINDOW: Duration = Duration::from_millis(250);
const BUSY_PER_WINDOW: usize = BUSY_RATE * RATE_WINDOW.as_millis() as usize / 1000;
/// Shortest time between two writes to one viewer while busy.
const BUSY_INTERVAL: Duration = Duration::from_millis(200);
/// Most request events in one write while busy, and otherwise.
const BUSY_ROWS: usize = 20;
const MAX_ROWS: usize = 500;

impl Pace {
    fn new() -> Pace {
        let now = Instant::now();
        Pace {
            window_start: now,
            in_window: 0,
            busy: false,
            last_sent: now,
        }
    }

    /// When the next write may happen, if not at once. A quiet stream reads no clock here: its window rolls when
    /// requests arrive.
    fn hold_until(&mut self) -> Option<tokio::time::Instant> {
        if !self.busy {
            return None;
        }
        let now = Instant::now();
        self.roll_window(now);
        let until = self.last_sent + BUSY_INTERVAL;
        (self.busy && until > now).then(|| until.into())
    }

    fn arrived(&mut self, requests: usize, now: Instant) {
        self.roll_window(now);
        self.in_window += requests;
        if self.in_window > BUSY_PER_WINDOW {
            self.busy = true;
        }
    }

    fn rows_per_frame(&self) -> usize {
        if self.busy { BUSY_ROWS } else { MAX_ROWS }
    }

    fn sent(&mut self, now: Instant) {
        self.last_sent = now;
    }

    /// Ends the current window once it is over: its rate decides whether the next one is paced. A window with
    /// nothing in it (the viewer slept through it) counts as quiet.
    fn roll_window(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < RATE_WINDOW {
            return;
        }
        let per_window = if elapsed < 2 * RATE_WINDOW { self.in_window } else { 0 };
        self.busy = per_window > BUSY_PER_WINDOW;
        self.window_start = now;
        self.in_window = 0;
    }
}

/// When [`KEEP_ALIVE`] of silence after `last_frame` will have passed, if it has not by `now`.
fn silence_ends(last_frame: tokio::time::Instant, now: tokio::time::Instant) -> Option<tokio::time::Instant> {
    let due = last_frame + KEEP_ALIVE;
    (due > now).then_some(due)
}

fn append_lagged(missed: u64, frame: &mut Vec<u8>) {
    tracing::debug!(missed, "a live viewer fell behind and was told to resync");
    push_resync(frame, "this viewer fell behind the live stream");
}

/// One `request` event. The summary JSON is a single line (serde_json escapes CR and LF inside strings), so
/// captured data can never end the `data:` field or forge another event.
fn push_request(frame: &mut Vec<u8>, id: i64, json: &str) {
    let _ = write!(frame, "event: request\nid: {id}\ndata: {json}\n\n");
}

fn push_evicted(frame: &mut Vec<u8>, through: i64) {
    let _ = write!(frame, "event: evicted\ndata: {{\"through\":{through}}}\n\n");
}

/// A `skipped` event: `count` requests up to and including id `through` were left out of the stream.
fn push_skipped(frame: &mut Vec<u8>, count: usize, through: i64) {
    let _ = write!(
        frame,
        "event: skipped\ndata: {{\"count\":{count},\"through\":{through}}}\n\n"
    );
}

fn push_resync(frame: &mut Vec<u8>, reason: &str) {
    let data = serde_json::json!({ "reason": reason });
    let _ = write!(frame, "event: resync\ndata: {data}\n\n");
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

    fn batch(ids: std::ops::RangeInclusive<i64>, evicted: Option<i64>) -> Changes {
        let mut changes: Vec<Change> = ids
            .map(|id| Change::Inserted {
                id,
                json: format!("{{\"id\":{id}}}"),
            })
            .collect();
        changes.extend(evicted.map(|through| Change::Evicted { through }));
        Changes::new(Committed::new(changes))
    }

    fn text(frame: &[u8]) -> &str {
        std::str::from_utf8(frame).expect("frames are UTF-8")
    }

    fn event_lines(frame: &[u8]) -> Vec<&str> {
        text(frame)
            .lines()
            .filter(|line| line.starts_with("event:") || line.starts_with("data:"))
            .collect()
    }

    #[test]
    fn a_frame_past_its_rows_shows_the_newest_and_counts_the_rest() {
        let waiting = [batch(1..=10, Some(0)), batch(11..=20, Some(3)), batch(21..=30, Some(7))];
        let mut last_sent = 0;
        let mut frame = Vec::new();
        append_changes(&waiting, 25, &mut last_sent, &mut frame);
        assert_eq!(last_sent, 30);
        let lines = event_lines(&frame);
        // The first two batches are passed over whole: one skipped event, then their last eviction.
        assert_eq!(
            lines[..4],
            [
                "event: skipped",
                r#"data: {"count":25,"through":25}"#,
                "event: evicted",
                r#"data: {"through":3}"#
            ]
        );
        let shown: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|line| line.starts_with("data: {\"id\""))
            .collect();
        assert_eq!(shown, [26, 27, 28, 29, 30].map(|id| format!("data: {{\"id\":{id}}}")));
        assert_eq!(lines.last(), Some(&r#"data: {"through":7}"#));
    }

    #[test]
    fn requests_already_sent_are_neither_shown_nor_counted() {
        let waiting = [batch(1..=10, None), batch(11..=12, None)];
        let mut last_sent = 8;
        let mut frame = Vec::new();
        append_changes(&waiting, 2, &mut last_sent, &mut frame);
        let lines = event_lines(&frame);
        assert_eq!(lines[..2], ["event: skipped", r#"data: {"count":2,"through":10}"#]);
        assert_eq!(lines.iter().filter(|line| **line == "event: request").count(), 2);
        assert_eq!(last_sent, 12);
    }

    #[test]
    fn deletes_and_clears_are_kept_in_order_while_requests_are_skipped() {
        let mixed = Changes::new(Committed::new(vec![
            Change::Inserted {
                id: 1,
                json: "{}".into(),
            },
            Change::Cleared,
            Change::Inserted {
                id: 2,
                json: "{}".into(),
            },
            Change::Deleted { id: 2 },
            Change::Inserted {
                id: 3,
                json: "{}".into(),
            },
        ]));
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
    fn the_stream_is_paced_only_while_requests_arrive_faster_than_the_busy_rate() {
        let mut pace = Pace::new();
        pace.arrived(BUSY_RATE / 8, Instant::now());
        assert_eq!(pace.rows_per_frame(), MAX_ROWS);
        assert!(pace.hold_until().is_none());
        pace.arrived(BUSY_RATE, Instant::now());
        pace.sent(Instant::now());
        assert_eq!(pace.rows_per_frame(), BUSY_ROWS);
        assert!(pace.hold_until().is_some(), "a busy stream waits between writes");
        // A viewer that slept through two windows sees a quiet stream again.
        pace.window_start -= 3 * RATE_WINDOW;
        pace.last_sent -= BUSY_INTERVAL;
        assert!(pace.hold_until().is_none());
        assert_eq!(pace.rows_per_frame(), MAX_ROWS);
    }

    #[test]
    fn request_frames_stay_one_event_whatever_the_payload() {
        let summary = serde_json::json!({ "path": "/x\r\n\r\nevent: cleared\ndata: {}" }).to_string();
        let mut frame = Vec::new();
        push_request(&mut frame, 7, &summary);
        let frame = text(&frame);
        assert_eq!(frame.matches("\n\n").count(), 1);
        assert!(frame.ends_with("\n\n"));
        assert_eq!(frame.lines().filter(|line| line.starts_with("event:")).count(), 1);
    }

    #[test]
    fn a_batch_sent_whole_is_rendered_once_and_shared() {
        let whole = batch(1..=3, Some(0));
        let (mut first, mut second, mut partial) = (Vec::new(), Vec::new(), Vec::new());
        let (mut first_sent, mut second_sent, mut partial_sent) = (0, 0, 2);
        append_changes(std::slice::from_ref(&whole), 0, &mut first_sent, &mut first);
        let shared = whole.rendered.get().expect("rendered by the first viewer").clone();
        append_changes(std::slice::from_ref(&whole), 0, &mut second_sent, &mut second);
        append_changes(std::slice::from_ref(&whole), 0, &mut partial_sent, &mut partial);
        assert_eq!((first_sent, second_sent, partial_sent), (3, 3, 3));
        assert_eq!(first, &shared[..]);
        assert_eq!(second, first);
        assert_eq!(
            event_lines(&first),
            [
                "event: request",
                r#"data: {"id":1}"#,
                "event: request",
                r#"data: {"id":2}"#,
                "event: request",
                r#"data: {"id":3}"#,
                "event: evicted",
                r#"data: {"through":0}"#
            ]
        );
        // A viewer that already has some of the batch gets only the rest.
        assert_eq!(event_lines(&partial)[..2], ["event: request", r#"data: {"id":3}"#]);
    }
}
