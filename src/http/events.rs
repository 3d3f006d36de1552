//! The live stream, `GET /_/events`: server-sent events for every committed change. A reconnecting client gets
//! what it missed from the store first, then live events, with no gap and no repeat: the feed is subscribed to
//! before the store is read, and live inserts at or below the last id sent are skipped.
//!
//! The response body is itself the stream, polled by the connection's own task: one task per viewer, woken once
//! per burst of changes, which are coalesced into one frame. A viewer whose socket stops draining is simply not
//! polled; it falls behind the shared feed and, when it drains again, is told to resync. Capture never waits for
//! a viewer, and a stuck viewer costs no memory beyond its socket buffer.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use tokio_util::sync::CancellationToken;

use super::AppState;
use super::error::ApiError;
use super::response::Body;
use crate::store::{Change, Store};

/// A comment is sent after this much silence, so proxies and browsers keep an idle stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The most missed requests replayed on reconnect; a client further behind is told to resync instead (it
/// reloads the list through the API, which pages).
pub const MAX_REPLAY: usize = 1000;

/// Coalesced changes stop being added to one frame past this size, so one write stays reasonable.
const MAX_FRAME: usize = 256 * 1024;

/// How soon a browser's EventSource retries after the stream drops.
const RETRY_MS: u64 = 1000;

/// `GET /_/events[?after=ID]`; the `Last-Event-ID` header, sent by a reconnecting EventSource, wins over `after`.
pub fn stream(state: &AppState, headers: &HeaderMap, raw_query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let after = resume_point(headers, raw_query)?;
    let viewer = Viewer {
        // Subscribed before the store is read for the replay, so nothing committed in between is missed.
        feed: state.store.subscribe(),
        store: state.store.clone(),
        shutdown: state.shutdown.clone(),
        replay_after: after,
        started: false,
        last_sent: after.unwrap_or(i64::MIN),
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
    feed: broadcast::Receiver<Arc<Change>>,
    store: Store,
    shutdown: CancellationToken,
    /// Replay everything after this id before going live.
    replay_after: Option<i64>,
    started: bool,
    /// Live inserts at or below this id were already sent (or replayed).
    last_sent: i64,
}

impl Viewer {
    /// The next bytes for the viewer; `None` ends the stream (shutdown, or the store closed).
    async fn next_frame(&mut self) -> Option<Bytes> {
        if !self.started {
            self.started = true;
            return Some(self.opening().await);
        }
        let first = tokio::select! {
            () = self.shutdown.cancelled() => return None,
            received = tokio::time::timeout(KEEP_ALIVE, self.feed.recv()) => received,
        };
        let mut frame = String::new();
        match first {
            Err(_silence) => return Some(Bytes::from_static(b": keep-alive\n\n")),
            Ok(Ok(change)) => self.append(&change, &mut frame),
            Ok(Err(RecvError::Lagged(missed))) => append_lagged(missed, &mut frame),
            Ok(Err(RecvError::Closed)) => return None,
        }
        // Whatever else is already waiting goes out in the same write.
        while frame.len() < MAX_FRAME {
            match self.feed.try_recv() {
                Ok(change) => self.append(&change, &mut frame),
                Err(TryRecvError::Lagged(missed)) => append_lagged(missed, &mut frame),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        Some(Bytes::from(frame))
    }

    /// The retry hint, then whatever the viewer missed since its resume point.
    async fn opening(&mut self) -> Bytes {
        let mut frame = format!("retry: {RETRY_MS}\n\n");
        let Some(after) = self.replay_after else {
            return Bytes::from(frame);
        };
        match self.store.since(after, MAX_REPLAY + 1).await {
            Ok(missed) if missed.len() > MAX_REPLAY => {
                frame.push_str(&resync_frame("too many missed requests to replay"))
            }
            Ok(missed) => {
                for summary in missed {
                    let json = serde_json::to_string(&summary).unwrap_or_default();
                    self.last_sent = summary.id;
                    push_request(&mut frame, summary.id, &json);
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not replay missed requests to a live viewer");
                frame.push_str(&resync_frame("missed requests could not be read"));
            }
        }
        Bytes::from(frame)
    }

    fn append(&mut self, change: &Change, frame: &mut String) {
        match change {
            Change::Inserted { id, .. } if *id <= self.last_sent => {}
            Change::Inserted { id, json } => {
                self.last_sent = *id;
                push_request(frame, *id, json);
            }
            Change::Deleted { id } => {
                let _ = write!(frame, "event: deleted\ndata: {{\"id\":{id}}}\n\n");
            }
            Change::Cleared => frame.push_str("event: cleared\ndata: {}\n\n"),
            Change::Evicted { through } => {
                let _ = write!(frame, "event: evicted\ndata: {{\"through\":{through}}}\n\n");
            }
        }
    }
}

fn append_lagged(missed: u64, frame: &mut String) {
    tracing::debug!(missed, "a live viewer fell behind and was told to resync");
    frame.push_str(&resync_frame("this viewer fell behind the live stream"));
}

/// One `request` event. The summary JSON is a single line (serde_json escapes CR and LF inside strings), so
/// captured data can never end the `data:` field or forge another event.
fn push_request(frame: &mut String, id: i64, json: &str) {
    let _ = write!(frame, "event: request\nid: {id}\ndata: {json}\n\n");
}

fn resync_frame(reason: &str) -> String {
    let data = serde_json::json!({ "reason": reason });
    format!("event: resync\ndata: {data}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_frames_stay_one_event_whatever_the_payload() {
        let summary = serde_json::json!({ "path": "/x\r\n\r\nevent: cleared\ndata: {}" }).to_string();
        let mut frame = String::new();
        push_request(&mut frame, 7, &summary);
        assert_eq!(frame.matches("\n\n").count(), 1);
        assert!(frame.ends_with("\n\n"));
        assert_eq!(frame.lines().filter(|line| line.starts_with("event:")).count(), 1);
    }
}
