//! Proxy mode: the sender waits while hookscope calls the endpoint's target, and gets the target's status, headers
//! and body, or `502` (no answer) or `504` (too slow) with a JSON body that says why. The capture is already
//! committed; the target's answer is its second write, announced as an update.

use hyper::header::HeaderValue;
use hyper::{Response, StatusCode};

use super::AppState;
use super::response::{Body, json, with_body};
use crate::endpoints::forward::Forwarding;
use crate::endpoints::spec::FRAMING_HEADERS;
use crate::endpoints::{Endpoint, Reason};
use crate::forward::plan_for;
use crate::record::{AttemptKind, AttemptOutcome, ForwardState, ResponseRecord, StoredRequest};

/// Calls the target for a committed capture and answers its sender with what came back.
pub async fn answer(
    state: &AppState,
    endpoint: &Endpoint,
    request: StoredRequest,
    forwarding: &Forwarding,
    received_at_ms: i64,
) -> Response<Body> {
    let plan = plan_for(forwarding, AttemptKind::Forward);
    let attempted = state.forwarder.attempt(&request, &plan).await;
    let mut response = match &attempted.result {
        Ok(answered) if answered.truncated => gateway_error(
            StatusCode::BAD_GATEWAY,
            &format!(
                "the target's answer is larger than {} bytes, the most hookscope passes on",
                crate::forward::client::MAX_ANSWER_BODY
            ),
        ),
        Ok(answered) => {
            let status = StatusCode::from_u16(answered.status).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = with_body(status, "application/octet-stream", answered.body.clone());
            let headers = response.headers_mut();
            headers.remove(hyper::header::CONTENT_TYPE);
            for (name, value) in &answered.headers {
                // The headers that frame an answer belong to the target's connection; hyper frames the sender's.
                if FRAMING_HEADERS.contains(&name.as_str()) {
                    continue;
                }
                if let (Ok(name), Ok(value)) = (
                    hyper::header::HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_bytes(value),
                ) {
                    headers.append(name, value);
                }
            }
            response
        }
        Err(failure) => gateway_error(
            if failure.is_timeout() {
                StatusCode::GATEWAY_TIMEOUT
            } else {
                StatusCode::BAD_GATEWAY
            },
            &failure.to_string(),
        ),
    };
    let status = response.status().as_u16();
    // As the sender was answered: a 2xx the target gave but hookscope could not pass on is a failure.
    let forward = if (200..300).contains(&status) {
        ForwardState::Ok
    } else {
        ForwardState::Failed
    };
    let outcome = AttemptOutcome {
        attempt: attempted.attempt,
        delivery: None,
        forward,
        response: Some(ResponseRecord {
            status,
            delay_ms: 0,
            step: None,
            reason: Reason::Proxy,
        }),
    };
    if let Err(error) = state.store.record_attempt(outcome).await {
        tracing::warn!(%error, "a proxied answer could not be recorded");
    }
    endpoint.record(status, received_at_ms);
    let headers = response.headers_mut();
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("content-security-policy", HeaderValue::from_static("sandbox"));
    response
}

fn gateway_error(status: StatusCode, why: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "error": why }))
}
