//! Payload checks: decide what a captured body is (empty, JSON, text, binary), which known payload profile a JSON
//! object follows (see [`registry`]), and what is wrong or suspicious in it. Pure logic: no HTTP, no storage. The
//! API and the record keep the word "envelope" for the profile a body was checked against.

mod array_of_one;
mod channel_event;
pub mod channels;
pub mod custom;
mod entity_action;
#[cfg(test)]
mod examples;
mod github;
mod json;
mod profile;
#[cfg(test)]
mod properties;
pub mod registry;
pub mod set;
mod shopify;
pub mod spec;
mod standard_webhooks;
mod stripe;

use serde::{Deserialize, Serialize};

pub use profile::{Facts, Finding, Findings, Profile, Subject};
pub use set::{Choice, ProfileRef, Profiles};

/// What kind of bytes a body holds, so a viewer knows how to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// No bytes at all.
    Empty,
    /// Parses as JSON.
    Json,
    /// Valid UTF-8 that is not JSON.
    Text,
    /// Anything else.
    Binary,
}

impl BodyKind {
    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::Empty => "empty",
            BodyKind::Json => "json",
            BodyKind::Text => "text",
            BodyKind::Binary => "binary",
        }
    }

    /// The kind with that name; unknown names read as binary, the most careful way to show bytes.
    pub fn from_name(name: &str) -> BodyKind {
        match name {
            "empty" => BodyKind::Empty,
            "json" => BodyKind::Json,
            "text" => BodyKind::Text,
            _ => BodyKind::Binary,
        }
    }
}

/// The outcome of inspecting one body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What the bytes are.
    pub kind: BodyKind,
    /// The name of the profile the body was checked against, if it resembles one.
    pub envelope: Option<String>,
    /// `Some(true)` when checked and clean, `Some(false)` with errors, `None` when there was nothing to check.
    pub valid: Option<bool>,
    /// The event name: `channel.event`, or `entity_type.action_type`.
    pub event: Option<String>,
    /// What makes the body break its envelope (or not parse although it says it is JSON).
    pub errors: Vec<Finding>,
    /// What is allowed but suspicious.
    pub warnings: Vec<Finding>,
    /// The profile's own idempotency key (from the body or a header), for profiles that name one.
    pub idempotency_key: Option<String>,
    /// Where that key came from (`body /idempotency_key`, `header X-GitHub-Delivery`).
    pub key_source: Option<String>,
    /// The environment the request says it belongs to.
    pub environment: Option<String>,
}

/// Inspects a body with the built-in profiles, without headers: its kind, its profile, and every error and warning,
/// each at its JSON path.
pub fn inspect(body: &[u8], content_type: Option<&str>) -> Verdict {
    inspect_request(body, content_type, &[], &Choice::built_in())
}

