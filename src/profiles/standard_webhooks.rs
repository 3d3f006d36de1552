//! Standard Webhooks (Svix, Clerk, Resend, ...): the `webhook-id` and `webhook-timestamp` headers (or `svix-`), and a
//! body `{type, timestamp, data}`. The event is `type`; the idempotency key is the message id.

use serde_json::Value;

use super::profile::{BY_HEADER, Facts, Findings, Profile, Subject, type_name};

/// The profile.
pub struct StandardWebhooks;

const MEMBERS: &[&str] = &["type", "timestamp", "data"];

impl Profile for StandardWebhooks {
    fn name(&self) -> &str {
        "standard_webhooks"
    }

    fn resemblance(&self, subject: &Subject<'_>) -> usize {
        let headers = (subject.header("webhook-id").is_some() && subject.header("webhook-timestamp").is_some())
            || (subject.header("svix-id").is_some() && subject.header("svix-timestamp").is_some());
        let typed = subject
            .object()
            .is_some_and(|object| matches!(object.get("type"), Some(Value::String(_))));
        if headers && typed { BY_HEADER } else { 0 }
    }

    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts {
        let Some(object) = subject.object() else {
            findings.error(
                "",
                format!(
                    "must be an object {{type, timestamp, data}}, not {}",
                    type_name(subject.value)
                ),
            );
            return Facts::default();
        };
        let event = match object.get("type") {
            Some(Value::String(event)) => Some(event.clone()),
            Some(other) => {
                findings.error("/type", format!("must be a string, not {}", type_name(other)));
                None
            }
            None => {
                findings.error(
                    "/type",
                    "required member \"type\" is missing (the event type, a string)",
                );
                None
            }
        };
        match object.get("timestamp") {
            Some(Value::String(time)) if chrono::DateTime::parse_from_rfc3339(time).is_ok() => {}
            Some(Value::String(time)) => {
                findings.error("/timestamp", format!("\"{time}\" is not an RFC 3339 time"));
            }
            Some(other) => findings.error(
                "/timestamp",
                format!("must be an RFC 3339 string, not {}", type_name(other)),
            ),
            None => findings.error(
                "/timestamp",
                "required member \"timestamp\" is missing (an RFC 3339 time)",
            ),
        }
        match object.get("data") {
            Some(Value::Object(_)) => {}
            Some(other) => findings.error("/data", format!("must be an object, not {}", type_name(other))),
            None => findings.error("/data", "required member \"data\" is missing (an object)"),
        }
        findings.warn_unexpected_members(object, self.name(), MEMBERS);
        let (key, source) = match (subject.header("webhook-id"), subject.header("svix-id")) {
            (Some(id), _) => (Some(id), "header webhook-id"),
            (None, Some(id)) => (Some(id), "header svix-id"),
            (None, None) => (None, ""),
        };
        Facts {
            event,
            idempotency_key: key.map(str::to_owned),
            key_source: key.map(|_| source.to_owned()),
            environment: None,
        }
    }
}
