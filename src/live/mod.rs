//! The live stream, `GET /_/events`: server-sent events for every committed change, filtered per viewer with the
//! list's own filter. The store announces typed changes after each commit; this module owns everything about
//! showing them: the event format ([`event`]), the hub that shares each batch's rendering among viewers, replay on
//! reconnect, pacing, and the complete stream that never skips.

pub mod event;
mod hub;
mod pace;
mod viewer;

use std::convert::Infallible;

use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use tokio_util::sync::CancellationToken;

pub use hub::Hub;
pub use viewer::{MAX_REPLAY, Subscription};

use crate::filter::{Filter, FilterError};

/// The body of a live-stream response: the stream itself.
pub type StreamBodyBox = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, Infallible>;

/// Why a live-stream request was refused; reads as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("the resume point (Last-Event-ID or after) must be a request id")]
    ResumePoint,
    #[error("complete={0:?} is not allowed; expected 1, true, 0 or false")]
    Complete(String),
}

/// Reads what a viewer asks for: `after` (or the `Last-Event-ID` header a reconnecting EventSource sends, which
/// wins), `complete`, and the filter's parameters.
pub fn parse_subscription(headers: &HeaderMap, raw_query: Option<&str>) -> Result<Subscription, SubscribeError> {
    let raw_query = raw_query.unwrap_or_default();
    let pairs = || form_urlencoded::parse(raw_query.as_bytes());
    let from_header = headers.get("last-event-id").map(|value| value.as_bytes().to_vec());
    let from_query = pairs()
        .find(|(name, _)| name == "after")
        .map(|(_, value)| value.as_bytes().to_vec());
    let after = match from_header.or(from_query).filter(|raw| !raw.is_empty()) {
        None => None,
        Some(raw) => Some(
            std::str::from_utf8(&raw)
                .ok()
                .and_then(|text| text.trim().parse::<i64>().ok())
                .filter(|id| *id >= 0)
                .ok_or(SubscribeError::ResumePoint)?,
        ),
    };
    let complete = match pairs().filter(|(name, _)| name == "complete").last() {
        None => false,
        Some((_, value)) => match value.as_ref() {
            "" | "0" | "false" => false,
            "1" | "true" => true,
            other => return Err(SubscribeError::Complete(other.to_owned())),
        },
    };
    Ok(Subscription {
        after,
        filter: Filter::from_pairs(pairs())?,
        complete,
    })
}

/// The streaming response for one viewer; it ends when `shutdown` is cancelled or the store closes.
pub fn response(hub: &Hub, subscription: Subscription, shutdown: &CancellationToken) -> Response<StreamBodyBox> {
    let viewer = viewer::Viewer::new(hub, subscription, shutdown.clone().cancelled_owned());
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
    response
}
