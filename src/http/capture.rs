//! Capture: every request outside `/_/` (and the page at `/`) is read, inspected, committed, and only then
//! answered, so a 2xx always means the request is on disk.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::AppState;
use super::capture_log::Decision;
use super::error::ApiError;
use super::refusals::{Reason, Refusal};
use super::response::{Body, empty, json, with_body};
use crate::endpoints::forward::Mode;
use crate::endpoints::{Answer, Endpoint, Reason as AnswerReason, RequestFacts, template};
use crate::forward::plan_for;
use crate::idempotency::request_key_with_source;
use crate::profiles::{Choice, Finding, Verdict, inspect_request};
use crate::record::{AttemptKind, ForwardState, NewRequest, ResponseRecord, StoredRequest, header_text, now_ms};
use crate::signatures::reading::{Message, OwnedMessage};
use crate::signatures::{self, Check, Verification};

/// Bodies larger than this are inspected on a blocking thread, so parsing a large JSON document never stalls
/// the tasks serving other connections.
const INLINE_INSPECTION_LIMIT: usize = 64 * 1024;

/// Captures one request and answers it: with its endpoint's step, or else with `--status` and
/// `{"id": ..., "duplicate_of": ...}`.
pub async fn capture(
    state: &AppState,
    request: Request<Incoming>,
    remote: SocketAddr,
) -> Result<Response<Body>, ApiError> {
    let received_at_ms = now_ms();
    let (parts, body) = request.into_parts();
    let limit = state.config.limits.max_body;
    // Refuse a declared length over the limit before reading a byte (and before any `100 Continue`).
    let read = if body.size_hint().lower() > limit {
        Err(ApiError::PayloadTooLarge { limit })
    } else {
        read_body(body, limit, state).await
    };
    let body = match read {
        Ok(body) => body,
        Err(refused) => {
            record_refusal(state, remote, &parts, &refused);
            return Err(refused);
        }
    };

    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map(|value| header_text(value.as_bytes()));
    let path = match parts.uri.path() {
        "" => parts
            .uri
            .authority()
            .map(|authority| authority.to_string())
            .unwrap_or_default(),
        path => path.to_owned(),
    };
    let found = state.endpoints.find(&path);
    let endpoint = found.as_deref();
    let header_pairs: Vec<(&str, &[u8])> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    let choice = state
        .profiles
        .choice(endpoint.and_then(|endpoint| endpoint.profile.as_deref()));
    let message = Message {
        headers: &header_pairs,
        body: &body,
        path: &path,
        query: parts.uri.query().unwrap_or_default(),
        received_at_ms,
    };
    let (mut verdict, signature) =
        examine(state, found.as_ref(), &message, &body, content_type.as_deref(), choice).await?;
    if let Some(endpoint) = endpoint {
        refuse_undefined_profile(state, endpoint, &mut verdict);
        warn_unsubscribed(endpoint, &mut verdict);
        warn_other_environment(endpoint, &mut verdict);
    }
    let keyed = request_key_with_source(
        verdict.idempotency_key.as_deref().zip(verdict.key_source.as_deref()),
        header_pairs.iter().copied(),
    );
    let (idempotency_key, key_source) = keyed.unzip();
    verdict.key_source = key_source;
    // What the log line needs, kept before the request is handed to the store.
    let size = body.len();
    let envelope = verdict.envelope.clone().unwrap_or_else(|| "none".to_owned());
    let valid = verdict.valid;

    let remote_addr = sender(&parts.headers, remote, state.config.trust_forwarded);
    // The answer is decided before the request is stored, so the record says what it was answered.
    let answer = match endpoint {
        Some(endpoint) => endpoint.answer(&RequestFacts {
            headers: &header_pairs,
            key: idempotency_key.as_deref(),
        }),
        None => Answer::default_with(state.config.response_status.as_u16()),
    };
    drop(header_pairs);
    // Forwarded only when a step answered: a refusal hookscope simulates (410, 401, chaos) goes no further.
    let forwarding = endpoint
        .and_then(|endpoint| endpoint.forward.as_ref())
        .filter(|_| answer.reason == AnswerReason::Step);
    let proxied = forwarding.filter(|forwarding| forwarding.mode == Mode::Proxy);
    let answer = if proxied.is_some() { Answer::proxied() } else { answer };
    let delivery = forwarding
        .filter(|forwarding| forwarding.mode == Mode::Mirror)
        .map(|forwarding| plan_for(forwarding, AttemptKind::Forward));
    let to_proxy = proxied.map(|_| StoredRequest {
        id: 0,
        method: parts.method.as_str().to_owned(),
        path: path.clone(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect(),
        body: body.clone(),
        remote_addr: remote_addr.clone(),
        received_at_ms,
        endpoint: endpoint.map(|endpoint| endpoint.name.clone()),
    });
    let woken_target = delivery.as_ref().map(|plan| plan.target.clone());
    let template_input = match answer.body.as_deref() {
        Some(template) => Some(TemplateInput::read(template, &parts, &body).await),
        None => None,
    };
    let stored = state
        .store
        .insert(NewRequest {
            received_at_ms,
            method: parts.method.as_str().to_owned(),
            path,
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts.headers,
            remote_addr,
            content_type,
            body,
            verdict,
            idempotency_key,
            endpoint: endpoint.map(|endpoint| endpoint.name.clone()),
            response: ResponseRecord::of(&answer),
            signature,
            forward: if forwarding.is_some() {
                ForwardState::Pending
            } else {
                ForwardState::None
            },
            delivery,
        })
        .await?;
    if let Some(target) = woken_target {
        state.forwarder.wake(&target);
    }
    // Counted once stored: a request refused by the store was not answered its step.
    if let Some(endpoint) = endpoint
        && proxied.is_none()
    {
        endpoint.record(answer.status, received_at_ms);
    }
    let decision = if tracing::enabled!(tracing::Level::INFO) {
        state.capture_log.decide(std::time::Instant::now())
    } else {
        Decision::default()
    };
    if decision.unlogged_before > 0 {
        tracing::info!(
            count = decision.unlogged_before,
            "captures in the last second beyond the ones logged one by one (the page shows every request)"
        );
    }
    if decision.log_this {
        tracing::info!(
            id = stored.id,
            method = %parts.method,
            path = %parts.uri.path(),
            size,
            %envelope,
            valid = %verdict_word(valid),
            duplicate_of = %stored.duplicate_of.map_or_else(|| "none".to_owned(), |id| id.to_string()),
            "captured"
        );
    }

    if let (Some(endpoint), Some(forwarding), Some(mut request)) = (endpoint, proxied, to_proxy) {
        request.id = stored.id;
        return Ok(super::proxy::answer(state, endpoint, request, forwarding, received_at_ms).await);
    }

    // Committed first; then the step's delay, which ties up no writer and no thread, only this connection's task.
    if !answer.delay.is_zero() {
        // Shutdown cuts a delay short: the capture is committed, and the sender gets its answer at once.
        tokio::select! {
            () = tokio::time::sleep(answer.delay) => {}
            () = state.shutdown.cancelled() => {}
        }
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        empty(status)
    } else {
        match (&answer.body, &template_input) {
            (Some(template), Some(input)) => {
                let json_answer = answer.headers.iter().any(|(name, value)| {
                    name.eq_ignore_ascii_case("content-type") && crate::profiles::declares_json(value)
                });
                let request = template::Request {
                    id: stored.id,
                    headers: &input.headers,
                    json: input.json.as_ref(),
                    query: &input.query,
                };
                with_body(
                    status,
                    "text/plain; charset=utf-8",
                    template::render(template, &request, json_answer),
                )
            }
            _ => json(status, &stored),
        }
    };
    let headers = response.headers_mut();
    // Framing headers (`Content-Length`, ...) were refused when the endpoint was defined: hyper frames the answer.
    for (name, value) in &answer.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    // Served from the inspector's own origin, and the answer may echo what a sender wrote.
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("content-security-policy", HeaderValue::from_static("sandbox"));
    Ok(response)
}

/// What an answer's body template reads of the request, taken before the request goes to the store.
struct TemplateInput {
    headers: Vec<(String, String)>,
    json: Option<serde_json::Value>,
    query: String,
}

impl TemplateInput {
    /// What `template` may read; the body is parsed as JSON only when the template reads it.
    async fn read(template: &str, parts: &hyper::http::request::Parts, body: &Bytes) -> TemplateInput {
        let json = if template::reads_json(template) {
            off_thread_if_large(body.clone(), |body| serde_json::from_slice(body).ok())
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        TemplateInput {
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), header_text(value.as_bytes())))
                .collect(),
            json,
            query: parts.uri.query().unwrap_or_default().to_owned(),
        }
    }
}

