//! Profiles over HTTP: GitHub and Stripe duplicates out of the box, environments, custom JSON Schema profiles made
//! through the API and the file, their precedence, and the mistakes that are refused.

use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// A JSON Schema for orders, with what the custom profile points at.
fn orders_profile() -> Value {
    json!({
        "name": "orders",
        "schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "required": ["kind", "order"],
            "properties": {
                "kind": {"const": "order"},
                "order": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
                "env": {"enum": ["sandbox", "live"]}
            }
        },
        "detect": {"pointer": "/kind", "equals": "order"},
        "event_pointer": "/kind",
        "key_pointer": "/order/id",
        "environment_pointer": "/env"
    })
}

#[tokio::test]
async fn a_repeated_github_delivery_and_a_repeated_stripe_event_are_duplicates_out_of_the_box() {
    let app = spawn_app().await;
    let push = r#"{"ref": "refs/heads/main", "commits": []}"#;
    let github = [
        ("X-GitHub-Event", "push"),
        ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    ];
    let first = app
        .post_with("/gh", "application/json", push.as_bytes().to_vec(), &github)
        .await;
    let again = app
        .post_with("/gh", "application/json", push.as_bytes().to_vec(), &github)
        .await;
    let detail = app.detail(again).await;
    assert_eq!(detail["envelope"], "github");
    assert_eq!(detail["event"], "push");
    assert_eq!(detail["duplicate_of"], first);
    assert_eq!(detail["key_source"], "header X-GitHub-Delivery");

    let event = r#"{"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1686089970, "livemode": true, "data": {"object": {"id": "in_1"}}}"#;
    let first = app.post_json("/stripe", event).await;
    let again = app.post_json("/stripe", event).await;
    let detail = app.detail(again).await;
    assert_eq!(detail["envelope"], "stripe");
    assert_eq!(detail["duplicate_of"], first);
    assert_eq!(detail["key_source"], "body /id");
    assert_eq!(detail["environment"], "live");
    assert_eq!(app.list_ids("environment=live").await, [again, first]);
    assert_eq!(app.list_ids("envelope=github").await.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn an_endpoint_expecting_another_environment_warns() {
    let app = spawn_app().await;
    create_endpoint(
        &app,
        json!({"name": "prod", "path": "/prod", "environment": "production"}),
    )
    .await;
    let id = app
        .post_json(
            "/prod",
            &channel_event("invoices.created", "8b5a1c9e-1111-4a8e-9d55-1f5e0c4b8a11"),
        )
        .await;
    let detail = app.detail(id).await;
    assert_eq!(detail["environment"], "staging");
    let warnings = detail["warnings"].to_string();
    assert!(
        warnings.contains("this request is staging, and endpoint prod expects production"),
        "{warnings}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_custom_profile_made_through_the_api_checks_what_it_detects_before_the_built_ins() {
    let app = spawn_app().await;
    let created = create_profile(&app, orders_profile()).await;
    assert_eq!(created["source"], "api");
    let good = app
        .post_json("/orders", r#"{"kind":"order","order":{"id":7},"env":"sandbox"}"#)
        .await;
    let detail = app.detail(good).await;
    assert_eq!(detail["envelope"], "orders");
    assert_eq!(detail["valid"], true, "{detail}");
    assert_eq!(detail["event"], "order");
    assert_eq!(detail["idempotency_key"], "7");
    assert_eq!(detail["key_source"], "body /order/id");
    assert_eq!(detail["environment"], "sandbox");
    let bad = app
        .post_json("/orders", r#"{"kind":"order","order":{"id":"seven"},"env":"prod"}"#)
        .await;
    let detail = app.detail(bad).await;
    assert_eq!(detail["valid"], false);
    let paths: Vec<&str> = detail["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["path"].as_str().unwrap_or_default())
        .collect();
    assert!(paths.contains(&"/order/id") && paths.contains(&"/env"), "{detail}");
    assert_eq!(app.list_ids("envelope=orders").await, [bad, good]);

    // Precedence: a custom profile detected wins over a built-in the body also resembles.
    let overlapping = json!({
        "name": "mine", "schema": {"type": "object"}, "detect": {"header": "X-Mine"}
    });
    create_profile(&app, overlapping).await;
    let id = app
        .post_with(
            "/mine",
            "application/json",
            channel_event("invoices.created", "k").into_bytes(),
            &[("X-Mine", "1")],
        )
        .await;
    assert_eq!(app.detail(id).await["envelope"], "mine");
    // An endpoint that requires one applies it even without its detect rule.
    create_endpoint(&app, json!({"name": "strict", "path": "/strict", "profile": "orders"})).await;
    let id = app.post_json("/strict", r#"{"kind":"refund"}"#).await;
    let detail = app.detail(id).await;
    assert_eq!(detail["envelope"], "orders");
    assert_eq!(detail["valid"], false);

    let listed = app.get_json("/_/api/profiles", 200).await;
    let names: Vec<&str> = listed["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .map(|profile| profile["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        [
            "channel_event",
            "entity_action",
            "array_of_one",
            "standard_webhooks",
            "github",
            "stripe",
            "shopify",
            "orders",
            "mine"
        ]
    );
    let patched = send_json(
        &app,
        Method::PATCH,
        "/_/api/profiles/mine",
        json!({"detect": {"header": "X-Other"}}),
    )
    .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(app.delete("/_/api/profiles/mine").await, 204);
    assert_eq!(
        send_json(&app, Method::DELETE, "/_/api/profiles/github", json!({}))
            .await
            .status(),
        409
    );
    app.stop().await;
}

async fn create_profile(app: &TestApp, profile: Value) -> Value {
    let response = send_json(app, Method::POST, "/_/api/profiles", profile).await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, 201, "{body}");
    body
}

#[tokio::test]
async fn a_bad_schema_a_remote_ref_a_file_or_a_taken_name_is_refused_by_field() {
    let app = spawn_app().await;
    for (profile, pointer) in [
        (json!({"name": "x", "schema": {"type": 12}}), "/schema"),
        (
            json!({"name": "x", "schema": {"$ref": "https://example.com/s.json"}}),
            "/schema",
        ),
        (json!({"name": "x", "schema_file": "/etc/passwd"}), "/schema_file"),
        (json!({"name": "stripe", "schema": {}}), "/name"),
        (
            json!({"name": "x", "schema": {}, "detect": {"header": "bad header"}}),
            "/detect/header",
        ),
        (
            json!({"name": "x", "schema": {}, "event_pointer": "type"}),
            "/event_pointer",
        ),
    ] {
        let refused = send_json(&app, Method::POST, "/_/api/profiles", profile.clone()).await;
        assert_eq!(refused.status(), 400, "{profile}");
        let error: Value = refused.json().await.expect("JSON");
        assert_eq!(error["path"], pointer, "{error}");
    }
    let unknown = send_json(
        &app,
        Method::POST,
        "/_/api/endpoints",
        json!({"name": "e", "path": "/e", "profile": "nowhere"}),
    )
    .await;
    assert_eq!(unknown.status(), 400);
    app.stop().await;
}

#[test]
fn the_file_defines_profiles_with_schema_files_and_a_broken_one_is_one_sentence_naming_the_file() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("orders.schema.json"),
        r#"{"type": "object", "required": ["order"]}"#,
    )
    .expect("schema");
    let config = dir.path().join("hookscope.toml");
    std::fs::write(
        &config,
        "[[profile]]\nname = \"orders\"\nschema_file = \"orders.schema.json\"\ndetect = { header = \"X-Orders\" }\n\n[[endpoint]]\nname = \"o\"\npath = \"/o\"\nprofile = \"orders\"\n",
    )
    .expect("config");
    let output = Command::new(env!("CARGO_BIN_EXE_hookscope"))
        .args(["--listen", "127.0.0.1:0", "--db", ":memory:", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let mut child = output;
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().expect("stdout")));
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let url = first.split_whitespace().last().expect("URL").to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    let client = reqwest::blocking::Client::builder().no_proxy().build().expect("client");
    let answer: Value = client
        .post(format!("{url}/o"))
        .body("{}")
        .send()
        .expect("answer")
        .json()
        .expect("JSON");
    let detail: Value = client
        .get(format!("{url}/_/api/requests/{}", answer["id"]))
        .send()
        .expect("detail")
        .json()
        .expect("JSON");
    assert_eq!(detail["envelope"], "orders");
    assert_eq!(detail["valid"], false, "{detail}");
    let profiles: Value = client
        .get(format!("{url}/_/api/profiles"))
        .send()
        .expect("list")
        .json()
        .expect("JSON");
    assert!(profiles.to_string().contains(r#""source":"file""#), "{profiles}");
    child.kill().expect("kill");
    let _ = child.wait();

    std::fs::write(&config, "[[profile]]\nname = \"broken\"\nschema = { type = 12 }\n").expect("config");
    let output = Command::new(env!("CARGO_BIN_EXE_hookscope"))
        .args(["--listen", "127.0.0.1:0", "--db", ":memory:", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(
        stderr.lines().filter(|line| !line.trim().is_empty()).count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("hookscope.toml") && stderr.contains("profile broken") && stderr.contains("/schema"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_edit_of_the_files_profiles_takes_effect_and_a_conflicting_one_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hookscope.toml");
    let profile = |kind: &str| {
        format!(
            "[[profile]]\nname = \"kinds\"\ndetect = {{ header = \"X-Kind\" }}\nschema = {{ properties = {{ kind = {{ const = \"{kind}\" }} }} }}\n"
        )
    };
    std::fs::write(&path, profile("a")).expect("write");
    let file = hookscope::config::file::load(&path).expect("a valid file");
    let app = spawn_app_with(|c| c.file = Some(file)).await;
    let valid = async |app: &TestApp| {
        let id = app
            .post_with(
                "/k",
                "application/json",
                br#"{"kind":"b"}"#.to_vec(),
                &[("X-Kind", "1")],
            )
            .await;
        app.detail(id).await["valid"].clone()
    };
    assert_eq!(valid(&app).await, false);
    std::fs::write(&path, profile("b")).expect("edit");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while valid(&app).await != true {
        assert!(std::time::Instant::now() < deadline, "the edit was applied");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // An edit whose endpoint takes a name the API already has changes neither part.
    create_endpoint(&app, json!({"name": "taken", "path": "/taken"})).await;
    std::fs::write(
        &path,
        format!("{}\n[[endpoint]]\nname = \"taken\"\npath = \"/t\"\n", profile("c")),
    )
    .expect("edit");
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(valid(&app).await, true, "the profile stayed as it was");
    app.stop().await;
}
