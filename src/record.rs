//! The records hookscope keeps: what capture hands to the store, and the summaries and details the store hands
//! back to the API and the live stream.

use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::endpoints::{Answer, Reason};
use crate::profiles::{BodyKind, Finding, Verdict};
use crate::readable::Decoded;
use crate::signatures::{Check, Explanation, SignatureVerdict};

/// One captured request, inspected and ready to store.
#[derive(Debug, Clone)]
pub struct NewRequest {
    /// Milliseconds since the Unix epoch, UTC.
    pub received_at_ms: i64,
    /// The method exactly as sent.
    pub method: String,
    /// The path, percent-encoding untouched.
    pub path: String,
    /// The raw query string without `?`; empty when there is none.
    pub query: String,
    /// Every header as received (each name's values in their order), moved from the request rather than copied.
    pub headers: hyper::HeaderMap,
    /// The peer's socket address.
    pub remote_addr: String,
    /// The `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// The body exactly as received.
    pub body: Bytes,
    /// What the envelope check found.
    pub verdict: Verdict,
    /// The idempotency key, from the body or a header.
    pub idempotency_key: Option<Vec<u8>>,
    /// The endpoint the request belongs to, if any.
    pub endpoint: Option<String>,
    /// What it is answered (decided before it is stored, sent after).
    pub response: ResponseRecord,
    /// Its signature's verdict.
    pub signature: Check,
    /// Where it stands with its endpoint's forwarding: `pending` when a delivery is owed or a proxied answer awaited.
    pub forward: ForwardState,
    /// The delivery owed to the endpoint's target (mirror mode), stored in the same transaction as the request.
    pub delivery: Option<DeliveryPlan>,
}

/// Where a request stands with forwarding: as the summary and the `forward=` filter show it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardState {
    /// Never forwarded nor replayed.
    #[default]
    None,
    /// A delivery is owed, or an answer awaited.
    Pending,
    /// The last delivery or replay got a 2xx.
    Ok,
    /// The last delivery or replay ended without a 2xx.
    Failed,
}

impl ForwardState {
    pub const ALL: [ForwardState; 4] = [
        ForwardState::None,
        ForwardState::Pending,
        ForwardState::Ok,
        ForwardState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ForwardState::None => "none",
            ForwardState::Pending => "pending",
            ForwardState::Ok => "ok",
            ForwardState::Failed => "failed",
        }
    }

    /// The state of that name; unknown names read as none.
    pub fn from_name(name: &str) -> ForwardState {
        ForwardState::ALL
            .into_iter()
            .find(|state| state.as_str() == name)
            .unwrap_or_default()
    }
}

/// Whether an attempt was the endpoint's forwarding or a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptKind {
    Forward,
    Replay,
}

impl AttemptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptKind::Forward => "forward",
            AttemptKind::Replay => "replay",
        }
    }

    pub fn from_name(name: &str) -> AttemptKind {
        if name == "replay" {
            AttemptKind::Replay
        } else {
            AttemptKind::Forward
        }
    }
}

/// A delivery owed to a target, as the outbox keeps it until it lands or runs out of tries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryPlan {
    /// The target's URL as configured: deliveries to one target go in order of capture.
    pub target: String,
    pub keep_path: bool,
    pub preserve_host: bool,
    pub timeout_ms: u64,
    /// Tries after the first.
    pub retries: u32,
    pub kind: AttemptKind,
    /// A replay's changes: headers and body sent instead of the captured ones, and whether to sign afresh.
    pub edits: Option<ReplayEdits>,
}

/// What a replay changes of the captured request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayEdits {
    /// `[name, value]` pairs replacing the captured headers.
    #[serde(default)]
    pub headers: Option<Vec<(String, String)>>,
    /// The body sent instead of the captured one.
    #[serde(default)]
    pub body: Option<String>,
    /// Sign afresh with the endpoint's first secret and a fresh timestamp.
    #[serde(default)]
    pub resign: bool,
}

/// A delivery waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub request_id: i64,
    pub plan: DeliveryPlan,
    /// How many tries were made.
    pub tries: u32,
    /// Not before this time, in milliseconds since the epoch.
    pub next_at_ms: i64,
}

/// A stored request, as forwarding and replay need it.
#[derive(Debug, Clone)]
pub struct StoredRequest {
    pub id: i64,
    pub method: String,
    pub path: String,
    pub query: String,
    /// `(name in lower case, value bytes)` in the order received.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
    pub remote_addr: String,
    pub received_at_ms: i64,
    /// The endpoint it belongs to, by name.
    pub endpoint: Option<String>,
}

