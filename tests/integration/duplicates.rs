//! Duplicate detection: by the body's idempotency key, the Idempotency-Key header, and webhook-id.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn duplicate_body_key_points_at_the_first() {
    let app = spawn_app().await;
    let first = app.post_json("/d", &channel_event("invoices.created", "key-1")).await;
    let other = app.post_json("/d", &channel_event("invoices.created", "key-2")).await;
    let repeat = app.post_json("/d", &channel_event("invoices.updated", "key-1")).await;
    assert_eq!(app.detail(first).await["duplicate_of"], Value::Null);
    assert_eq!(app.detail(other).await["duplicate_of"], Value::Null);
    assert_eq!(app.detail(repeat).await["duplicate_of"], first);
    assert_eq!(app.list_ids("duplicate=true").await, [repeat]);
    app.stop().await;
}

#[tokio::test]
async fn idempotency_key_header_marks_duplicates() {
    let app = spawn_app().await;
    let headers = [("Idempotency-Key", "abc")];
    let first = app.post_with("/h", "text/plain", b"one".to_vec(), &headers).await;
    let second = app.post_with("/h", "text/plain", b"two".to_vec(), &headers).await;
    assert_eq!(app.detail(second).await["duplicate_of"], first);
    assert_eq!(app.detail(second).await["idempotency_key"], "abc");
    app.stop().await;
}

#[tokio::test]
async fn webhook_id_header_marks_duplicates() {
    let app = spawn_app().await;
    let headers = [("webhook-id", "msg_2Lh9")];
    let first = app.post_with("/s", "application/json", b"{}".to_vec(), &headers).await;
    let second = app.post_with("/s", "application/json", b"{}".to_vec(), &headers).await;
    assert_eq!(app.detail(second).await["duplicate_of"], first);
    app.stop().await;
}

#[tokio::test]
async fn body_and_header_keys_share_one_key_space() {
    let app = spawn_app().await;
    let first = app
        .post_json("/k", &channel_event("invoices.created", "shared-key"))
        .await;
    let by_header = app
        .post_with("/k", "text/plain", b"x".to_vec(), &[("Idempotency-Key", "shared-key")])
        .await;
    assert_eq!(app.detail(by_header).await["duplicate_of"], first);
    app.stop().await;
}

#[tokio::test]
async fn channel_event_without_a_usable_body_key_falls_back_to_headers() {
    let app = spawn_app().await;
    let body = r#"{"event": "invoices.created", "message": "m", "environment": "staging", "data": {"id": 1}}"#;
    let headers = [("webhook-id", "fallback")];
    let first = app
        .post_with("/f", "application/json", body.as_bytes().to_vec(), &headers)
        .await;
    let second = app
        .post_with("/f", "application/json", body.as_bytes().to_vec(), &headers)
        .await;
    assert_eq!(app.detail(second).await["duplicate_of"], first);
    app.stop().await;
}

#[tokio::test]
async fn duplicate_of_stays_when_the_first_is_deleted() {
    let app = spawn_app().await;
    let first = app.post_json("/x", &channel_event("invoices.created", "kept")).await;
    let second = app.post_json("/x", &channel_event("invoices.created", "kept")).await;
    assert_eq!(app.delete(&format!("/_/api/requests/{first}")).await, 204);
    assert_eq!(app.detail(second).await["duplicate_of"], first);
    let third = app.post_json("/x", &channel_event("invoices.created", "kept")).await;
    assert_eq!(
        app.detail(third).await["duplicate_of"],
        first,
        "the key is remembered after a delete"
    );
    app.stop().await;
}

#[tokio::test]
async fn clearing_all_forgets_the_keys() {
    let app = spawn_app().await;
    app.post_json("/x", &channel_event("invoices.created", "forgotten"))
        .await;
    assert_eq!(app.delete("/_/api/requests").await, 204);
    let again = app
        .post_json("/x", &channel_event("invoices.created", "forgotten"))
        .await;
    assert_eq!(app.detail(again).await["duplicate_of"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn concurrent_senders_of_one_key_get_exactly_one_first() {
    let app = spawn_app().await;
    let body = channel_event("invoices.created", "race");
    let sends = (0..50).map(|_| app.post_json("/race", &body));
    let ids = futures_util::future::join_all(sends).await;
    let page = app.get_json("/_/api/requests?limit=500", 200).await;
    let requests = page["requests"].as_array().expect("list");
    assert_eq!(requests.len(), 50);
    let firsts: Vec<_> = requests.iter().filter(|r| r["duplicate_of"].is_null()).collect();
    assert_eq!(firsts.len(), 1);
    let first = firsts[0]["id"].as_i64().expect("id");
    assert_eq!(first, *ids.iter().min().expect("ids"));
    assert!(
        requests
            .iter()
            .filter(|r| r["id"] != first)
            .all(|r| r["duplicate_of"] == first)
    );
    app.stop().await;
}

#[tokio::test]
async fn keys_are_remembered_across_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("keys.db");
    let keys: Vec<String> = (0..300).map(|n| format!("restart-{n}")).collect();
    let app = spawn_app_at(&db, |_| {}).await;
    // Whether a key was merged into the key table or still waited in memory at shutdown (the unit tests of
    // store::keys cover the latter), it is known after a restart.
    let bodies: Vec<String> = keys.iter().map(|key| channel_event("invoices.created", key)).collect();
    let sends = bodies.iter().map(|body| app.post_json("/first", body));
    let firsts = futures_util::future::join_all(sends).await;
    app.stop().await;

    let app = spawn_app_at(&db, |_| {}).await;
    for (key, first) in keys.iter().zip(&firsts).step_by(7) {
        let again = app.post_json("/again", &channel_event("invoices.created", key)).await;
        assert_eq!(app.detail(again).await["duplicate_of"], *first, "{key}");
    }
    let fresh = app
        .post_json("/again", &channel_event("invoices.created", "never-seen"))
        .await;
    assert_eq!(app.detail(fresh).await["duplicate_of"], Value::Null);
    app.stop().await;
}

#[tokio::test]
async fn retention_forgets_the_keys_it_evicts() {
    let app = spawn_app_with(|c| c.store.keep = Some(10)).await;
    let first = app.post_json("/x", &channel_event("invoices.created", "old-key")).await;
    for n in 0..30 {
        app.post_json("/x", &channel_event("invoices.created", &format!("filler-{n}")))
            .await;
    }
    let again = app.post_json("/x", &channel_event("invoices.created", "old-key")).await;
    assert!(again > first);
    assert_eq!(
        app.detail(again).await["duplicate_of"],
        Value::Null,
        "its first request is gone, so the key counts as new"
    );
    let third = app.post_json("/x", &channel_event("invoices.created", "old-key")).await;
    assert_eq!(app.detail(third).await["duplicate_of"], again);
    app.stop().await;
}
