//! One filter over captured requests. It is parsed from a query string (the list API and the live stream take the
//! same parameters), turned into SQL by the store for the list, and matched against a single request in memory for
//! the live stream, so that what a filter means is written once.

use std::borrow::Cow;

use crate::names::valid_name;
use crate::profiles::registry;
use crate::record::{ForwardState, Summary};
use crate::signatures::SignatureVerdict;

/// Which profile a request must have been checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileFilter {
    /// The profile of this name.
    Is(String),
    /// Requests that follow no profile.
    None,
}

impl ProfileFilter {
    /// The word the filter's parameter takes for requests that follow no profile.
    pub const NONE: &'static str = "none";
}

/// A header a request must carry: by name (any case), and, when given, with exactly this value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFilter {
    /// Lower case, as header names are stored.
    pub name: String,
    /// The exact value; `None` asks only that the header is there.
    pub value: Option<String>,
}

impl HeaderFilter {
    /// Whether one header, as stored (name in lower case, value as bytes), is the one asked for.
    pub fn matches(&self, name: &str, value: &[u8]) -> bool {
        name == self.name && self.value.as_ref().is_none_or(|wanted| wanted.as_bytes() == value)
    }
}

/// What only the stored request can tell: its headers and its body.
#[derive(Debug, Clone, Copy)]
pub struct Payload<'a> {
    /// `(name in lower case, value bytes)` pairs, as received.
    pub headers: &'a [(String, Vec<u8>)],
    pub body: &'a [u8],
}

/// A filter's conditions; each is optional and they combine with AND. An empty filter matches every request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// The exact method, upper case.
    pub method: Option<String>,
    /// A plain string prefix of the path (no wildcards: `%` and `_` mean themselves).
    pub path_prefix: Option<String>,
    /// The profile the body was checked against (`envelope` in the API).
    pub envelope: Option<ProfileFilter>,
    pub valid: Option<bool>,
    /// `Some(true)`: duplicates only; `Some(false)`: first sightings and key-less requests only.
    pub duplicate: Option<bool>,
    /// The exact event name.
    pub event: Option<String>,
    /// A case-insensitive substring of the path, the query or the body (`q` in the API). Only ASCII letters fold
    /// case, as SQLite's `lower()` does.
    pub text: Option<String>,
    /// A header the request carries (`header=NAME:VALUE`, or `header=NAME` for any value).
    pub header: Option<HeaderFilter>,
    /// The endpoint the request belongs to, by name.
    pub endpoint: Option<String>,
    /// What the request was answered: one status (`status=500`) or a class (`status=5xx`).
    pub status: Option<StatusFilter>,
    /// One idempotency key: a delivery and all its retries.
    pub key: Option<String>,
    /// The signature's verdict.
    pub signature: Option<SignatureVerdict>,
    /// Where it stands with forwarding.
    pub forward: Option<ForwardState>,
    /// The environment its profile names (`staging`).
    pub environment: Option<String>,
    /// Received at or after this time, in milliseconds since the epoch (`since=` in RFC 3339).
    pub since_ms: Option<i64>,
    /// Received before this time (`until=` in RFC 3339).
    pub until_ms: Option<i64>,
}

/// A status, or a class of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Exactly this status.
    Is(u16),
    /// `5xx`: from 500 to 599.
    Class(u16),
}

impl StatusFilter {
    /// The statuses it takes, both ends included.
    pub fn range(self) -> (u16, u16) {
        match self {
            StatusFilter::Is(status) => (status, status),
            StatusFilter::Class(class) => (class * 100, class * 100 + 99),
        }
    }
}

/// A filter parameter with a value it does not take; reads as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{parameter}={value:?} is not allowed; expected {expected}")]
pub struct FilterError {
    pub parameter: &'static str,
    pub value: String,
    pub expected: String,
}

impl Filter {
    /// The query parameters a filter takes; others are left to the caller (`limit`, `before`, `after`, ...).
    pub const PARAMETERS: [&'static str; 16] = [
        "method",
        "path",
        "envelope",
        "valid",
        "duplicate",
        "event",
        "q",
        "header",
        "endpoint",
        "status",
        "key",
        "signature",
        "forward",
        "environment",
        "since",
        "until",
    ];

    /// Reads the filter from a raw query string (`valid=false&event=invoices.created`). An empty value is no
    /// condition; when a parameter is given twice, the last one counts.
    pub fn from_query(raw: &str) -> Result<Filter, FilterError> {
        Filter::from_pairs(form_urlencoded::parse(raw.as_bytes()))
    }