/// An attempt as the store records it.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    pub request_id: i64,
    pub at_ms: i64,
    pub url: String,
    pub kind: AttemptKind,
    pub status: Option<u16>,
    pub headers: Vec<(String, Vec<u8>)>,
    /// Up to 64 KiB of the answer's body.
    pub body: Bytes,
    pub body_size: u64,
    pub duration_ms: u64,
    pub error: Option<String>,
}

/// What becomes of an outbox delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// It is done: delivered (`Ok`) or given up (`Failed`).
    Done(ForwardState),
    /// It is tried again at this time (milliseconds since the epoch).
    Retry { at_ms: i64 },
}

/// An attempt's outcome, written in one transaction: the attempt, what becomes of its delivery, the request's
/// forwarding state, and (proxy mode) what its sender was answered.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub attempt: NewAttempt,
    /// The outbox delivery the attempt was for, and what becomes of it.
    pub delivery: Option<(i64, u32, Settled)>,
    pub forward: ForwardState,
    pub response: Option<ResponseRecord>,
}

/// One attempt to deliver a request: what was sent where, and what came back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// RFC 3339.
    pub at: String,
    pub url: String,
    pub kind: AttemptKind,
    /// The target's status; `null` when it gave none.
    pub status: Option<u16>,
    /// `[name, value]` pairs of the target's answer.
    pub headers: Vec<(String, String)>,
    /// The answer's body (up to 64 KiB), as text when it is UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The answer's body in base64 when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    pub body_size: u64,
    pub duration_ms: u64,
    /// Why there was no answer (or why it could not be sent).
    pub error: Option<String>,
}

impl Attempt {
    /// Builds an attempt's record, choosing text or base64 for the answer's body.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        at_ms: i64,
        url: String,
        kind: AttemptKind,
        status: Option<u16>,
        headers: &[(String, Vec<u8>)],
        body: &[u8],
        body_size: u64,
        duration_ms: u64,
        error: Option<String>,
    ) -> Attempt {
        let (body, body_base64) = match std::str::from_utf8(body) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(body))),
        };
        Attempt {
            at: format_timestamp(at_ms),
            url,
            kind,
            status,
            headers: headers
                .iter()
                .map(|(name, value)| (name.clone(), header_text(value)))
                .collect(),
            body,
            body_base64,
            body_size,
            duration_ms,
            error,
        }
    }
}

/// What a captured request was answered, and why.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResponseRecord {
    pub status: u16,
    /// How long hookscope waited, after the commit, before answering.
    pub delay_ms: u64,
    /// Which of the endpoint's steps gave the answer (from 0); `None` without an endpoint.
    pub step: Option<usize>,
    /// `step` (the endpoint's), or `default` (`--status`, no endpoint).
    pub reason: Reason,
}

impl ResponseRecord {
    /// The record of an answer.
    pub fn of(answer: &Answer) -> ResponseRecord {
        ResponseRecord {
            status: answer.status,
            delay_ms: u64::try_from(answer.delay.as_millis()).unwrap_or(u64::MAX),
            step: answer.step,
            reason: answer.reason,
        }
    }
}

/// What storing a request gives back to the sender: its id, and the first request with the same idempotency key.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Stored {
    pub id: i64,
    pub duplicate_of: Option<i64>,
}

/// The short form of a stored request, as the list API and the live stream show it (and a client reads back).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    /// Monotonically increasing; never reused, even after deletes.
    pub id: i64,
    /// RFC 3339, UTC, millisecond precision.
    pub received_at: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    pub body_size: i64,
    /// `empty`, `json`, `text` or `binary`: how a viewer should show the body.
    pub body_kind: BodyKind,
    /// The name of the profile the body was checked against.
    pub envelope: Option<String>,
    pub valid: Option<bool>,
    pub event: Option<String>,
    pub error_count: i64,
    pub warning_count: i64,
    pub idempotency_key: Option<String>,
    /// The id of the first request that carried the same idempotency key.
    pub duplicate_of: Option<i64>,
    /// The endpoint it belongs to, by name.
    pub endpoint: Option<String>,
    /// What it was answered.
    pub response: ResponseRecord,
    /// Its signature's verdict: `unsigned`, `unchecked`, `valid` or `invalid`.
    #[serde(default)]
    pub signature: SignatureVerdict,
    /// Where it stands with forwarding: `none`, `pending`, `ok` or `failed`.
    #[serde(default)]
    pub forward: ForwardState,
    /// The environment it names (`staging`), by its profile.
    #[serde(default)]
    pub environment: Option<String>,
}

