//! Envelope verdicts through the API: the seed examples verbatim, and failing cases with their JSON paths.

use serde_json::Value;

use crate::helpers::*;

fn paths(findings: &Value) -> Vec<String> {
    findings
        .as_array()
        .expect("findings list")
        .iter()
        .map(|finding| finding["path"].as_str().expect("path").to_owned())
        .collect()
}

#[tokio::test]
async fn seed_examples_are_valid() {
    let app = spawn_app().await;
    let channel = app.detail(app.post_json("/seed/004", CHANNEL_EVENT_SEED).await).await;
    assert_eq!(channel["envelope"], "channel_event");
    assert_eq!(channel["valid"], true);
    assert_eq!(channel["event"], "business_loans.deleted");
    assert_eq!(channel["error_count"], 0);
    assert_eq!(channel["idempotency_key"], "26053e97-f78a-4d25-a519-4eed22ba5c41");

    let entity = app.detail(app.post_json("/seed/001", ENTITY_ACTION_SEED).await).await;
    assert_eq!(entity["envelope"], "entity_action");
    assert_eq!(entity["valid"], true);
    assert_eq!(entity["event"], "user.new");
    assert_eq!(entity["body"], ENTITY_ACTION_SEED, "the body is shown exactly as sent");
    app.stop().await;
}

#[tokio::test]
async fn entity_action_errors_point_at_their_members() {
    let app = spawn_app().await;
    let cases = [
        (
            r#"{"entity_type": "user", "action_type": "new", "result": {}}"#,
            "/entity_id",
        ),
        (
            r#"{"entity_id": "7", "entity_type": "user", "action_type": "new", "result": {}}"#,
            "/entity_id",
        ),
        (
            r#"{"entity_id": 7, "entity_type": "robot", "action_type": "new", "result": {}}"#,
            "/entity_type",
        ),
        (
            r#"{"entity_id": 7, "entity_type": "user", "action_type": "merge", "result": {}}"#,
            "/action_type",
        ),
        (
            r#"{"entity_id": 7, "entity_type": "user", "action_type": "update"}"#,
            "/result",
        ),
        (
            r#"{"entity_id": 7, "entity_type": "user", "action_type": "delete", "result": {"id": 7}}"#,
            "/result",
        ),
    ];
    for (body, path) in cases {
        let detail = app.detail(app.post_json("/e", body).await).await;
        assert_eq!(detail["envelope"], "entity_action", "{body}");
        assert_eq!(detail["valid"], false, "{body}");
        assert_eq!(paths(&detail["errors"]), [path], "{body}");
        assert_eq!(detail["error_count"], 1);
    }
    app.stop().await;
}

#[tokio::test]
async fn channel_event_errors_say_what_is_wrong() {
    let app = spawn_app().await;
    let unknown = app
        .detail(app.post_json("/c", &channel_event("loans.created", "k1")).await)
        .await;
    assert_eq!(paths(&unknown["errors"]), ["/event"]);
    assert!(
        unknown["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown channel \"loans\"")
    );

    let not_allowed = app
        .detail(app.post_json("/c", &channel_event("business.deleted", "k2")).await)
        .await;
    let message = not_allowed["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not allowed for channel \"business\" (allowed: updated)"),
        "{message}"
    );

    let wrong =
        r#"{"event": "invoices.created", "message": 1, "idempotency_key": "", "environment": "dev", "data": 2}"#;
    let detail = app.detail(app.post_json("/c", wrong).await).await;
    assert_eq!(
        paths(&detail["errors"]),
        ["/message", "/idempotency_key", "/environment", "/data"]
    );
    app.stop().await;
}

#[tokio::test]
async fn suspicious_things_are_warnings_not_errors() {
    let app = spawn_app().await;
    let body = r#"{"event": "invoices.created", "message": "m", "idempotency_key": "not-a-uuid",
                   "environment": "production", "data": {"tag": 1}, "extra": true}"#;
    let detail = app.detail(app.post_json("/w", body).await).await;
    assert_eq!(detail["valid"], true);
    assert_eq!(paths(&detail["warnings"]), ["/idempotency_key", "/data/id", "/extra"]);
    assert_eq!(detail["warning_count"], 3);
    app.stop().await;
}