/// Inspects a request's body (and the headers profiles read) with the profile `choice` picks: an endpoint's
/// required profile checks a body of its kind, and any other body is invalid with one error at `""` naming the
/// profile expected.
pub fn inspect_request(body: &[u8], content_type: Option<&str>, headers: &[(&str, &[u8])], choice: &Choice) -> Verdict {
    let not_of_kind = |verdict: &mut Verdict, profile: &dyn Profile| {
        verdict.envelope = Some(profile.name().to_owned());
        verdict.valid = Some(false);
        verdict.errors.insert(
            0,
            Finding {
                path: String::new(),
                message: format!(
                    "this endpoint expects the {} profile, and this request is not of its kind",
                    profile.name()
                ),
            },
        );
    };
    let says_json = content_type.is_some_and(declares_json);
    let mut findings = Findings::default();
    let parsed = if body.is_empty() {
        None
    } else {
        match json::parse(body) {
            Ok(parsed) => Some(parsed),
            Err(parse_error) => {
                if says_json {
                    findings.error("", format!("body is not valid JSON: {parse_error}"));
                }
                None
            }
        }
    };
    if body.is_empty() && says_json {
        findings.error("", "body is empty but its content type says JSON");
    }
    let mut verdict = Verdict {
        kind: BodyKind::Json,
        envelope: None,
        valid: None,
        event: None,
        errors: Vec::new(),
        warnings: Vec::new(),
        idempotency_key: None,
        key_source: None,
        environment: None,
    };

    let Some(parsed) = parsed else {
        verdict.kind = if body.is_empty() {
            BodyKind::Empty
        } else if std::str::from_utf8(body).is_ok() {
            BodyKind::Text
        } else {
            BodyKind::Binary
        };
        verdict.valid = if findings.errors.is_empty() { None } else { Some(false) };
        verdict.errors = findings.errors;
        verdict.warnings = findings.warnings;
        if let Some(profile) = &choice.required {
            not_of_kind(&mut verdict, &**profile);
        }
        return verdict;
    };

    findings.warnings.extend(parsed.duplicate_keys);
    let subject = Subject {
        value: &parsed.value,
        headers,
    };
    let chosen = choice
        .choose(&subject)
        .filter(|profile| choice.required.is_none() || profile.applies(&subject));
    if let Some(profile) = &chosen {
        let facts = profile.check(&subject, &mut findings);
        verdict.envelope = Some(profile.name().to_owned());
        verdict.valid = Some(findings.errors.is_empty());
        verdict.event = facts.event;
        verdict.idempotency_key = facts.idempotency_key;
        verdict.key_source = facts.key_source;
        verdict.environment = facts.environment;
    }
    verdict.errors = findings.errors;
    verdict.warnings = findings.warnings;
    if let (Some(profile), None) = (&choice.required, &chosen) {
        not_of_kind(&mut verdict, &**profile);
    }
    verdict
}

/// Whether a `Content-Type` value names JSON: `application/json` or any `+json` type.
pub fn declares_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        assert!(declares_json("application/json"));
        assert!(declares_json("Application/JSON; charset=utf-8"));
        assert!(declares_json("application/vnd.api+json"));
        assert!(!declares_json("text/plain"));
        assert!(!declares_json("application/jsonp"));
    }

    #[test]
    fn body_kinds_follow_the_bytes() {
        assert_eq!(inspect(b"", None).kind, BodyKind::Empty);
        assert_eq!(inspect(b"hello", None).kind, BodyKind::Text);
        assert_eq!(inspect(&[0xff, 0x00, 0x80], None).kind, BodyKind::Binary);
        assert_eq!(inspect(b"[1,2]", None).kind, BodyKind::Json);
    }

    #[test]
    fn unrelated_json_has_no_envelope_and_no_verdict() {
        let verdict = inspect(br#"{"hello": "world"}"#, Some("application/json"));
        assert_eq!(verdict.envelope, None);
        assert_eq!(verdict.valid, None);
        assert!(verdict.errors.is_empty());
    }

    #[test]
    fn broken_json_that_says_json_is_invalid_with_position() {
        let verdict = inspect(b"{\"a\": }", Some("application/json"));
        assert_eq!(verdict.valid, Some(false));
        assert_eq!(verdict.errors[0].path, "");
        assert!(
            verdict.errors[0].message.contains("line 1 column 7"),
            "{:?}",
            verdict.errors
        );
    }

    #[test]
    fn broken_json_without_json_content_type_is_just_text() {
        let verdict = inspect(b"{\"a\": }", Some("text/plain"));
        assert_eq!(verdict.valid, None);
        assert_eq!(verdict.kind, BodyKind::Text);
    }

    #[test]
    fn empty_body_that_says_json_is_invalid() {
        let verdict = inspect(b"", Some("application/json"));
        assert_eq!(verdict.valid, Some(false));
        assert_eq!(verdict.errors[0].path, "");
    }

    #[test]
    fn tie_goes_to_channel_event() {
        let verdict = inspect(br#"{"entity_id": 1, "event": "invoices.created"}"#, None);
        assert_eq!(verdict.envelope.as_deref(), Some("channel_event"));
    }

    #[test]
    fn duplicate_keys_are_warned_even_without_an_envelope() {
        let verdict = inspect(br#"{"a": {"b": 1, "b": 2}}"#, None);
        assert_eq!(verdict.envelope, None);
        assert_eq!(verdict.warnings.len(), 1);
        assert_eq!(verdict.warnings[0].path, "/a/b");
    }
}
