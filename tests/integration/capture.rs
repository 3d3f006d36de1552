//! Capture: every method and path outside /_/, stored byte-exact and committed before the answer.

use crate::helpers::*;

#[tokio::test]
async fn every_method_is_captured_with_path_and_query() {
    let app = spawn_app().await;
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PURGE"] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = app
            .client
            .request(method.clone(), app.url("/hooks/any?b=2&a=1"))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{method}");
    }
    let page = app.get_json("/_/api/requests?limit=500", 200).await;
    let requests = page["requests"].as_array().expect("list");
    assert_eq!(requests.len(), 8);
    let methods: Vec<_> = requests
        .iter()
        .rev()
        .map(|r| r["method"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        methods,
        ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "PURGE"]
    );
    for request in requests {
        assert_eq!(request["path"], "/hooks/any");
        assert_eq!(request["query"], "b=2&a=1");
    }
    app.stop().await;
}

#[tokio::test]
async fn answer_names_the_stored_id_and_ids_increase() {
    let app = spawn_app().await;
    let first = app.post_json("/a", "{}").await;
    let second = app.post_json("/b", "{}").await;
    assert!(second > first);
    let detail = app.detail(second).await;
    assert_eq!(detail["path"], "/b");
    app.stop().await;
}

#[tokio::test]
async fn received_at_is_utc_with_milliseconds_and_query_is_empty_without_one() {
    let app = spawn_app().await;
    let id = app.post_json("/t", "{}").await;
    let detail = app.detail(id).await;
    let received_at = detail["received_at"].as_str().expect("timestamp");
    assert_eq!(received_at.len(), "2026-11-22T10:15:30.123Z".len(), "{received_at}");
    assert!(
        received_at.ends_with('Z') && received_at.as_bytes()[19] == b'.',
        "{received_at}"
    );
    assert_eq!(detail["query"], "");
    assert!(
        detail["remote_addr"]
            .as_str()
            .expect("remote")
            .starts_with("127.0.0.1:")
    );
    app.stop().await;
}

#[tokio::test]
async fn binary_body_is_stored_byte_exact() {
    let app = spawn_app().await;
    let body: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let id = app
        .post_with("/bin", "application/octet-stream", body.clone(), &[])
        .await;
    let detail = app.detail(id).await;
    assert_eq!(detail["body_kind"], "binary");
    assert!(detail.get("body").is_none());
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(detail["body_base64"].as_str().expect("base64 body"))
        .expect("valid base64");
    assert_eq!(decoded, body);
    let raw = app
        .client
        .get(app.url(&format!("/_/api/requests/{id}/body")))
        .send()
        .await
        .expect("raw body");
    assert_eq!(raw.bytes().await.expect("bytes").to_vec(), body);
    app.stop().await;
}

#[tokio::test]
async fn non_utf8_text_body_is_kept_exactly() {
    let app = spawn_app().await;
    let body = b"caf\xe9 latin-1 \x00 with a NUL".to_vec();
    let id = app
        .post_with("/latin1", "text/plain; charset=iso-8859-1", body.clone(), &[])
        .await;
    let raw = app
        .client
        .get(app.url(&format!("/_/api/requests/{id}/body")))
        .send()
        .await
        .expect("raw body");
    assert_eq!(raw.bytes().await.expect("bytes").to_vec(), body);
    assert_eq!(app.detail(id).await["body_size"], body.len());
    app.stop().await;
}

#[tokio::test]
async fn repeated_headers_are_kept_in_order() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/h"))
        .header("x-repeat", "one")
        .header("x-other", "o")
        .header("x-repeat", "two")
        .body("x")
        .send()
        .await
        .expect("request");
    let id = response.json::<serde_json::Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    let detail = app.detail(id).await;
    let repeats: Vec<_> = detail["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .filter(|pair| pair[0] == "x-repeat")
        .map(|pair| pair[1].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(repeats, ["one", "two"]);
    app.stop().await;
}

#[tokio::test]
async fn body_over_the_limit_is_refused_and_the_server_stays_healthy() {
    let app = spawn_app_with(|config| config.limits.max_body = 1024).await;
    let response = app
        .client
        .post(app.url("/big"))
        .body(vec![b'x'; 1025])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
    let error: serde_json::Value = response.json().await.expect("JSON error");
    assert!(error["error"].as_str().expect("message").contains("1024"));

    let at_limit = app.post_with("/big", "text/plain", vec![b'x'; 1024], &[]).await;
    assert_eq!(app.detail(at_limit).await["body_size"], 1024);
    assert_eq!(app.list_ids("").await, [at_limit]);
    assert_eq!(app.get_json("/_/health", 200).await["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn page_and_reserved_paths_are_not_captured() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/")).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let reserved = app.client.post(app.url("/_/anything")).send().await.expect("reserved");
    assert_eq!(reserved.status(), 404);
    assert!(app.list_ids("").await.is_empty());

    let post_root = app.post_json("/", "{}").await;
    assert_eq!(app.list_ids("").await, [post_root]);
    app.stop().await;
}

#[tokio::test]
async fn requests_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("nested/dir/hookscope.db");
    let app = spawn_app_at(&db, |_| {}).await;
    let first = app.post_json("/before", CHANNEL_EVENT_SEED).await;
    app.stop().await;

    let app = spawn_app_at(&db, |_| {}).await;
    let detail = app.detail(first).await;
    assert_eq!(detail["path"], "/before");
    assert_eq!(detail["valid"], true);
    let second = app.post_json("/after", CHANNEL_EVENT_SEED).await;
    assert!(second > first, "ids continue after a restart");
    assert_eq!(
        app.detail(second).await["duplicate_of"],
        first,
        "keys survive a restart"
    );
    app.stop().await;
}

#[tokio::test]
async fn configured_status_is_answered() {
    let app = spawn_app_with(|config| config.response_status = hyper::StatusCode::GONE).await;
    let response = app
        .client
        .post(app.url("/gone"))
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 410);
    assert_eq!(
        app.list_ids("").await.len(),
        1,
        "a non-2xx answer still stores the request"
    );
    app.stop().await;
}
