//! Endpoints from the `--respond` shorthand: answers in turn, the last repeating, a delay after the commit, and the
//! record of what each request was answered.

use std::time::{Duration, Instant};

use hookscope::endpoints::{pattern::PathPattern, steps::parse_shorthand};

use crate::helpers::*;

fn respond(pattern: &str, steps: &str) -> (PathPattern, Vec<hookscope::endpoints::steps::Step>) {
    (
        PathPattern::parse(pattern).expect("pattern"),
        parse_shorthand(steps).expect("steps"),
    )
}

async fn post_status(app: &TestApp, path: &str) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("answer")
}

#[tokio::test]
async fn five_hundred_twice_then_two_hundred_is_answered_in_turn_and_recorded() {
    let app = spawn_app_with(|c| c.respond = vec![respond("/hooks/flaky/**", "500x2,200")]).await;
    let mut answered = Vec::new();
    for n in 0..4 {
        let response = post_status(&app, &format!("/hooks/flaky/{n}")).await;
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["content-security-policy"], "sandbox");
        answered.push(response.status().as_u16());
    }
    assert_eq!(answered, [500, 500, 200, 200]);
    // Every one of them is captured, 500s included, with what it was answered.
    let page = app.get_json("/_/api/requests", 200).await;
    let records = page["requests"].as_array().expect("requests");
    assert_eq!(records.len(), 4);
    let oldest = &records[3];
    assert_eq!(oldest["endpoint"], "respond-1");
    assert_eq!(
        oldest["response"],
        serde_json::json!({"status": 500, "delay_ms": 0, "step": 0, "reason": "step"})
    );
    assert_eq!(records[0]["response"]["step"], 1);

    // A request under no endpoint is answered as before, and says so.
    let other = post_status(&app, "/elsewhere").await;
    assert_eq!(other.status(), 200);
    let id = other.json::<serde_json::Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    let detail = app.detail(id).await;
    assert_eq!(detail["endpoint"], serde_json::Value::Null);
    assert_eq!(detail["response"]["reason"], "default");
    app.stop().await;
}

#[tokio::test]
async fn a_delayed_answer_comes_after_the_commit_and_at_least_the_delay_later() {
    let app = spawn_app_with(|c| c.respond = vec![respond("/slow", "202@600ms")]).await;
    let started = Instant::now();
    let waiting = tokio::spawn({
        let client = app.client.clone();
        let url = app.url("/slow");
        async move { client.post(url).body("{}").send().await.expect("answer").status() }
    });
    // The capture is on disk while its sender still waits.
    let deadline = Instant::now() + Duration::from_millis(500);
    let mut listed = false;
    while Instant::now() < deadline && !listed {
        listed = !app.list_ids("").await.is_empty();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(listed, "the request was committed before its answer");
    assert_eq!(waiting.await.expect("task"), 202);
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    let id = app.list_ids("").await[0];
    assert_eq!(app.detail(id).await["response"]["delay_ms"], 600);
    app.stop().await;
}

/// Starts hookscope with the endpoints of a configuration file written from `toml`.
async fn spawn_with_file(toml: &str) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("hookscope.toml");
    std::fs::write(&path, toml).expect("write");
    let file = hookscope::config::file::load(&path).expect("a valid file");
    (spawn_app_with(|c| c.file = Some(file)).await, dir)
}

async fn post(app: &TestApp, path: &str, body: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("answer")
}

