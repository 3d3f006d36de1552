//! The `event / message / idempotency_key / environment / data` envelope of the accounting provider (seed 004),
//! whose `event` is `channel.event` from a fixed table of channels.

use serde_json::{Map, Value};

use super::channels::allowed_events;
use super::profile::{Facts, Findings, Profile, Subject, check_one_of, member_resemblance, type_name};

/// The members that make up the envelope.
const MEMBERS: &[&str] = &["event", "message", "idempotency_key", "environment", "data"];

/// The profile.
pub struct ChannelEvent;

impl Profile for ChannelEvent {
    fn name(&self) -> &str {
        NAME
    }

    /// A string `event` or an `idempotency_key`: Slack's `event` is an object, and Stripe's and GitHub's payloads
    /// share only `data` or `environment` with this envelope.
    fn resemblance(&self, subject: &Subject<'_>) -> usize {
        subject.object().map_or(0, |object| {
            let claims =
                matches!(object.get("event"), Some(Value::String(_))) || object.contains_key("idempotency_key");
            member_resemblance(object, claims, MEMBERS)
        })
    }

    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts {
        subject
            .object()
            .map(|object| check(object, findings))
            .unwrap_or_default()
    }
}

const NAME: &str = "channel_event";

const ENVIRONMENTS: &[&str] = &["staging", "production"];

/// Checks an object against the envelope, recording findings; returns the event and the idempotency key.
fn check(object: &Map<String, Value>, findings: &mut Findings) -> Facts {
    let event = match object.get("event") {
        None => {
            findings.error(
                "/event",
                "required member \"event\" is missing (a string: channel.event)",
            );
            None
        }
        Some(Value::String(event)) => {
            check_event_name(event, findings);
            Some(event.clone())
        }
        Some(other) => {
            findings.error(
                "/event",
                format!("must be a string (channel.event), not {}", type_name(other)),
            );
            None
        }
    };

    match object.get("message") {
        None => findings.error("/message", "required member \"message\" is missing (a string)"),
        Some(Value::String(_)) => {}
        Some(other) => findings.error("/message", format!("must be a string, not {}", type_name(other))),
    }

    let idempotency_key = match object.get("idempotency_key") {
        None => {
            findings.error(
                "/idempotency_key",
                "required member \"idempotency_key\" is missing (a non-empty string)",
            );
            None
        }
        Some(Value::String(key)) if key.is_empty() => {
            findings.error("/idempotency_key", "must not be empty");
            None
        }
        Some(Value::String(key)) => {
            if uuid::Uuid::try_parse(key).is_err() {
                findings.warn(
                    "/idempotency_key",
                    format!("\"{key}\" is not a UUID; the provider sends UUIDs"),
                );
            }
            Some(key.clone())
        }
        Some(other) => {
            findings.error(
                "/idempotency_key",
                format!("must be a non-empty string, not {}", type_name(other)),
            );
            None
        }
    };

    let environment = check_one_of(object, "environment", ENVIRONMENTS, findings).map(str::to_owned);

    match object.get("data") {
        None => findings.error("/data", "required member \"data\" is missing (an object)"),
        Some(Value::Object(data)) => {
            if !data.contains_key("id") {
                findings.warn(
                    "/data/id",
                    "data has no \"id\"; the provider always sends the record's id",
                );
            }
        }
        Some(other) => findings.error("/data", format!("must be an object, not {}", type_name(other))),
    }

    findings.warn_unexpected_members(object, NAME, MEMBERS);
    Facts {
        event,
        key_source: idempotency_key.as_ref().map(|_| "body /idempotency_key".to_owned()),
        idempotency_key,
        environment,
    }
}

