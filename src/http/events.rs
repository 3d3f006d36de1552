//! The live stream, `GET /_/events`: server-sent events for every committed change. A reconnecting client gets
//! what it missed from the store first, then live events, with no gap and no repeat: the feed is subscribed to
//! before the store is read, and live inserts at or below the last id sent are skipped.

use std::fmt::Write as _;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::{broadcast, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::error::ApiError;
use super::response::Body;
use crate::store::Change;

/// A comment is sent after this much silence, so proxies and browsers keep an idle stream open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How many frames may wait for one slow client. Beyond this the client's task stops reading the shared feed,
/// falls behind it, and is told to resync: a stuck browser costs a bounded amount of memory and never slows
/// capture or other browsers.
const CLIENT_BUFFER: usize = 64;

/// The most missed requests replayed on reconnect; a client further behind is told to resync instead (it
/// reloads the list through the API, which pages).
pub const MAX_REPLAY: usize = 1000;

/// How soon a browser's EventSource retries after the stream drops.
const RETRY_MS: u64 = 1000;

/// `GET /_/events[?after=ID]`; the `Last-Event-ID` header, sent by a reconnecting EventSource, wins over `after`.
pub fn stream(state: &AppState, headers: &HeaderMap, raw_query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let after = resume_point(headers, raw_query)?;
    let feed = state.store.subscribe();
    let (frames, receiver) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(feed_client(state.clone(), feed, frames, after));

    let body = StreamBody::new(ReceiverStream::new(receiver).map(|bytes| Ok(Frame::data(bytes)))).boxed_unsync();
    let mut response = Response::new(body);
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

/// The sending side of one client's stream.
struct Client {
    frames: mpsc::Sender<Bytes>,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Client {
    /// Queues a frame; `false` when the client is gone or the server is stopping. Waiting for room here is what
    /// bounds a slow client: meanwhile it falls behind the shared feed instead of growing a buffer.
    async fn send(&self, frame: String) -> bool {
        tokio::select! {
            sent = self.frames.send(Bytes::from(frame)) => sent.is_ok(),
            () = self.shutdown.cancelled() => false,
        }
    }
}

/// Feeds one client until it goes away, the server shuts down, or the store closes.
async fn feed_client(
    state: AppState,
    mut feed: broadcast::Receiver<std::sync::Arc<Change>>,
    frames: mpsc::Sender<Bytes>,
    after: Option<i64>,
) {
    let client = Client {
        frames,
        shutdown: state.shutdown.clone(),
    };
    if !client.send(format!("retry: {RETRY_MS}\n\n")).await {
        return;
    }
    // Live inserts at or below this id were already sent (or replayed); without a resume point, everything
    // committed after subscribing is new to the client.
    let mut last_sent = after.unwrap_or(i64::MIN);
    if let Some(after) = after {
        let replayed = match state.store.since(after, MAX_REPLAY + 1).await {
            Ok(missed) if missed.len() > MAX_REPLAY => Err("too many missed requests to replay"),
            Ok(missed) => Ok(missed),
            Err(error) => {
                tracing::warn!(%error, "could not replay missed requests to a live viewer");
                Err("missed requests could not be read")
            }
        };
        match replayed {
            Ok(missed) => {
                for summary in missed {
                    let json = serde_json::to_string(&summary).unwrap_or_default();
                    last_sent = summary.id;
                    if !client.send(request_frame(summary.id, &json)).await {
                        return;
                    }
                }
            }
            // The client reloads its list through the API; live events go on after the notice.
            Err(reason) => {
                if !client.send(resync_frame(reason)).await {
                    return;
                }
            }
        }
    }

    loop {
        let next = tokio::select! {
            () = state.shutdown.cancelled() => return,
            received = tokio::time::timeout(KEEP_ALIVE, feed.recv()) => received,
        };
        let frame = match next {
            Err(_silence) => ": keep-alive\n\n".to_owned(),
            Ok(Ok(change)) => match change.as_ref() {
                Change::Inserted { id, .. } if *id <= last_sent => continue,
                Change::Inserted { id, json } => {
                    last_sent = *id;
                    request_frame(*id, json)
                }
                Change::Deleted { id } => format!("event: deleted\ndata: {{\"id\":{id}}}\n\n"),
                Change::Cleared => "event: cleared\ndata: {}\n\n".to_owned(),
                Change::Evicted { through } => format!("event: evicted\ndata: {{\"through\":{through}}}\n\n"),
            },
            Ok(Err(broadcast::error::RecvError::Lagged(missed))) => {
                tracing::debug!(missed, "a live viewer fell behind and was told to resync");
                resync_frame("this viewer fell behind the live stream")
            }
            Ok(Err(broadcast::error::RecvError::Closed)) => return,
        };
        if !client.send(frame).await {
            return;
        }
    }
}

/// One `request` event. The summary JSON is a single line (serde_json escapes CR and LF inside strings), so
/// captured data can never end the `data:` field or forge another event.
fn request_frame(id: i64, json: &str) -> String {
    let mut frame = String::with_capacity(json.len() + 32);
    let _ = write!(frame, "event: request\nid: {id}\ndata: {json}\n\n");
    frame
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
        let frame = request_frame(7, &summary);
        assert_eq!(frame.matches("\n\n").count(), 1);
        assert!(frame.ends_with("\n\n"));
        assert_eq!(frame.lines().filter(|line| line.starts_with("event:")).count(), 1);
    }
}