/// Marks a request invalid when its endpoint requires a profile that is not defined (a custom one deleted since).
fn refuse_undefined_profile(state: &AppState, endpoint: &Endpoint, verdict: &mut Verdict) {
    let Some(name) = endpoint.profile.as_deref() else {
        return;
    };
    if state.profiles.by_name(name).is_none() {
        verdict.valid = Some(false);
        verdict.envelope = Some(name.to_owned());
        verdict.errors.insert(
            0,
            Finding {
                path: String::new(),
                message: format!(
                    "endpoint {} requires the profile {name}, which is not defined (GET /_/api/profiles lists them)",
                    endpoint.name
                ),
            },
        );
    }
}

/// Warns when an endpoint expects an environment and the request names another.
fn warn_other_environment(endpoint: &Endpoint, verdict: &mut Verdict) {
    let (Some(expected), Some(actual)) = (endpoint.environment.as_deref(), verdict.environment.as_deref()) else {
        return;
    };
    if expected != actual {
        verdict.warnings.push(Finding {
            path: String::new(),
            message: format!(
                "environment: this request is {actual}, and endpoint {} expects {expected}",
                endpoint.name
            ),
        });
    }
}

/// Warns when an endpoint subscribes to some events and the request's is not among them.
fn warn_unsubscribed(endpoint: &Endpoint, verdict: &mut Verdict) {
    if endpoint.events.is_empty() {
        return;
    }
    let event = verdict.event.as_deref();
    if event.is_some_and(|event| endpoint.events.iter().any(|subscribed| subscribed == event)) {
        return;
    }
    verdict.warnings.push(Finding {
        path: String::new(),
        message: format!(
            "not subscribed: endpoint {} subscribes to {}, and this request's event is {}",
            endpoint.name,
            endpoint.events.join(", "),
            event.unwrap_or("none")
        ),
    });
}

