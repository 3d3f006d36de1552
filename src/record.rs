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
