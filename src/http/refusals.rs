//! Refused requests: what hookscope turned away (a body too large or too slow, too many or too large headers, a
//! request it could not read) is not a capture, but a user needs to see why a provider's delivery failed. Each
//! refusal is logged (throttled like captures), counted by reason, and the newest [`KEPT`] are kept in memory for
//! `GET /_/api/refused` and the page. They are never stored: the request list, ids and duplicate keys do not change,
//! and the counts start again at each start.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;

use hyper::HeaderMap;
use serde::Serialize;

use super::capture_log::CaptureLog;
use crate::record::{format_timestamp, header_text, now_ms};

/// How many refusals are kept to be looked at; older ones are only counted.
pub const KEPT: usize = 1000;

/// The most header bytes (names and values) kept per refusal: enough to see who sent it and what it said it was.
pub const KEPT_HEADER_BYTES: usize = 4 * 1024;

/// The most bytes of a refused request's method and of its path kept: a head may be a hundred kilobytes, and a
/// thousand of them are kept.
pub const KEPT_LINE_BYTES: usize = 1024;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// 413: the body is over `--max-body`.
    BodyTooLarge,
    /// 408: the body did not arrive within `--body-timeout`.
    BodyTimeout,
    /// 400: the body could not be read (a broken chunked encoding, a connection cut mid-body).
    BadBody,
    /// 431: more header lines than `--max-headers`.
    TooManyHeaders,
    /// 431: more bytes of request line and headers than `--max-header-bytes`.
    HeadersTooLarge,
    /// 400, answered by the HTTP parser itself: a request line or header it cannot parse.
    MalformedRequest,
}

impl Reason {
    /// The name used in the API and the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::BodyTooLarge => "body_too_large",
            Reason::BodyTimeout => "body_timeout",
            Reason::BadBody => "bad_body",
            Reason::TooManyHeaders => "too_many_headers",
            Reason::HeadersTooLarge => "headers_too_large",
            Reason::MalformedRequest => "malformed_request",
        }
    }
}

/// One refused request, as far as it was read.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    /// RFC 3339, UTC, millisecond precision.
    pub at: String,
    /// The sender's socket address.
    pub sender: String,
    /// The status it was answered with.
    pub status: u16,
    pub reason: Reason,
    /// What was wrong, as the answer said it.
    pub message: String,
    /// The method and path, when the request line was read.
    pub method: Option<String>,
    pub path: Option<String>,
    /// The headers as received, up to [`KEPT_HEADER_BYTES`]; `[name, value]` pairs.
    pub headers: Vec<(String, String)>,
    /// Some headers were left out to stay within [`KEPT_HEADER_BYTES`].
    pub headers_truncated: bool,
}