/// Records a request whose body was refused, with what was read of it.
fn record_refusal(state: &AppState, remote: SocketAddr, parts: &hyper::http::request::Parts, refused: &ApiError) {
    let reason = match refused {
        ApiError::PayloadTooLarge { .. } => Reason::BodyTooLarge,
        ApiError::BodyTimeout => Reason::BodyTimeout,
        _ => Reason::BadBody,
    };
    state.refusals.record(Refusal::of_request(
        remote,
        refused.status().as_u16(),
        reason,
        refused.to_string(),
        &parts.method,
        parts.uri.path(),
        &parts.headers,
    ));
}

/// Reads the whole body, refusing more than `limit` bytes and bodies slower than the body timeout.
async fn read_body(body: Incoming, limit: u64, state: &AppState) -> Result<Bytes, ApiError> {
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let collected = tokio::time::timeout(
        state.config.limits.body_timeout,
        Limited::new(body, limit_usize).collect(),
    )
    .await
    .map_err(|_| ApiError::BodyTimeout)?;
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(ApiError::PayloadTooLarge { limit }),
        Err(error) => Err(ApiError::BadBody(error.to_string())),
    }
}

/// Checks a request against its profile and its signature against its endpoint's secrets: here, or both on one
/// blocking thread when the body is large, so that parsing, validating and hashing a large document never stalls
/// the tasks serving other connections.
async fn examine(
    state: &AppState,
    endpoint: Option<&Arc<Endpoint>>,
    message: &Message<'_>,
    body: &Bytes,
    content_type: Option<&str>,
    choice: Choice,
) -> Result<(Verdict, Check), ApiError> {
    let public_url = state.config.public_url.as_deref();
    if body.len() <= INLINE_INSPECTION_LIMIT {
        let verification = endpoint.and_then(|endpoint| endpoint.verify.as_ref());
        return Ok(examine_here(message, content_type, &choice, verification, public_url));
    }
    let endpoint = endpoint.cloned();
    let public_url = public_url.map(str::to_owned);
    let content_type = content_type.map(str::to_owned);
    let owned = OwnedMessage::of(message, body.clone());
    tokio::task::spawn_blocking(move || {
        let verification = endpoint.as_ref().and_then(|endpoint| endpoint.verify.as_ref());
        owned.with(|message| {
            examine_here(
                message,
                content_type.as_deref(),
                &choice,
                verification,
                public_url.as_deref(),
            )
        })
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))
}

