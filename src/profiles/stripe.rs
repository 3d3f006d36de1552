//! Stripe: an event object, `{"object": "event", "id": "evt_...", "type": ...}`. The event is `type`; the
//! idempotency key is the event's `id` (the same for every retry of it); the environment is `live` or `test`, from
//! `livemode`.

use serde_json::{Map, Value};

use super::profile::{Facts, Findings, Profile, Subject, type_name};

/// The profile.
pub struct Stripe;

/// Above any count of members a seed envelope could reach: `object: "event"` with an `evt_` id is Stripe's alone.
const WEIGHT: usize = 100;

fn claims(object: &Map<String, Value>) -> bool {
    object.get("object").and_then(Value::as_str) == Some("event")
        && object
            .get("id")
            .and_then(Value::as_str)
            .is_some_and(|id| id.starts_with("evt_"))
        && object.get("type").is_some_and(Value::is_string)
}

impl Profile for Stripe {
    fn name(&self) -> &str {
        "stripe"
    }

    fn resemblance(&self, subject: &Subject<'_>) -> usize {
        if subject.object().is_some_and(claims) {
            WEIGHT
        } else {
            0
        }
    }

    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts {
        let Some(object) = subject.object().filter(|object| claims(object)) else {
            findings.error(
                "",
                "a Stripe event is an object with \"object\": \"event\", an \"id\" starting evt_, and a \"type\"",
            );
            return Facts::default();
        };
        match object.get("data").and_then(|data| data.get("object")) {
            Some(Value::Object(_)) => {}
            Some(other) => findings.error("/data/object", format!("must be an object, not {}", type_name(other))),
            None => findings.error(
                "/data/object",
                "required member \"data.object\" is missing (the object the event is about)",
            ),
        }
        match object.get("created") {
            Some(Value::Number(number)) if number.is_i64() => {}
            Some(other) => findings.error(
                "/created",
                format!("must be an integer (seconds since 1970), not {}", type_name(other)),
            ),
            None => findings.error(
                "/created",
                "required member \"created\" is missing (seconds since 1970)",
            ),
        }
        let environment = match object.get("livemode") {
            Some(Value::Bool(true)) => Some("live".to_owned()),
            Some(Value::Bool(false)) => Some("test".to_owned()),
            Some(other) => {
                findings.error("/livemode", format!("must be a boolean, not {}", type_name(other)));
                None
            }
            None => {
                findings.warn(
                    "/livemode",
                    "no \"livemode\": Stripe says whether an event is live or a test",
                );
                None
            }
        };
        Facts {
            event: object.get("type").and_then(Value::as_str).map(str::to_owned),
            idempotency_key: object.get("id").and_then(Value::as_str).map(str::to_owned),
            key_source: Some("body /id".to_owned()),
            environment,
        }
    }
}
