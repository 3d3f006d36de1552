//! `GET /_/api/export?format=ndjson|har|curl&FILTERS` (and `to=URL` for curl): every matching request, oldest
//! first, streamed a page at a time through a small channel, so an export of any size holds a few pages in memory.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use hyper::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::AppState;
use super::error::ApiError;
use super::response::Body;
use crate::export::{self, Format};
use crate::filter::Filter;

/// Requests read from the store at a time.
const PAGE: usize = 200;

/// Pages written ahead of the client.
const AHEAD: usize = 4;

pub fn export(state: &AppState, raw_query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let raw = raw_query.unwrap_or_default();
    let filter = Filter::from_query(raw)?;
    let mut format = Format::Ndjson;
    let mut to = None;
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        match name.as_ref() {
            "format" => {
                format = Format::from_name(&value).ok_or_else(|| {
                    ApiError::BadRequest(format!("format={value:?} is not allowed; expected ndjson, har or curl"))
                })?;
            }
            "to" => to = Some(value.into_owned()),
            _ => {}
        }
    }
    let origin = state
        .advertised_origin
        .as_deref()
        .map_or_else(|| format!("http://{}", state.config.listen), str::to_owned);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(AHEAD);
    let store = state.store.clone();
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        let opening = match format {
            Format::Ndjson => Vec::new(),
            Format::Har => export::har_start(),
            Format::Curl => export::curl_script_start(to.as_deref()),
        };
        if sender.send(Bytes::from(opening)).await.is_err() {
            return;
        }
        let mut after = 0;
        let mut first = true;
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            let page = match store.export_page(filter.clone(), after, PAGE).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, "an export stopped: the store could not be read");
                    return;
                }
            };
            let Some((last, _)) = page.last() else { break };
            after = last.summary.id;
            let mut chunk = Vec::new();
            for (detail, headers) in &page {
                chunk.extend(match format {
                    Format::Ndjson => export::ndjson_line(detail, headers),
                    Format::Har => export::har_entry(detail, &origin, first),
                    Format::Curl => export::curl_command(detail, headers),
                });
                first = false;
            }
            if sender.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
        }
        let closing = match format {
            Format::Ndjson => Vec::new(),
            Format::Har => export::har_end(),
            Format::Curl => export::curl_script_end(),
        };
        let _ = sender.send(Bytes::from(closing)).await;
    });
    let frames = ReceiverStream::new(receiver).map(|bytes| Ok::<_, Infallible>(Frame::data(bytes)));
    let mut response = Response::new(StreamBody::new(frames).boxed_unsync());
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", format.file_name())) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}