/// Checks that `event` is `channel.event` with a known channel and an event that channel allows.
fn check_event_name(event: &str, findings: &mut Findings) {
    let Some((channel, action)) = event.split_once('.') else {
        findings.error(
            "/event",
            format!("\"{event}\" is not of the form channel.event (for example invoices.created)"),
        );
        return;
    };
    match allowed_events(channel) {
        None => findings.error("/event", format!("unknown channel \"{channel}\"")),
        Some(allowed) if !allowed.contains(&action) => findings.error(
            "/event",
            format!(
                "event \"{action}\" is not allowed for channel \"{channel}\" (allowed: {})",
                allowed.join(", ")
            ),
        ),
        Some(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::profiles::inspect;

    /// The provider's example, verbatim but for the comment its documentation puts inside the JSON.
    const SEED_EXAMPLE: &str = r#"{ "event": "business_loans.deleted", "message": "Business_Loan deleted successfully.", "idempotency_key": "26053e97-f78a-4d25-a519-4eed22ba5c41", "environment": "staging", "data": { "id": 1, "tag": "adasd" } }"#;

    fn with(member: &str, value: &str) -> String {
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(SEED_EXAMPLE).expect("seed parses");
        match value {
            "<absent>" => {
                object.remove(member);
            }
            _ => {
                object.insert(member.into(), serde_json::from_str(value).expect("test value parses"));
            }
        }
        serde_json::Value::Object(object).to_string()
    }

    fn errors_of(body: &str) -> Vec<(String, String)> {
        let verdict = inspect(body.as_bytes(), Some("application/json"));
        assert_eq!(verdict.envelope.as_deref(), Some("channel_event"), "{body}");
        verdict.errors.into_iter().map(|f| (f.path, f.message)).collect()
    }

    #[test]
    fn seed_example_is_valid() {
        let verdict = inspect(SEED_EXAMPLE.as_bytes(), Some("application/json"));
        assert_eq!(verdict.valid, Some(true), "{:?}", verdict.errors);
        assert_eq!(verdict.event.as_deref(), Some("business_loans.deleted"));
        assert_eq!(
            verdict.idempotency_key.as_deref(),
            Some("26053e97-f78a-4d25-a519-4eed22ba5c41")
        );
        assert!(verdict.warnings.is_empty());
    }

    #[test]
    fn unknown_channel_is_named() {
        let errors = errors_of(&with("event", r#""payments.created""#));
        assert_eq!(errors[0].0, "/event");
        assert!(errors[0].1.contains("unknown channel \"payments\""), "{}", errors[0].1);
    }

    #[test]
    fn event_not_allowed_for_channel_lists_the_allowed_ones() {
        let errors = errors_of(&with("event", r#""wallet_transactions.updated""#));
        assert!(
            errors[0]
                .1
                .contains("not allowed for channel \"wallet_transactions\" (allowed: created)")
        );
        let errors = errors_of(&with("event", r#""income_tax_payments.updated""#));
        assert!(errors[0].1.contains("(allowed: created, deleted)"), "{}", errors[0].1);
    }

    #[test]
    fn event_needs_a_dot() {
        let errors = errors_of(&with("event", r#""invoices""#));
        assert_eq!(errors[0].0, "/event");
        assert!(errors[0].1.contains("channel.event"));
    }

    #[test]
    fn each_member_is_required() {
        for member in ["event", "message", "idempotency_key", "environment", "data"] {
            let errors = errors_of(&with(member, "<absent>"));
            assert_eq!(errors.len(), 1, "{member}: {errors:?}");
            assert_eq!(errors[0].0, format!("/{member}"));
        }
    }

    #[test]
    fn message_must_be_a_string() {
        assert_eq!(errors_of(&with("message", "42"))[0].0, "/message");
    }

    #[test]
    fn idempotency_key_must_be_a_non_empty_string() {
        assert_eq!(errors_of(&with("idempotency_key", r#""""#))[0].0, "/idempotency_key");
        assert_eq!(errors_of(&with("idempotency_key", "7"))[0].0, "/idempotency_key");
    }

    #[test]
    fn idempotency_key_that_is_no_uuid_is_a_warning() {
        let verdict = inspect(with("idempotency_key", r#""order-17""#).as_bytes(), None);
        assert_eq!(verdict.valid, Some(true));
        assert_eq!(verdict.warnings[0].path, "/idempotency_key");
        assert_eq!(verdict.idempotency_key.as_deref(), Some("order-17"));
    }

    #[test]
    fn environment_is_staging_or_production() {
        let errors = errors_of(&with("environment", r#""dev""#));
        assert_eq!(errors[0].0, "/environment");
        assert!(errors[0].1.contains("staging, production"));
        assert!(errors_of(&with("environment", r#""production""#)).is_empty());
    }

    #[test]
    fn data_must_be_an_object_and_should_have_an_id() {
        assert_eq!(errors_of(&with("data", "[]"))[0].0, "/data");
        let verdict = inspect(with("data", r#"{"tag": "x"}"#).as_bytes(), None);
        assert_eq!(verdict.valid, Some(true));
        assert_eq!(verdict.warnings[0].path, "/data/id");
    }

    #[test]
    fn other_members_are_warnings() {
        let verdict = inspect(with("extra", "true").as_bytes(), None);
        assert_eq!(verdict.valid, Some(true));
        assert_eq!(verdict.warnings[0].path, "/extra");
    }
}
