//! What `hookscope send` sends: realistic requests of each built-in profile (the seeds' providers across their
//! tables, Standard Webhooks, GitHub, Stripe, Shopify), numbered so that each is its own delivery, and deliberately
//! broken ones, each way the profile can break in turn.

use serde_json::{Value, json};

use crate::profiles::channels::CHANNELS;

/// One request to send: headers, body, and the idempotency key it carries (for `--duplicate-every`).
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The profiles `send` can make requests of.
pub const PROFILES: [&str; 7] = [
    "entity_action",
    "channel_event",
    "array_of_one",
    "standard_webhooks",
    "github",
    "stripe",
    "shopify",
];

/// A UUID made from `n` and a run's `seed`, so that every request of a run has its own key and runs differ.
fn uuid(seed: u64, n: u64) -> String {
    let high = seed ^ 0x9e37_79b9_7f4a_7c15;
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (high >> 32) as u32,
        (high >> 16) as u16,
        (high & 0xfff) as u16,
        (n >> 48) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// One way to break a profile's body.
type Breakage = fn(&mut Value);

/// The `n`-th of `choices`, round and round.
fn pick(choices: &[&'static str], n: u64) -> &'static str {
    choices[(n % choices.len() as u64) as usize]
}

/// Request number `n` of `profile`: valid, or broken the `broken`-th way the profile can break.
pub fn payload(profile: &str, seed: u64, n: u64, broken: Option<u64>) -> Option<Payload> {
    let key = uuid(seed, n);
    let json_headers = |extra: Vec<(String, String)>| {
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        headers.extend(extra);
        headers
    };
    let (headers, mut body, breakages): (Vec<(String, String)>, Value, &[Breakage]) = match profile {
        "entity_action" => {
            let actions = ["new", "update", "delete", "test"];
            let action = actions[(n % 4) as usize];
            let result = if action == "delete" {
                Value::Null
            } else {
                json!({"id": n, "name_first": "Guan", "name_last": "the Man"})
            };
            (
                json_headers(vec![("Idempotency-Key".to_owned(), key.clone())]),
                json!({"entity_id": n, "entity_type": if n.is_multiple_of(3) { "company" } else { "user" }, "action_type": action, "result": result}),
                &[
                    |body| body["entity_type"] = json!("invoice"),
                    |body| body["entity_id"] = json!("one"),
                    |body| {
                        if let Some(object) = body.as_object_mut() {
                            object.remove("action_type");
                        }
                    },
                ],
            )
        }
        "channel_event" => {
            let (channel, events) = CHANNELS[(n as usize) % CHANNELS.len()];
            let event = events[(n as usize / CHANNELS.len()) % events.len()];
            (
                json_headers(Vec::new()),
                json!({"event": format!("{channel}.{event}"), "message": format!("{channel} {event} successfully."), "idempotency_key": key, "environment": if n.is_multiple_of(5) { "production" } else { "staging" }, "data": {"id": n}}),
                &[
                    |body| body["event"] = json!("invoices.exploded"),
                    |body| body["environment"] = json!("dev"),
                    |body| body["data"] = json!([1]),
                ],
            )
        }
        "array_of_one" => (
            json_headers(vec![("Idempotency-Key".to_owned(), key.clone())]),
            json!([{"event": pick(&["order.paid", "order.refunded", "customer.created"], n), "id": n}]),
            &[
                |body| *body = json!([]),
                |body| *body = json!([{"id": 1}, {"id": 2}]),
                |body| *body = json!([7]),
            ],
        ),
        "standard_webhooks" => (
            json_headers(vec![
                ("webhook-id".to_owned(), format!("msg_{}", key.replace('-', ""))),
                (
                    "webhook-timestamp".to_owned(),
                    (chrono::Utc::now().timestamp()).to_string(),
                ),
            ]),
            json!({"type": pick(&["user.created", "user.updated", "invoice.paid"], n), "timestamp": chrono::Utc::now().to_rfc3339(), "data": {"id": n}}),
            &[
                |body| body["timestamp"] = json!("yesterday"),
                |body| body["data"] = json!("none"),
            ],
        ),
        "github" => {
            let (event, action) = [
                ("issues", Some("opened")),
                ("push", None),
                ("pull_request", Some("closed")),
            ][(n % 3) as usize];
            let mut body = json!({"repository": {"id": 1296269, "full_name": "octocat/Hello-World"}, "sender": {"login": "octocat", "id": 1}});
            if let Some(action) = action {
                body["action"] = json!(action);
            }
            (
                json_headers(vec![
                    ("X-GitHub-Event".to_owned(), event.to_owned()),
                    ("X-GitHub-Delivery".to_owned(), key.clone()),
                    ("User-Agent".to_owned(), "GitHub-Hookshot/044aadd".to_owned()),
                ]),
                body,
                &[
                    |body| body["action"] = json!(3),
                    |body| *body = json!(["not", "an", "object"]),
                ],
            )
        }
        "stripe" => (
            json_headers(Vec::new()),
            json!({"id": format!("evt_{}", key.replace('-', "")), "object": "event", "api_version": "2024-06-20", "created": chrono::Utc::now().timestamp(), "livemode": false, "pending_webhooks": 1, "type": pick(&["payment_intent.succeeded", "invoice.paid", "customer.created"], n), "data": {"object": {"id": format!("pi_{n}"), "object": "payment_intent", "amount": 2000}}}),
            &[|body| body["created"] = json!("soon"), |body| body["data"] = json!({})],
        ),
        "shopify" => (
            json_headers(vec![
                (
                    "X-Shopify-Topic".to_owned(),
                    ["orders/create", "orders/paid", "customers/create"][(n % 3) as usize].to_owned(),
                ),
                ("X-Shopify-Webhook-Id".to_owned(), key.clone()),
                (
                    "X-Shopify-Shop-Domain".to_owned(),
                    "johns-apparel.myshopify.com".to_owned(),
                ),
            ]),
            json!({"id": 820_982_911_946_154_508u64 + n, "email": "jon@example.com", "total_price": "403.00"}),
            &[|body| *body = json!("not an object")],
        ),
        _ => return None,
    };
    if let Some(broken) = broken {
        let breakage = breakages[(broken as usize) % breakages.len()];
        breakage(&mut body);
    }
    Some(Payload {
        headers,
        body: serde_json::to_vec(&body).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::inspect_request;

    fn verdict(payload: &Payload) -> crate::profiles::Verdict {
        let headers: Vec<(&str, &[u8])> = payload
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
            .collect();
        inspect_request(
            &payload.body,
            Some("application/json"),
            &headers,
            &crate::profiles::Choice::built_in(),
        )
    }

    #[test]
    fn each_profiles_requests_are_its_own_valid_and_each_breakage_is_invalid() {
        for profile in PROFILES {
            for n in 0..40 {
                let good = payload(profile, 7, n, None).expect("a profile send knows");
                let checked = verdict(&good);
                assert_eq!(checked.envelope.as_deref(), Some(profile), "{profile} {n}");
                assert_eq!(checked.valid, Some(true), "{profile} {n}: {:?}", checked.errors);
            }
            for broken in 0..3 {
                let bad = payload(profile, 7, 1, Some(broken)).expect("payload");
                let checked = verdict(&bad);
                assert_ne!(checked.valid, Some(true), "{profile} breakage {broken} is still valid");
            }
        }
        assert_ne!(
            payload("stripe", 7, 1, None),
            payload("stripe", 7, 2, None),
            "each request its own"
        );
    }
}
