//! Every built-in profile against a realistic request of its provider (GitHub's and Stripe's documented examples
//! among them): each is detected as its own, valid, with its event, key and environment, and no profile claims
//! another's example.

use super::custom::CustomProfile;
use super::spec::{Origin, ProfileSpec};
use super::{Choice, ProfileRef, inspect_request};
use std::sync::Arc;

/// A request: its headers and body.
struct Example {
    profile: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
    event: &'static str,
    key: Option<&'static str>,
    environment: Option<&'static str>,
}

const EXAMPLES: &[Example] = &[
    Example {
        profile: "entity_action",
        headers: &[],
        body: r#"{"entity_id": 1, "entity_type": "user", "action_type": "test", "result": {"id": 1}}"#,
        event: "user.test",
        key: None,
        environment: None,
    },
    Example {
        profile: "channel_event",
        headers: &[],
        body: r#"{"event": "invoices.created", "message": "m", "idempotency_key": "5f1c6f0e-7f7e-4a8e-9d55-1f5e0c4b8a11", "environment": "staging", "data": {"id": 1}}"#,
        event: "invoices.created",
        key: Some("5f1c6f0e-7f7e-4a8e-9d55-1f5e0c4b8a11"),
        environment: Some("staging"),
    },
    Example {
        profile: "array_of_one",
        headers: &[],
        body: r#"[{"event": "order.paid", "id": 12, "amount": 300}]"#,
        event: "order.paid",
        key: None,
        environment: None,
    },
    Example {
        profile: "standard_webhooks",
        headers: &[
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        ],
        body: r#"{"type": "user.created", "timestamp": "2022-11-03T20:26:10.344522Z", "data": {"id": "1f81eb52-5198-4599-803e-771906343485", "type": "user"}}"#,
        event: "user.created",
        key: Some("msg_p5jXN8AQM9LWM0D4loKWxJek"),
        environment: None,
    },
    Example {
        profile: "github",
        headers: &[
            ("X-GitHub-Event", "issues"),
            ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            ("X-GitHub-Hook-ID", "292430182"),
        ],
        body: r#"{"action": "opened", "issue": {"url": "https://api.github.com/repos/octocat/Hello-World/issues/1347", "number": 1347}, "repository": {"id": 1296269, "full_name": "octocat/Hello-World"}, "sender": {"login": "octocat", "id": 1}}"#,
        event: "issues.opened",
        key: Some("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        environment: None,
    },
    Example {
        profile: "stripe",
        headers: &[(
            "Stripe-Signature",
            "t=1492774577,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
        )],
        body: r#"{"id": "evt_1NG8Du2eZvKYlo2CUI79vXWy", "object": "event", "api_version": "2019-02-19", "created": 1686089970, "data": {"object": {"id": "seti_1NG8Du2eZvKYlo2C9XMqbR0x", "object": "setup_intent"}}, "livemode": false, "pending_webhooks": 0, "request": {"id": null, "idempotency_key": null}, "type": "setup_intent.created"}"#,
        event: "setup_intent.created",
        key: Some("evt_1NG8Du2eZvKYlo2CUI79vXWy"),
        environment: Some("test"),
    },
    Example {
        profile: "shopify",
        headers: &[
            ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
            ("X-Shopify-Shop-Domain", "johns-apparel.myshopify.com"),
        ],
        body: r#"{"id": 820982911946154508, "email": "jon@example.com", "total_price": "403.00"}"#,
        event: "orders/create",
        key: Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"),
        environment: None,
    },
];

fn headers(example: &Example) -> Vec<(&'static str, &'static [u8])> {
    example
        .headers
        .iter()
        .map(|(name, value)| (*name, value.as_bytes()))
        .collect()
}

#[test]
fn each_built_in_detects_checks_and_names_its_own_example() {
    for example in EXAMPLES {
        let verdict = inspect_request(
            example.body.as_bytes(),
            Some("application/json"),
            &headers(example),
            &Choice::built_in(),
        );
        assert_eq!(verdict.envelope.as_deref(), Some(example.profile), "{}", example.body);
        assert_eq!(verdict.valid, Some(true), "{}: {:?}", example.profile, verdict.errors);
        assert_eq!(verdict.event.as_deref(), Some(example.event), "{}", example.profile);
        assert_eq!(verdict.idempotency_key.as_deref(), example.key, "{}", example.profile);
        assert_eq!(
            verdict.environment.as_deref(),
            example.environment,
            "{}",
            example.profile
        );
    }
}

#[test]
fn no_profile_claims_another_ones_body_without_its_headers() {
    // A body alone, stripped of its provider's headers, is claimed by its own profile or none.
    for example in EXAMPLES {
        let verdict = inspect_request(
            example.body.as_bytes(),
            Some("application/json"),
            &[],
            &Choice::built_in(),
        );
        let claimed = verdict.envelope.as_deref();
        assert!(
            claimed.is_none() || claimed == Some(example.profile),
            "{}'s body was claimed by {claimed:?}",
            example.profile
        );
    }
}

fn required(name: &str) -> Choice {
    Choice {
        required: super::registry::by_name(name).map(ProfileRef::BuiltIn),
        custom: Arc::default(),
    }
}

#[test]
fn each_built_in_reports_its_errors_at_their_pointers() {
    /// A profile, the headers and body of a request that breaks it, and where.
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
        &'static str,
    );
    let cases: &[Case] = &[
        ("array_of_one", &[], "[]", ""),
        ("array_of_one", &[], r#"[{"a":1},{"a":2}]"#, ""),
        ("array_of_one", &[], "[7]", "/0"),
        (
            "standard_webhooks",
            &[("webhook-id", "m"), ("webhook-timestamp", "1")],
            r#"{"type":"a","timestamp":"yesterday","data":{}}"#,
            "/timestamp",
        ),
        (
            "standard_webhooks",
            &[("webhook-id", "m"), ("webhook-timestamp", "1")],
            r#"{"type":"a","timestamp":"2022-11-03T20:26:10Z","data":[]}"#,
            "/data",
        ),
        ("github", &[("X-GitHub-Event", "issues")], r#"{"action": 3}"#, "/action"),
        (
            "stripe",
            &[],
            r#"{"id":"evt_1","object":"event","type":"a","created":"soon","data":{"object":{}},"livemode":true}"#,
            "/created",
        ),
        (
            "stripe",
            &[],
            r#"{"id":"evt_1","object":"event","type":"a","created":1,"data":{},"livemode":true}"#,
            "/data/object",
        ),
        ("shopify", &[("X-Shopify-Topic", "orders/create")], "[1]", ""),
    ];
    for (profile, headers, body, pointer) in cases {
        let pairs: Vec<(&str, &[u8])> = headers.iter().map(|(name, value)| (*name, value.as_bytes())).collect();
        let verdict = inspect_request(body.as_bytes(), None, &pairs, &required(profile));
        assert_eq!(verdict.valid, Some(false), "{profile} {body}");
        assert!(
            verdict.errors.iter().any(|error| error.path == *pointer),
            "{profile} {body}: {:?}",
            verdict.errors
        );
    }
    let several = inspect_request(br#"[{"a":1},{"a":2}]"#, None, &[], &required("array_of_one"));
    assert!(
        several.errors[0].message.contains("this one has 2"),
        "{:?}",
        several.errors
    );
}

fn custom(json: serde_json::Value) -> CustomProfile {
    serde_json::from_value::<ProfileSpec>(json)
        .expect("spec")
        .build(Origin::Api)
        .expect("compiles")
}

#[test]
fn a_custom_profile_reports_schema_errors_at_the_instances_pointer_and_names_what_it_points_at() {
    let profile = custom(serde_json::json!({
        "name": "orders",
        "schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "required": ["kind", "order"],
            "properties": {
                "kind": {"const": "order"},
                "order": {"type": "object", "properties": {"id": {"type": "integer"}, "sku": {"pattern": "^[A-Z]{3}-\\d+$"}}},
                "env": {"enum": ["sandbox", "live"]}
            }
        },
        "detect": {"pointer": "/kind", "equals": "order"},
        "event_pointer": "/kind",
        "key_pointer": "/order/id",
        "environment_pointer": "/env"
    }));
    let choice = Choice {
        required: None,
        custom: Arc::new(vec![Arc::new(super::set::Defined {
            profile: Arc::new(profile),
            spec: serde_json::from_value(serde_json::json!({"name": "orders", "schema": {}})).expect("spec"),
            source: super::set::ProfileSource::Api,
        })]),
    };
    let good = inspect_request(
        br#"{"kind":"order","order":{"id":7,"sku":"ABC-1"},"env":"sandbox"}"#,
        None,
        &[],
        &choice,
    );
    assert_eq!(good.envelope.as_deref(), Some("orders"));
    assert_eq!(good.valid, Some(true), "{:?}", good.errors);
    assert_eq!(good.idempotency_key.as_deref(), Some("7"));
    assert_eq!(good.key_source.as_deref(), Some("body /order/id"));
    assert_eq!(good.environment.as_deref(), Some("sandbox"));
    let bad = inspect_request(
        br#"{"kind":"order","order":{"id":"7","sku":"abc"}}"#,
        None,
        &[],
        &choice,
    );
    let paths: Vec<&str> = bad.errors.iter().map(|error| error.path.as_str()).collect();
    assert!(
        paths.contains(&"/order/id") && paths.contains(&"/order/sku"),
        "{:?}",
        bad.errors
    );
    // Not detected: the built-ins decide.
    let other = inspect_request(br#"{"kind":"refund"}"#, None, &[], &choice);
    assert_eq!(other.envelope, None);
}

#[test]
fn a_schema_that_does_not_compile_or_refers_elsewhere_is_refused() {
    for schema in [
        serde_json::json!({"type": "no-such-type"}),
        serde_json::json!({"$ref": "https://example.com/schema.json"}),
        serde_json::json!({"$ref": "file:///etc/passwd"}),
        serde_json::json!({"properties": {"a": {"pattern": "("}}}),
    ] {
        let refused = serde_json::from_value::<ProfileSpec>(serde_json::json!({"name": "x", "schema": schema}))
            .expect("spec")
            .build(Origin::Api);
        assert_eq!(refused.expect_err("refused").pointer, "/schema", "{schema}");
    }
    let file = serde_json::from_value::<ProfileSpec>(serde_json::json!({"name": "x", "schema_file": "s.json"}))
        .expect("spec")
        .build(Origin::Api);
    assert_eq!(file.expect_err("refused").pointer, "/schema_file");
    let builtin = serde_json::from_value::<ProfileSpec>(serde_json::json!({"name": "github", "schema": {}}))
        .expect("spec")
        .build(Origin::Api);
    assert_eq!(builtin.expect_err("refused").pointer, "/name");
}
