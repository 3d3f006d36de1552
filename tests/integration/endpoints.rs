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