    /// Reads the filter from decoded `name=value` pairs, ignoring names it does not take.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    ) -> Result<Filter, FilterError> {
        let mut filter = Filter::default();
        for (name, value) in pairs {
            let text = (!value.is_empty()).then(|| value.clone().into_owned());
            match name.as_ref() {
                "method" => filter.method = text.map(|method| method.to_ascii_uppercase()),
                "path" => filter.path_prefix = text,
                "envelope" => filter.envelope = text.map(|name| parse_profile(&name)).transpose()?,
                "valid" => filter.valid = parse_boolean("valid", &value)?,
                "duplicate" => filter.duplicate = parse_boolean("duplicate", &value)?,
                "event" => filter.event = text,
                "q" => filter.text = text,
                "header" => filter.header = text.map(|header| parse_header(&header)).transpose()?,
                "endpoint" => filter.endpoint = text,
                "status" => filter.status = text.map(|status| parse_status(&status)).transpose()?,
                "key" => filter.key = text,
                "signature" => {
                    filter.signature = text
                        .map(|word| parse_word("signature", &word, &SignatureVerdict::ALL, SignatureVerdict::as_str))
                        .transpose()?;
                }
                "forward" => {
                    filter.forward = text
                        .map(|word| parse_word("forward", &word, &ForwardState::ALL, ForwardState::as_str))
                        .transpose()?;
                }
                "environment" => filter.environment = text,
                "since" => filter.since_ms = text.map(|time| parse_time("since", &time)).transpose()?,
                "until" => filter.until_ms = text.map(|time| parse_time("until", &time)).transpose()?,
                _ => {}
            }
        }
        Ok(filter)
    }

    /// Whether the filter has no condition.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether the filter asks something of a request that only its stored headers or body can answer.
    pub fn needs_payload(&self) -> bool {
        self.text.is_some() || self.header.is_some()
    }

    /// Whether a captured request matches, given its summary and, when at hand, its headers and body. `None` when
    /// only those can tell (a header filter, or a text search that neither the path nor the query matches).
    pub fn matches(&self, summary: &Summary, payload: Option<Payload<'_>>) -> Option<bool> {
        let decided = self.method.as_ref().is_none_or(|method| *method == summary.method)
            && self
                .path_prefix
                .as_ref()
                .is_none_or(|prefix| summary.path.starts_with(prefix.as_str()))
            && self.envelope.as_ref().is_none_or(|wanted| match wanted {
                ProfileFilter::Is(name) => summary.envelope.as_deref() == Some(name.as_str()),
                ProfileFilter::None => summary.envelope.is_none(),
            })
            && self.valid.is_none_or(|valid| summary.valid == Some(valid))
            && self
                .duplicate
                .is_none_or(|duplicate| summary.duplicate_of.is_some() == duplicate)
            && self
                .event
                .as_ref()
                .is_none_or(|event| summary.event.as_deref() == Some(event.as_str()))
            && self
                .endpoint
                .as_ref()
                .is_none_or(|endpoint| summary.endpoint.as_deref() == Some(endpoint.as_str()))
            && self.status.is_none_or(|status| {
                let (low, high) = status.range();
                (low..=high).contains(&summary.response.status)
            })
            && self
                .key
                .as_ref()
                .is_none_or(|key| summary.idempotency_key.as_deref() == Some(key.as_str()))
            && self.signature.is_none_or(|verdict| summary.signature == verdict)
            && self.forward.is_none_or(|state| summary.forward == state)
            && self
                .environment
                .as_ref()
                .is_none_or(|environment| summary.environment.as_deref() == Some(environment.as_str()))
            && (self.since_ms.is_none() && self.until_ms.is_none() || {
                let received = chrono::DateTime::parse_from_rfc3339(&summary.received_at)
                    .map_or(0, |time| time.timestamp_millis());
                self.since_ms.is_none_or(|since| received >= since)
                    && self.until_ms.is_none_or(|until| received < until)
            });
        if !decided {
            return Some(false);
        }
        if let Some(header) = &self.header {
            let payload = payload?;
            if !payload.headers.iter().any(|(name, value)| header.matches(name, value)) {
                return Some(false);
            }
        }
        let Some(text) = &self.text else {
            return Some(true);
        };
        let needle = text.to_ascii_lowercase();
        if contains_folded(summary.path.as_bytes(), &needle) || contains_folded(summary.query.as_bytes(), &needle) {
            return Some(true);
        }
        payload.map(|payload| contains_folded(payload.body, &needle))
    }

    /// The filter as query parameters, for a client that passes it on (`valid=false&event=user.new`).
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        let boolean = |value: bool| if value { "true" } else { "false" };
        if let Some(method) = &self.method {
            query.append_pair("method", method);
        }
        if let Some(prefix) = &self.path_prefix {
            query.append_pair("path", prefix);
        }
        match &self.envelope {
            Some(ProfileFilter::Is(name)) => {
                query.append_pair("envelope", name);
            }
            Some(ProfileFilter::None) => {
                query.append_pair("envelope", ProfileFilter::NONE);
            }
            None => {}
        }
        if let Some(valid) = self.valid {
            query.append_pair("valid", boolean(valid));
        }
        if let Some(duplicate) = self.duplicate {
            query.append_pair("duplicate", boolean(duplicate));
        }
        if let Some(event) = &self.event {
            query.append_pair("event", event);
        }
        if let Some(text) = &self.text {
            query.append_pair("q", text);
        }
        if let Some(header) = &self.header {
            match &header.value {
                Some(value) => query.append_pair("header", &format!("{}:{value}", header.name)),
                None => query.append_pair("header", &header.name),
            };
        }
        if let Some(endpoint) = &self.endpoint {
            query.append_pair("endpoint", endpoint);
        }
        match self.status {
            Some(StatusFilter::Is(status)) => {
                query.append_pair("status", &status.to_string());
            }
            Some(StatusFilter::Class(class)) => {
                query.append_pair("status", &format!("{class}xx"));
            }
            None => {}
        }
        if let Some(key) = &self.key {
            query.append_pair("key", key);
        }
        if let Some(verdict) = self.signature {
            query.append_pair("signature", verdict.as_str());
        }
        if let Some(state) = self.forward {
            query.append_pair("forward", state.as_str());
        }
        if let Some(environment) = &self.environment {
            query.append_pair("environment", environment);
        }
        for (name, time) in [("since", self.since_ms), ("until", self.until_ms)] {
            if let Some(time) = time {
                query.append_pair(name, &crate::record::format_timestamp(time));
            }
        }
        query.finish()
    }
}