impl Refusal {
    /// A refusal of a request whose head was read.
    pub fn of_request(
        remote: SocketAddr,
        status: u16,
        reason: Reason,
        message: String,
        method: &hyper::Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Refusal {
        let mut kept = Vec::new();
        let mut bytes = 0;
        let mut truncated = false;
        for (name, value) in headers {
            bytes += name.as_str().len() + value.len();
            if bytes > KEPT_HEADER_BYTES {
                truncated = true;
                break;
            }
            kept.push((name.as_str().to_owned(), header_text(value.as_bytes())));
        }
        Refusal {
            method: Some(cut(method.as_str())),
            path: Some(cut(path)),
            headers: kept,
            headers_truncated: truncated,
            ..Refusal::of_connection(remote, status, reason, message)
        }
    }

    /// A refusal of a connection whose request could not be read at all.
    pub fn of_connection(remote: SocketAddr, status: u16, reason: Reason, message: String) -> Refusal {
        Refusal {
            at: format_timestamp(now_ms()),
            sender: remote.to_string(),
            status,
            reason,
            message,
            method: None,
            path: None,
            headers: Vec::new(),
            headers_truncated: false,
        }
    }
}

/// At most [`KEPT_LINE_BYTES`] of `text`, cut at a character boundary, with `…` when anything was cut.
fn cut(text: &str) -> String {
    if text.len() <= KEPT_LINE_BYTES {
        return text.to_owned();
    }
    let mut end = KEPT_LINE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The refusals since start: counts by reason, and the newest [`KEPT`].
#[derive(Default)]
pub struct Refusals {
    state: Mutex<Kept>,
    /// Refusals get a log line each up to the same rate as captures, then one line a second counts the rest.
    log: CaptureLog,
}

#[derive(Default)]
struct Kept {
    counts: BTreeMap<Reason, u64>,
    newest: VecDeque<Refusal>,
}

/// What `GET /_/api/refused` answers.
#[derive(Debug, Clone, Serialize)]
pub struct RefusalReport {
    /// How many requests were refused since start, by reason.
    pub counts: BTreeMap<Reason, u64>,
    /// The newest refusals, newest first.
    pub refused: Vec<Refusal>,
}

impl Refusals {
    /// Records a refusal: logs it (throttled), counts it, keeps it.
    pub fn record(&self, refusal: Refusal) {
        let decision = if tracing::enabled!(tracing::Level::INFO) {
            self.log.decide(std::time::Instant::now())
        } else {
            Default::default()
        };
        if decision.unlogged_before > 0 {
            tracing::info!(
                count = decision.unlogged_before,
                "refusals in the last second beyond the ones logged one by one (GET /_/api/refused lists them)"
            );
        }
        if decision.log_this {
            tracing::info!(
                sender = %refusal.sender,
                status = refusal.status,
                reason = refusal.reason.as_str(),
                method = %refusal.method.as_deref().unwrap_or("-"),
                path = %refusal.path.as_deref().unwrap_or("-"),
                "refused: {}",
                refusal.message
            );
        }
        // A poisoned lock only means another recording panicked; the counts are still usable.
        let mut kept = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *kept.counts.entry(refusal.reason).or_default() += 1;
        if kept.newest.len() == KEPT {
            kept.newest.pop_back();
        }
        kept.newest.push_front(refusal);
    }

    /// How many were refused, by reason.
    pub fn counts(&self) -> BTreeMap<Reason, u64> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .counts
            .clone()
    }

    /// The counts and the newest `limit` refusals, newest first.
    pub fn report(&self, limit: usize) -> RefusalReport {
        let kept = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        RefusalReport {
            counts: kept.counts.clone(),
            refused: kept.newest.iter().take(limit).cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(n: usize) -> Refusal {
        Refusal::of_connection(
            "127.0.0.1:9".parse().expect("address"),
            400,
            Reason::MalformedRequest,
            format!("number {n}"),
        )
    }

    #[test]
    fn the_newest_are_kept_and_every_one_is_counted() {
        let refusals = Refusals::default();
        for n in 0..KEPT + 5 {
            refusals.record(refusal(n));
        }
        let report = refusals.report(KEPT);
        assert_eq!(report.refused.len(), KEPT);
        assert_eq!(report.refused[0].message, format!("number {}", KEPT + 4));
        assert_eq!(report.counts[&Reason::MalformedRequest], (KEPT + 5) as u64);
    }

    #[test]
    fn headers_are_kept_up_to_their_budget() {
        let mut headers = HeaderMap::new();
        for n in 0..100 {
            let name = hyper::header::HeaderName::try_from(format!("x-filler-{n}")).expect("name");
            headers.insert(
                name,
                hyper::header::HeaderValue::from_static("0123456789012345678901234567890123456789"),
            );
        }
        let refusal = Refusal::of_request(
            "127.0.0.1:9".parse().expect("address"),
            413,
            Reason::BodyTooLarge,
            "too large".into(),
            &hyper::Method::POST,
            "/hook",
            &headers,
        );
        let kept: usize = refusal
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len())
            .sum();
        assert!(kept <= KEPT_HEADER_BYTES && refusal.headers_truncated, "{kept}");
        let long_path = format!("/{}", "p".repeat(60 * 1024));
        let refusal = Refusal::of_request(
            "127.0.0.1:9".parse().expect("address"),
            413,
            Reason::BodyTooLarge,
            "too large".into(),
            &hyper::Method::POST,
            &long_path,
            &HeaderMap::new(),
        );
        assert!(refusal.path.expect("path").len() <= KEPT_LINE_BYTES + "…".len());
    }
}