#[tokio::test]
async fn an_inactive_endpoint_answers_410_and_a_missing_header_401_and_both_are_captured() {
    let (app, _dir) = spawn_with_file(
        r#"
[[endpoint]]
name = "gone"
path = "/gone/**"
active = false

[[endpoint]]
name = "guarded"
path = "/guarded"
require_header = { name = "Ocp-Apim-Subscription-Key", value = "k1" }
"#,
    )
    .await;
    assert_eq!(post(&app, "/gone/x", "{}", &[]).await.status(), 410);
    assert_eq!(post(&app, "/guarded", "{}", &[]).await.status(), 401);
    assert_eq!(
        post(&app, "/guarded", "{}", &[("ocp-apim-subscription-key", "k1")])
            .await
            .status(),
        200
    );
    let page = app.get_json("/_/api/requests", 200).await;
    let reasons: Vec<&str> = page["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|request| request["response"]["reason"].as_str().expect("reason"))
        .collect();
    assert_eq!(reasons, ["step", "unauthorized", "inactive"]);
    app.stop().await;
}

#[tokio::test]
async fn chaos_at_rate_one_always_and_at_rate_zero_never() {
    let (app, _dir) = spawn_with_file(
        r#"
[[endpoint]]
name = "always"
path = "/always"
chaos = { rate = 1.0, status = 503 }

[[endpoint]]
name = "never"
path = "/never"
chaos = { rate = 0.0, status = 503 }
"#,
    )
    .await;
    for _ in 0..5 {
        assert_eq!(post(&app, "/always", "{}", &[]).await.status(), 503);
        assert_eq!(post(&app, "/never", "{}", &[]).await.status(), 200);
    }
    let page = app.get_json("/_/api/requests?limit=1", 200).await;
    assert_eq!(page["requests"][0]["endpoint"], "never");
    let chaotic = app.get_json("/_/api/requests?limit=2", 200).await;
    assert_eq!(chaotic["requests"][1]["response"]["reason"], "chaos");
    app.stop().await;
}

#[tokio::test]
async fn each_idempotency_key_has_its_own_place_in_the_steps_under_sequence_key() {
    let (app, _dir) = spawn_with_file(
        r#"
[[endpoint]]
name = "retries"
path = "/retries"
sequence = "key"
respond = [{ status = 500, times = 2 }, { status = 200 }]
"#,
    )
    .await;
    let mut statuses = Vec::new();
    // Two deliveries whose retries interleave: each sees 500, 500, 200.
    for key in ["a", "b", "a", "b", "a", "b"] {
        statuses.push(
            post(&app, "/retries", "{}", &[("idempotency-key", key)])
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, [500, 500, 500, 500, 200, 200]);
    app.stop().await;
}

#[tokio::test]
async fn a_step_answers_with_its_headers_and_a_body_filled_from_the_request() {
    let (app, _dir) = spawn_with_file(
        r#"
[[endpoint]]
name = "slack"
path = "/slack/events"
respond = [{ headers = { "Content-Type" = "application/json", "Retry-After" = "3" }, body = '{"challenge": {{json:/challenge}}, "id": {{id}}}' }]
"#,
    )
    .await;
    let response = post(
        &app,
        "/slack/events",
        r#"{"type":"url_verification","challenge":"3eZbrw1a"}"#,
        &[],
    )
    .await;
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["content-security-policy"], "sandbox");
    let answer: serde_json::Value = response.json().await.expect("json");
    assert_eq!(answer["challenge"], "3eZbrw1a");
    assert_eq!(answer["id"], 1);
    app.stop().await;
}

#[tokio::test]
async fn an_endpoints_profile_is_the_one_checked_and_events_outside_its_list_are_warned() {
    let (app, _dir) = spawn_with_file(
        r#"
[[endpoint]]
name = "crm"
path = "/crm"
profile = "entity_action"
events = ["user.new"]
"#,
    )
    .await;
    let other = post(&app, "/crm", r#"{"event":"invoices.created"}"#, &[]).await;
    let id = other.json::<serde_json::Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    let detail = app.detail(id).await;
    assert_eq!(detail["envelope"], "entity_action");
    assert_eq!(detail["valid"], false);
    assert_eq!(detail["errors"][0]["path"], "");
    assert!(
        detail["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("expects the entity_action profile"))
    );
    let unsubscribed = post(
        &app,
        "/crm",
        r#"{"entity_id":1,"entity_type":"company","action_type":"delete"}"#,
        &[],
    )
    .await;
    let id = unsubscribed.json::<serde_json::Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    let detail = app.detail(id).await;
    assert_eq!(detail["valid"], true);
    let warnings = detail["warnings"].to_string();
    assert!(warnings.contains("not subscribed"), "{warnings}");
    app.stop().await;
}

#[tokio::test]
async fn the_list_and_the_stream_filter_by_endpoint_answered_status_key_and_time() {
    let app = spawn_app_with(|c| c.respond = vec![respond("/flaky", "500x2,200")]).await;
    let started = hookscope::record::format_timestamp(hookscope::record::now_ms() - 1);
    let mut ids = Vec::new();
    for key in ["a", "a", "a"] {
        let response = post(&app, "/flaky", "{}", &[("idempotency-key", key)]).await;
        ids.push(
            response.json::<serde_json::Value>().await.expect("json")["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let other = app.post_json("/other", "{}").await;
    let list = |query: &str| {
        let app = &app;
        let query = query.to_owned();
        async move { ids_of(&app.get_json(&format!("/_/api/requests?{query}"), 200).await) }
    };
    assert_eq!(list("endpoint=respond-1").await, [ids[2], ids[1], ids[0]]);
    assert_eq!(list("status=5xx").await, [ids[1], ids[0]]);
    assert_eq!(list("status=200").await, [other, ids[2]]);
    assert_eq!(list("key=a").await, [ids[2], ids[1], ids[0]]);
    assert_eq!(list(&format!("since={}", url_encode(&started))).await.len(), 4);
    assert_eq!(list("until=2000-01-01T00:00:00Z").await, Vec::<i64>::new());
    app.get_json("/_/api/requests?status=99", 400).await;
    app.stop().await;
}

fn url_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn endpoints_made_through_the_api_answer_count_change_and_outlive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("api.db");
    let app = spawn_app_at(&db, |c| c.respond = vec![respond("/flag", "200")]).await;
    let flaky = serde_json::json!({
        "name": "flaky",
        "path": "/api/flaky",
        "respond": [{"status": 500, "times": 2}, {}]
    });
    let created = send_json(&app, reqwest::Method::POST, "/_/api/endpoints", flaky.clone()).await;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await.expect("json");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["source"], "api");
    assert_eq!(created["respond"][1]["status"], 200, "defaults are filled");

    // Names are unique; a bad field is named by its pointer.
    let again = send_json(&app, reqwest::Method::POST, "/_/api/endpoints", flaky).await;
    assert_eq!(again.status(), 409);
    let bad = send_json(
        &app,
        reqwest::Method::POST,
        "/_/api/endpoints",
        serde_json::json!({"name": "bad", "path": "/bad", "respond": [{"status": 99}]}),
    )
    .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.json::<serde_json::Value>().await.expect("json")["path"],
        "/respond/0/status"
    );
    let unknown = send_json(
        &app,
        reqwest::Method::POST,
        "/_/api/endpoints",
        serde_json::json!({"name": "u", "path": "/u", "nope": 1}),
    )
    .await;
    assert_eq!(unknown.status(), 400);

    let statuses: Vec<u16> = futures_util::future::join_all(
        (0..3).map(|_| async { post(&app, "/api/flaky", "{}", &[]).await.status().as_u16() }),
    )
    .await;
    let mut sorted = statuses.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [200, 500, 500]);
    let read = app.get_json(&format!("/_/api/endpoints/{id}"), 200).await;
    assert_eq!(read["stats"]["received"], 3);
    assert_eq!(read["stats"]["by_status"], serde_json::json!({"200": 1, "500": 2}));

    // A merge patch deactivates it: still captured, answered 410.
    let patched = send_json(
        &app,
        reqwest::Method::PATCH,
        &format!("/_/api/endpoints/{id}"),
        serde_json::json!({"active": false}),
    )
    .await;
    assert_eq!(patched.status(), 200);
    assert_eq!(post(&app, "/api/flaky", "{}", &[]).await.status(), 410);
    assert_eq!(
        app.get_json("/_/api/requests?limit=1", 200).await["requests"][0]["response"]["reason"],
        "inactive"
    );

    // Endpoints of the command line are read-only here.
    let list = app.get_json("/_/api/endpoints", 200).await;
    let flag_id = list["endpoints"]
        .as_array()
        .expect("list")
        .iter()
        .find(|endpoint| endpoint["source"] == "flag")
        .and_then(|endpoint| endpoint["id"].as_i64())
        .expect("the flag's endpoint");
    let refused = send_json(
        &app,
        reqwest::Method::PATCH,
        &format!("/_/api/endpoints/{flag_id}"),
        serde_json::json!({"active": false}),
    )
    .await;
    assert_eq!(refused.status(), 409);
    let reset = app
        .client
        .post(app.url(&format!("/_/api/endpoints/{flag_id}/reset")))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status(), 204);
    app.stop().await;

    // Stored: it comes back after a restart, as changed.
    let app = spawn_app_at(&db, |_| {}).await;
    let read = app.get_json(&format!("/_/api/endpoints/{id}"), 200).await;
    assert_eq!(
        (read["name"].clone(), read["active"].clone()),
        ("flaky".into(), false.into())
    );
    let deleted = app
        .client
        .delete(app.url(&format!("/_/api/endpoints/{id}")))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), 204);
    app.get_json(&format!("/_/api/endpoints/{id}"), 404).await;
    app.stop().await;
}

