//! `POST /_/api/import`: loads an NDJSON export into this hookscope, line by line as the body arrives: bodies and
//! headers byte-exact, `received_at` and `remote_addr` kept, new ids assigned, checks, signatures and duplicate flags
//! computed afresh. An import never answers, forwards or advances an endpoint's steps. A malformed line stops
//! nothing: it is skipped and reported by its number.

use base64::Engine;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{HeaderMap, Request, Response, StatusCode};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::response::{Body, json};
use crate::idempotency::request_key_with_source;
use crate::profiles::inspect_request;
use crate::record::{ForwardState, NewRequest, ResponseRecord};
use crate::signatures::{self, reading::Message};

/// The most lines an import reports as skipped (it counts them all).
const MAX_REPORTED: usize = 100;

/// One exported request, as much of it as an import reads.
#[derive(Deserialize)]
struct Line {
    method: String,
    path: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    /// Header values that are not UTF-8, by position, in base64.
    #[serde(default)]
    headers_base64: Vec<(usize, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    received_at: String,
    #[serde(default)]
    remote_addr: String,
    #[serde(default)]
    response: Option<ResponseRecord>,
}

pub async fn import(state: &AppState, request: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let line_limit = usize::try_from(state.config.limits.max_body)
        .unwrap_or(usize::MAX)
        .saturating_mul(2)
        .max(1 << 20);
    let mut body = request.into_body();
    let mut pending: Vec<u8> = Vec::new();
    let mut number = 0usize;
    let mut imported = 0usize;
    let mut skipped = 0usize;
    let mut reported: Vec<serde_json::Value> = Vec::new();
    let mut finished = false;
    // How much of `pending` is known to hold no newline.
    let mut scanned = 0usize;
    while !finished {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    pending.extend_from_slice(&data);
                }
            }
            Some(Err(error)) => return Err(ApiError::BadBody(error.to_string())),
            None => finished = true,
        }
        loop {
            // Only what arrived since the last look is searched, so a long line costs its length once.
            let end = match memchr::memchr(b'\n', &pending[scanned..]) {
                Some(offset) => scanned + offset,
                // The last line may have no newline.
                None if finished && !pending.is_empty() => pending.len(),
                None => {
                    scanned = pending.len();
                    break;
                }
            };
            scanned = 0;
            let line: Vec<u8> = pending.drain(..end).collect();
            // The newline itself.
            pending.drain(..pending.len().min(1));
            number += 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match import_line(state, &line).await {
                Ok(()) => imported += 1,
                Err(why) => {
                    skipped += 1;
                    if reported.len() < MAX_REPORTED {
                        reported.push(serde_json::json!({"line": number, "error": why}));
                    }
                }
            }
        }
        if pending.len() > line_limit {
            return Err(ApiError::BadRequest(format!(
                "line {} is longer than {line_limit} bytes",
                number + 1
            )));
        }
    }
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"imported": imported, "skipped": skipped, "skipped_lines": reported}),
    ))
}

/// Stores one exported request afresh; why not, in one sentence.
async fn import_line(state: &AppState, text: &[u8]) -> Result<(), String> {
    let line: Line = serde_json::from_slice(text).map_err(|error| format!("not an exported request: {error}"))?;
    let received_at_ms = chrono::DateTime::parse_from_rfc3339(&line.received_at)
        .map_err(|_| "received_at is not an RFC 3339 time".to_owned())?
        .timestamp_millis();
    let body: Bytes = match (&line.body, &line.body_base64) {
        (Some(text), _) => Bytes::from(text.clone().into_bytes()),
        (None, Some(encoded)) => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| "body_base64 is not base64".to_owned())?,
        ),
        (None, None) => Bytes::new(),
    };
    let mut raw: Vec<(String, Vec<u8>)> = line
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.as_bytes().to_vec()))
        .collect();
    for (index, encoded) in &line.headers_base64 {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| "headers_base64 is not base64".to_owned())?;
        if let Some((_, value)) = raw.get_mut(*index) {
            *value = bytes;
        }
    }
    let mut headers = HeaderMap::new();
    for (name, value) in &raw {
        let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_bytes(value),
        ) else {
            return Err(format!("the header {name} cannot be stored"));
        };
        headers.append(name, value);
    }
    let pairs: Vec<(&str, &[u8])> = raw
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_slice()))
        .collect();
    let endpoint = state.endpoints.find(&line.path);
    let content_type = headers
        .get(hyper::header::CONTENT_TYPE)
        .map(|value| crate::record::header_text(value.as_bytes()));
    let choice = state
        .profiles
        .choice(endpoint.as_deref().and_then(|endpoint| endpoint.profile.as_deref()));
    let mut verdict = inspect_request(&body, content_type.as_deref(), &pairs, &choice);
    let (idempotency_key, key_source) = request_key_with_source(
        verdict.idempotency_key.as_deref().zip(verdict.key_source.as_deref()),
        pairs.iter().copied(),
    )
    .unzip();
    verdict.key_source = key_source;
    let signature = signatures::assess(
        endpoint.as_deref().and_then(|endpoint| endpoint.verify.as_ref()),
        &Message {
            headers: &pairs,
            body: &body,
            path: &line.path,
            query: &line.query,
            received_at_ms,
        },
        state.config.public_url.as_deref(),
    );
    state
        .store
        .insert(NewRequest {
            received_at_ms,
            method: line.method,
            path: line.path,
            query: line.query,
            headers,
            remote_addr: line.remote_addr,
            content_type,
            body,
            verdict,
            idempotency_key,
            endpoint: endpoint.map(|endpoint| endpoint.name.clone()),
            response: line
                .response
                .unwrap_or_else(|| ResponseRecord::of(&crate::endpoints::Answer::default_with(200))),
            signature,
            forward: ForwardState::None,
            delivery: None,
        })
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}