impl Summary {
    /// A summary of an empty `POST` with nothing to check, for tests to adjust.
    #[cfg(test)]
    pub fn example(id: i64, path: &str) -> Summary {
        Summary {
            id,
            received_at: "2026-11-22T10:15:30.123Z".into(),
            method: "POST".into(),
            path: path.into(),
            query: String::new(),
            content_type: None,
            body_size: 0,
            body_kind: BodyKind::Empty,
            envelope: None,
            valid: None,
            event: None,
            error_count: 0,
            warning_count: 0,
            idempotency_key: None,
            duplicate_of: None,
            endpoint: None,
            response: ResponseRecord::of(&Answer::default_with(200)),
            signature: SignatureVerdict::Unsigned,
            forward: ForwardState::None,
            environment: None,
        }
    }
}

/// A stored request in full.
#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    #[serde(flatten)]
    pub summary: Summary,
    /// `[name, value]` pairs; values that are not UTF-8 are decoded as ISO-8859-1.
    pub headers: Vec<(String, String)>,
    pub remote_addr: String,
    /// The body as text, when it is valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body in standard base64, when it is not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// The body decompressed, when it was sent gzip- or deflate-encoded; filled by the API, never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<Decoded>,
    /// A form body's fields, `[name, value]`; filled by the API, never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub form: Option<Vec<(String, String)>>,
    /// What checking its signature found; `null` when it is unsigned.
    pub signature_check: Option<SignatureCheck>,
    /// Every attempt to deliver it (forwarded or replayed), oldest first.
    pub forwards: Vec<Attempt>,
    /// Where its idempotency key came from: `body /idempotency_key`, `header X-GitHub-Delivery`.
    pub key_source: Option<String>,
}

/// A capture's signature check, as the detail shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCheck {
    /// The scheme checked (or, for `unchecked`, seen).
    pub scheme: Option<String>,
    /// `null` when unchecked.
    pub valid: Option<bool>,
    /// The plain reason found at capture.
    pub reason: Option<String>,
    /// The masked form of the secret that matched.
    pub secret: Option<String>,
    /// Why, in full: filled by the API when the detail is read, never stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

impl SignatureCheck {
    /// The detail's view of a stored check; `None` for an unsigned request.
    pub fn of(check: Check) -> Option<SignatureCheck> {
        let valid = match check.verdict {
            SignatureVerdict::Unsigned => return None,
            SignatureVerdict::Unchecked => None,
            SignatureVerdict::Valid => Some(true),
            SignatureVerdict::Invalid => Some(false),
        };
        Some(SignatureCheck {
            scheme: check.scheme,
            valid,
            reason: check.reason,
            secret: check.secret,
            explanation: None,
        })
    }
}

impl Detail {
    /// Builds the detail view from stored parts, choosing text or base64 for the body.
    pub fn new(
        summary: Summary,
        headers: Vec<(String, Vec<u8>)>,
        remote_addr: String,
        body: Vec<u8>,
        errors: Vec<Finding>,
        warnings: Vec<Finding>,
    ) -> Detail {
        let (body, body_base64) = match String::from_utf8(body) {
            Ok(text) => (Some(text), None),
            Err(not_text) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(not_text.as_bytes())),
            ),
        };
        Detail {
            summary,
            headers: headers
                .into_iter()
                .map(|(name, value)| (name, header_text(&value)))
                .collect(),
            remote_addr,
            body,
            body_base64,
            errors,
            warnings,
            decoded: None,
            form: None,
            signature_check: None,
            forwards: Vec::new(),
            key_source: None,
        }
    }

    /// The body's bytes, as stored.
    pub fn body_bytes(&self) -> Vec<u8> {
        match (&self.body, &self.body_base64) {
            (Some(text), _) => text.as_bytes().to_vec(),
            (None, Some(encoded)) => base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap_or_default(),
            (None, None) => Vec::new(),
        }
    }
}

/// Header bytes as text: UTF-8 when they are, otherwise ISO-8859-1 (one character per byte, as HTTP has always
/// allowed), so that no byte is replaced by U+FFFD and nothing is lost.
pub fn header_text(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text) => text.to_owned(),
        Err(_) => value.iter().map(|&byte| char::from(byte)).collect(),
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC with exactly three fraction digits.
pub fn format_timestamp(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_three_fraction_digits() {
        assert_eq!(format_timestamp(1_795_342_530_123), "2026-11-22T10:15:30.123Z");
        assert_eq!(format_timestamp(1_795_342_530_000), "2026-11-22T10:15:30.000Z");
    }

    #[test]
    fn non_utf8_header_bytes_read_as_latin1() {
        assert_eq!(header_text(b"caf\xe9"), "café");
        assert_eq!(header_text("café".as_bytes()), "café");
        assert!(!header_text(b"\xff\xfe").contains('\u{fffd}'));
    }
}