fn parse_boolean(parameter: &'static str, value: &str) -> Result<Option<bool>, FilterError> {
    match value {
        "" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        _ => Err(FilterError {
            parameter,
            value: value.to_owned(),
            expected: "true or false".to_owned(),
        }),
    }
}

/// `NAME:VALUE` or `NAME`: the name any case, a valid header name; the value with the spaces around it dropped, as
/// HTTP drops them.
fn parse_header(text: &str) -> Result<HeaderFilter, FilterError> {
    let (name, value) = match text.split_once(':') {
        Some((name, value)) => (name.trim(), Some(value.trim().to_owned())),
        None => (text.trim(), None),
    };
    match hyper::header::HeaderName::from_bytes(name.as_bytes()) {
        Ok(name) => Ok(HeaderFilter {
            name: name.as_str().to_owned(),
            value,
        }),
        Err(_) => Err(FilterError {
            parameter: "header",
            value: text.to_owned(),
            expected: "NAME:VALUE or NAME, with a header name such as X-GitHub-Event".to_owned(),
        }),
    }
}

/// One of a fixed set of words (`signature=invalid`, `forward=failed`), each value's `name`.
fn parse_word<T: Copy>(
    parameter: &'static str,
    text: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Result<T, FilterError> {
    all.iter().copied().find(|value| name(*value) == text).ok_or_else(|| {
        let words: Vec<&str> = all.iter().map(|value| name(*value)).collect();
        let expected = match words.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        FilterError {
            parameter,
            value: text.to_owned(),
            expected,
        }
    })
}

/// `500`, or a class such as `5xx`.
fn parse_status(text: &str) -> Result<StatusFilter, FilterError> {
    let refused = || FilterError {
        parameter: "status",
        value: text.to_owned(),
        expected: "a status from 100 to 599, or a class such as 5xx".to_owned(),
    };
    if let Some(class) = text.strip_suffix("xx").or_else(|| text.strip_suffix("XX")) {
        let class: u16 = class.parse().map_err(|_| refused())?;
        return (1..=5)
            .contains(&class)
            .then_some(StatusFilter::Class(class))
            .ok_or_else(refused);
    }
    let status: u16 = text.parse().map_err(|_| refused())?;
    (100..600)
        .contains(&status)
        .then_some(StatusFilter::Is(status))
        .ok_or_else(refused)
}

/// An RFC 3339 time (`2026-12-06T09:00:00Z`, any offset) as milliseconds since the epoch.
fn parse_time(parameter: &'static str, text: &str) -> Result<i64, FilterError> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|time| time.timestamp_millis())
        .map_err(|_| FilterError {
            parameter,
            value: text.to_owned(),
            expected: "an RFC 3339 time such as 2026-12-06T09:00:00Z".to_owned(),
        })
}

fn parse_profile(name: &str) -> Result<ProfileFilter, FilterError> {
    if name == ProfileFilter::NONE {
        return Ok(ProfileFilter::None);
    }
    // Any profile's name, built in or custom (a custom one may be defined later, or gone with its requests).
    if valid_name(name) {
        return Ok(ProfileFilter::Is(name.to_owned()));
    }
    let names: Vec<&str> = registry::names().chain([ProfileFilter::NONE]).collect();
    Err(FilterError {
        parameter: "envelope",
        value: name.to_owned(),
        expected: format!("a profile's name ({}, or a custom one's)", names.join(", ")),
    })
}

/// Whether `haystack`, with its ASCII letters in lower case, contains `needle` (already lower case): SQLite's
/// `instr(lower(...), needle)`, which the list runs.
fn contains_folded(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return true;
    }
    let folded = haystack.to_ascii_lowercase();
    memchr::memmem::find(&folded, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::BodyKind;

    fn summary() -> Summary {
        Summary {
            method: "POST".into(),
            query: "tenant=Blue".into(),
            content_type: Some("application/json".into()),
            body_size: 20,
            body_kind: BodyKind::Json,
            envelope: Some("channel_event".into()),
            valid: Some(false),
            event: Some("invoices.created".into()),
            error_count: 1,
            idempotency_key: Some("k".into()),
            duplicate_of: Some(1),
            ..Summary::example(4, "/hooks/Acme")
        }
    }

    #[test]
    fn an_empty_query_is_an_empty_filter_that_matches_everything() {
        let filter = Filter::from_query("limit=5&before=9").expect("parses");
        assert!(filter.is_empty());
        assert_eq!(filter.matches(&summary(), None), Some(true));
    }

    #[test]
    fn every_parameter_is_decoded() {
        let filter = Filter::from_query(
            "method=post&path=%2Fhooks&envelope=none&valid=false&duplicate=true&event=user.new&q=A+b&header=X-A:1",
        )
        .expect("valid query");
        assert_eq!(filter.method.as_deref(), Some("POST"));
        assert_eq!(filter.path_prefix.as_deref(), Some("/hooks"));
        assert_eq!(filter.envelope, Some(ProfileFilter::None));
        assert_eq!(filter.valid, Some(false));
        assert_eq!(filter.duplicate, Some(true));
        assert_eq!(filter.event.as_deref(), Some("user.new"));
        assert_eq!(filter.text.as_deref(), Some("A b"));
        assert_eq!(
            filter.header,
            Some(HeaderFilter {
                name: "x-a".into(),
                value: Some("1".into())
            })
        );
        assert_eq!(Filter::from_query(&filter.to_query()), Ok(filter));
    }

    #[test]
    fn a_word_parameter_lists_the_words_it_takes() {
        let error = Filter::from_query("signature=maybe").expect_err("refused");
        assert_eq!(error.expected, "unsigned, unchecked, valid or invalid");
        let error = Filter::from_query("forward=later").expect_err("refused");
        assert_eq!(error.expected, "none, pending, ok or failed");
    }

    #[test]
    fn values_a_parameter_does_not_take_are_refused_by_name() {
        for (raw, parameter) in [
            ("valid=maybe", "valid"),
            ("duplicate=1", "duplicate"),
            ("envelope=bo gus", "envelope"),
        ] {
            let error = Filter::from_query(raw).expect_err(raw);
            assert_eq!(error.parameter, parameter);
        }
    }

    #[test]
    fn each_condition_matches_its_field() {
        let s = summary();
        let matches = |raw: &str| Filter::from_query(raw).expect(raw).matches(&s, None);
        assert_eq!(
            matches("method=post&path=/hooks/&envelope=channel_event&valid=false"),
            Some(true)
        );
        assert_eq!(matches("duplicate=true&event=invoices.created"), Some(true));
        assert_eq!(matches("method=GET"), Some(false));
        assert_eq!(matches("path=/other"), Some(false));
        assert_eq!(matches("envelope=none"), Some(false));
        assert_eq!(matches("valid=true"), Some(false));
        assert_eq!(matches("duplicate=false"), Some(false));
        assert_eq!(matches("event=invoices.updated"), Some(false));
    }

    #[test]
    fn text_search_folds_ascii_case_in_path_query_and_body() {
        let s = summary();
        let filter = |q: &str| Filter::from_query(&format!("q={q}")).expect("q");
        assert_eq!(filter("acme").matches(&s, None), Some(true));
        assert_eq!(filter("BLUE").matches(&s, None), Some(true));
        let body = |bytes: &'static [u8]| {
            Some(Payload {
                headers: &[],
                body: bytes,
            })
        };
        assert_eq!(filter("needle").matches(&s, None), None, "only the body can tell");
        assert_eq!(filter("needle").matches(&s, body(b"a NeEdLe here")), Some(true));
        assert_eq!(filter("needle").matches(&s, body(b"nothing")), Some(false));
        // Only ASCII letters fold: a capital beyond ASCII matches as written.
        assert_eq!(filter("%C3%9Cber").matches(&s, body("Über".as_bytes())), Some(true));
        assert_eq!(filter("%C3%BCber").matches(&s, body("Über".as_bytes())), Some(false));
        assert_eq!(
            filter("needle").matches(&s, body(&[0xff, b'n', b'e', b'e', b'd', b'l', b'e'])),
            Some(true)
        );
    }

    #[test]
    fn what_was_answered_and_when_filter_by_endpoint_status_key_and_time() {
        let mut s = summary();
        s.endpoint = Some("flaky".into());
        s.response.status = 503;
        let matches = |raw: &str| Filter::from_query(raw).expect(raw).matches(&s, None);
        assert_eq!(matches("endpoint=flaky&status=5xx&key=k"), Some(true));
        assert_eq!(matches("status=503"), Some(true));
        assert_eq!(matches("status=4xx"), Some(false));
        assert_eq!(matches("endpoint=other"), Some(false));
        assert_eq!(matches("key=other"), Some(false));
        s.signature = SignatureVerdict::Invalid;
        let matches = |raw: &str| Filter::from_query(raw).expect(raw).matches(&s, None);
        assert_eq!(matches("signature=invalid"), Some(true));
        assert_eq!(matches("signature=valid"), Some(false));
        s.forward = ForwardState::Failed;
        let matches = |raw: &str| Filter::from_query(raw).expect(raw).matches(&s, None);
        assert_eq!(matches("forward=failed"), Some(true));
        assert_eq!(matches("forward=ok"), Some(false));
        s.environment = Some("staging".into());
        let matches = |raw: &str| Filter::from_query(raw).expect(raw).matches(&s, None);
        assert_eq!(matches("environment=staging"), Some(true));
        assert_eq!(matches("environment=production"), Some(false));
        assert_eq!(
            matches("since=2026-11-22T10:15:30.123Z&until=2026-11-22T10:15:30.124Z"),
            Some(true)
        );
        assert_eq!(matches("since=2026-11-22T11:15:30%2B01:00"), Some(true), "any offset");
        assert_eq!(
            matches("until=2026-11-22T10:15:30.123Z"),
            Some(false),
            "until is exclusive"
        );
        for (raw, parameter) in [
            ("status=99", "status"),
            ("status=6xx", "status"),
            ("signature=maybe", "signature"),
            ("forward=later", "forward"),
            ("since=yesterday", "since"),
        ] {
            assert_eq!(Filter::from_query(raw).expect_err(raw).parameter, parameter);
        }
        let filter = Filter::from_query("status=5xx&since=2026-11-22T10:15:30.123Z").expect("valid");
        assert_eq!(Filter::from_query(&filter.to_query()), Ok(filter));
    }

    #[test]
    fn a_header_filter_takes_a_name_in_any_case_and_an_exact_value() {
        let s = summary();
        let headers = [("x-github-event".to_owned(), b"push".to_vec())];
        let payload = Some(Payload {
            headers: &headers,
            body: b"",
        });
        let matches = |raw: &str| Filter::from_query(raw).expect(raw).matches(&s, payload);
        assert_eq!(matches("header=X-GitHub-Event:push"), Some(true));
        assert_eq!(
            matches("header=x-github-event%3A%20push"),
            Some(true),
            "spaces around the value are dropped"
        );
        assert_eq!(matches("header=X-GitHub-Event"), Some(true));
        assert_eq!(matches("header=X-GitHub-Event:Push"), Some(false), "the value is exact");
        assert_eq!(matches("header=X-Other"), Some(false));
        assert_eq!(
            Filter::from_query("header=X-GitHub-Event")
                .expect("parses")
                .matches(&s, None),
            None
        );
        assert_eq!(
            Filter::from_query("header=bad%20name").expect_err("refused").parameter,
            "header"
        );
    }
}
