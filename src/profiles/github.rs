//! GitHub: recognised by the `X-GitHub-Event` header. The event is that header, with the body's `action` when it
//! has one (`pull_request.opened`); the idempotency key is `X-GitHub-Delivery`, the same for every redelivery.

use serde_json::Value;

use super::profile::{BY_HEADER, Facts, Findings, Profile, Subject, type_name};

/// The profile.
pub struct Github;

impl Profile for Github {
    fn name(&self) -> &str {
        "github"
    }

    fn resemblance(&self, subject: &Subject<'_>) -> usize {
        if subject.header("x-github-event").is_some() {
            BY_HEADER
        } else {
            0
        }
    }

    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts {
        let header = subject.header("x-github-event");
        let Some(object) = subject.object() else {
            findings.error("", format!("must be a JSON object, not {}", type_name(subject.value)));
            return Facts::default();
        };
        let action = match object.get("action") {
            None => None,
            Some(Value::String(action)) => Some(action.as_str()),
            Some(other) => {
                findings.error("/action", format!("must be a string, not {}", type_name(other)));
                None
            }
        };
        let delivery = subject.header("x-github-delivery");
        if delivery.is_none() {
            findings.warn(
                "",
                "no X-GitHub-Delivery header: GitHub sends one with every delivery, and duplicates are told by it",
            );
        }
        Facts {
            event: header.map(|event| match action {
                Some(action) => format!("{event}.{action}"),
                None => event.to_owned(),
            }),
            idempotency_key: delivery.map(str::to_owned),
            key_source: delivery.map(|_| "header X-GitHub-Delivery".to_owned()),
            environment: None,
        }
    }
}