#[tokio::test]
async fn an_edit_of_the_file_takes_effect_without_a_restart_and_a_broken_one_changes_nothing() {
    let (app, dir) =
        spawn_with_file("[[endpoint]]\nname = \"flaky\"\npath = \"/edit\"\nrespond = [{ status = 500 }]\n").await;
    assert_eq!(post(&app, "/edit", "{}", &[]).await.status(), 500);
    let path = dir.path().join("hookscope.toml");
    std::fs::write(
        &path,
        "[[endpoint]]\nname = \"flaky\"\npath = \"/edit\"\nrespond = [{ status = 201 }]\n",
    )
    .expect("edit");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut status = 500;
    while status != 201 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = post(&app, "/edit", "{}", &[]).await.status().as_u16();
    }
    assert_eq!(status, 201, "the edit was applied");
    std::fs::write(
        &path,
        "[[endpoint]]\nname = \"flaky\"\npath = \"/edit\"\nrespond = [{ status = 99 }]\n",
    )
    .expect("edit");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        post(&app, "/edit", "{}", &[]).await.status(),
        201,
        "a broken edit keeps what was there"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_file_endpoint_named_like_one_made_through_the_api_stops_start_up() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("conflict.db");
    let app = spawn_app_at(&db, |_| {}).await;
    let created = send_json(
        &app,
        reqwest::Method::POST,
        "/_/api/endpoints",
        serde_json::json!({"name": "shared", "path": "/shared"}),
    )
    .await;
    assert_eq!(created.status(), 201);
    app.stop().await;
    let path = dir.path().join("hookscope.toml");
    std::fs::write(&path, "[[endpoint]]\nname = \"shared\"\npath = \"/other\"\n").expect("write");
    let file = hookscope::config::file::load(&path).expect("valid on its own");
    let mut config = hookscope::config::Config::ephemeral();
    config.store.location = hookscope::store::Location::File(db.clone());
    config.file = Some(file);
    let refused = match hookscope::startup::Application::build(config).await {
        Ok(_) => panic!("start-up should stop"),
        Err(error) => error.to_string(),
    };
    assert!(
        refused.contains("an endpoint is named shared, as an endpoint made through the API is"),
        "{refused}"
    );
}