/// The profile check and the signature check, on this thread.
fn examine_here(
    message: &Message<'_>,
    content_type: Option<&str>,
    choice: &Choice,
    verification: Option<&Verification>,
    public_url: Option<&str>,
) -> (Verdict, Check) {
    (
        inspect_request(message.body, content_type, message.headers, choice),
        signatures::assess(verification, message, public_url),
    )
}

/// Runs `work` on the body here, or on a blocking thread when the body is large, so that parsing a large document
/// never stalls the tasks serving other connections.
async fn off_thread_if_large<T: Send + 'static>(
    body: Bytes,
    work: impl FnOnce(&[u8]) -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    if body.len() <= INLINE_INSPECTION_LIMIT {
        return Ok(work(&body));
    }
    tokio::task::spawn_blocking(move || work(&body)).await
}

/// Who sent a capture: the peer, or with `--trust-forwarded` the client the proxy or tunnel in front of hookscope
/// names: the last `for=` of `Forwarded` (RFC 7239), or else the last `X-Forwarded-For` address, when it is an IP
/// address. The last, because a proxy appends what it saw to whatever the sender already wrote there.
fn sender(headers: &hyper::HeaderMap, remote: SocketAddr, trust_forwarded: bool) -> String {
    if !trust_forwarded {
        return remote.to_string();
    }
    let last_line = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
    };
    let forwarded = last_line("forwarded").and_then(|value| {
        value.split([',', ';']).rev().find_map(|part| {
            let (name, value) = part.trim().split_once('=')?;
            name.eq_ignore_ascii_case("for")
                .then(|| value.trim().trim_matches('"').to_owned())
        })
    });
    let forwarded_for = || {
        last_line("x-forwarded-for")
            .and_then(|value| value.rsplit(',').next())
            .map(|last| last.trim().to_owned())
    };
    forwarded
        .or_else(forwarded_for)
        .filter(|client| client_address(client))
        .unwrap_or_else(|| remote.to_string())
}

/// Whether a forwarded client reads as an IP address, with or without a port (`203.0.113.7`, `[2001:db8::1]:4711`).
fn client_address(client: &str) -> bool {
    client.parse::<std::net::IpAddr>().is_ok()
        || client.parse::<SocketAddr>().is_ok()
        || client
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .is_some_and(|inner| inner.parse::<std::net::Ipv6Addr>().is_ok())
}

/// A verdict in the log as a plain word: `true`, `false`, or `unchecked` when nothing was checked.
fn verdict_word(valid: Option<bool>) -> &'static str {
    match valid {
        Some(true) => "true",
        Some(false) => "false",
        None => "unchecked",
    }
}