#[tokio::test]
async fn json_that_does_not_parse_is_invalid_with_line_and_column() {
    let app = spawn_app().await;
    let detail = app.detail(app.post_json("/broken", "{\n  \"event\": ,\n}").await).await;
    assert_eq!(detail["envelope"], Value::Null);
    assert_eq!(detail["valid"], false);
    assert_eq!(paths(&detail["errors"]), [""]);
    let message = detail["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("line 2 column"), "{message}");

    let empty = app
        .detail(
            app.post_with("/empty", "application/vnd.api+json", Vec::new(), &[])
                .await,
        )
        .await;
    assert_eq!(empty["valid"], false);
    app.stop().await;
}

#[tokio::test]
async fn json_is_checked_by_content_whatever_the_content_type() {
    let app = spawn_app().await;
    let id = app
        .post_with("/form", "text/plain", CHANNEL_EVENT_SEED.as_bytes().to_vec(), &[])
        .await;
    let detail = app.detail(id).await;
    assert_eq!(detail["envelope"], "channel_event");
    assert_eq!(detail["valid"], true);
    app.stop().await;
}

#[tokio::test]
async fn unrelated_json_arrays_and_text_have_no_verdict() {
    let app = spawn_app().await;
    for (body, kind) in [
        (r#"{"hello": 1}"#, "json"),
        (r#"[{"entity_id": 1}, {"entity_id": 2}]"#, "json"),
        ("[1]", "json"),
        ("plain words", "text"),
    ] {
        let id = app.post_with("/n", "text/plain", body.as_bytes().to_vec(), &[]).await;
        let detail = app.detail(id).await;
        assert_eq!(detail["envelope"], Value::Null, "{body}");
        assert_eq!(detail["valid"], Value::Null, "{body}");
        assert_eq!(detail["body_kind"], kind, "{body}");
        assert_eq!(detail["event"], Value::Null);
    }
    app.stop().await;
}

/// Real providers' payloads, as their documentation shows them (abridged), with the headers they are sent with,
/// and the profile that claims each (Slack has none).
const PROVIDER_PAYLOADS: [(&str, &str, &str, Option<&str>); 6] = [
    (
        "github_deployment_review.json",
        "x-github-event",
        "deployment_review",
        Some("github"),
    ),
    ("github_push.json", "x-github-event", "push", Some("github")),
    (
        "stripe_event.json",
        "stripe-signature",
        "t=1686089970,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd",
        Some("stripe"),
    ),
    (
        "slack_event_callback.json",
        "x-slack-request-timestamp",
        "1515449522",
        None,
    ),
    (
        "slack_url_verification.json",
        "x-slack-request-timestamp",
        "1515449522",
        None,
    ),
    (
        "shopify_orders_create.json",
        "x-shopify-topic",
        "orders/create",
        Some("shopify"),
    ),
];

#[tokio::test]
async fn real_provider_payloads_are_claimed_by_their_own_profile_never_by_the_seed_envelopes() {
    let app = spawn_app().await;
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/providers");
    for (file, header, value, profile) in PROVIDER_PAYLOADS {
        let body = std::fs::read(fixtures.join(file)).expect("fixture");
        let id = app
            .post_with("/hooks/provider", "application/json", body, &[(header, value)])
            .await;
        let detail = app.detail(id).await;
        assert_eq!(detail["body_kind"], "json", "{file}");
        assert_eq!(detail["envelope"].as_str(), profile, "{file} was claimed: {detail}");
        assert_eq!(detail["errors"], serde_json::json!([]), "{file}");
        if profile.is_none() {
            assert_eq!(detail["valid"], Value::Null, "{file}");
            assert_eq!(detail["warnings"], serde_json::json!([]), "{file}");
        } else {
            assert_eq!(detail["valid"], true, "{file}: {detail}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_seed_envelope_claims_a_body_only_by_its_distinguishing_members() {
    let app = spawn_app().await;
    let verdict = |body: &'static str| {
        let app = &app;
        async move { app.detail(app.post_json("/claims", body).await).await }
    };
    // Shared words alone claim nothing.
    for body in [
        r#"{"data": {"id": 1}, "message": "hi"}"#,
        r#"{"environment": "production", "result": {}}"#,
        r#"{"entity_id": 7}"#,
        r#"{"event": {"type": "app_mention"}, "data": {}}"#,
    ] {
        assert_eq!(verdict(body).await["envelope"], Value::Null, "{body}");
    }
    // A distinguishing member claims the body, which is then checked as before.
    let by_key = verdict(r#"{"idempotency_key": "k", "data": {"id": 1}}"#).await;
    assert_eq!(by_key["envelope"], "channel_event");
    assert_eq!(by_key["valid"], false);
    assert_eq!(paths(&by_key["errors"]), ["/event", "/message", "/environment"]);
    let by_event = verdict(r#"{"event": "invoices.created"}"#).await;
    assert_eq!(by_event["envelope"], "channel_event");
    let by_action = verdict(r#"{"action_type": "new", "entity_id": 1}"#).await;
    assert_eq!(by_action["envelope"], "entity_action");
    assert_eq!(verdict(r#"{"entity_type": "user"}"#).await["envelope"], "entity_action");
    app.stop().await;
}
