//! The JSON API: paging, filters, details, raw bodies, deletes, stats and errors.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn list_pages_newest_first_with_exclusive_before() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for n in 0..7 {
        ids.push(app.post_json(&format!("/p/{n}"), "{}").await);
    }
    ids.reverse();
    let first = app.get_json("/_/api/requests?limit=3", 200).await;
    assert_eq!(ids_of(&first), ids[0..3]);
    assert_eq!(first["next_before"], ids[2]);
    let second = app
        .get_json(&format!("/_/api/requests?limit=3&before={}", ids[2]), 200)
        .await;
    assert_eq!(ids_of(&second), ids[3..6]);
    let third = app
        .get_json(&format!("/_/api/requests?limit=3&before={}", ids[5]), 200)
        .await;
    assert_eq!(ids_of(&third), ids[6..7]);
    assert_eq!(third["next_before"], Value::Null);
    let exact = app.get_json("/_/api/requests?limit=7", 200).await;
    assert_eq!(exact["next_before"], Value::Null, "no older record exists");
    app.stop().await;
}

#[tokio::test]
async fn each_filter_selects_what_it_names() {
    let app = spawn_app().await;
    let valid_channel = app
        .post_json("/hooks/acme/invoices", &channel_event("invoices.created", "f1"))
        .await;
    let invalid_channel = app
        .post_json("/hooks/acme/loans", &channel_event("loans.created", "f2"))
        .await;
    let entity = app.post_json("/crm", ENTITY_ACTION_SEED).await;
    let duplicate = app
        .post_json("/hooks/other", &channel_event("invoices.created", "f1"))
        .await;
    let text = app
        .post_with("/plain", "text/plain", b"Needle in a HAYSTACK".to_vec(), &[])
        .await;
    let put = app
        .client
        .put(app.url("/hooks/put?token=NeedleQuery"))
        .body("x")
        .send()
        .await
        .expect("put")
        .json::<Value>()
        .await
        .expect("json")["id"]
        .as_i64()
        .expect("id");

    assert_eq!(app.list_ids("method=put").await, [put]);
    assert_eq!(app.list_ids("path=/hooks/acme").await, [invalid_channel, valid_channel]);
    assert_eq!(
        app.list_ids("path=/hooks/").await,
        [put, duplicate, invalid_channel, valid_channel]
    );
    assert_eq!(app.list_ids("envelope=entity_action").await, [entity]);
    assert_eq!(
        app.list_ids("envelope=channel_event").await,
        [duplicate, invalid_channel, valid_channel]
    );
    assert_eq!(app.list_ids("envelope=none").await, [put, text]);
    assert_eq!(app.list_ids("valid=false").await, [invalid_channel]);
    assert_eq!(app.list_ids("valid=true").await, [duplicate, entity, valid_channel]);
    assert_eq!(app.list_ids("duplicate=true").await, [duplicate]);
    assert_eq!(app.list_ids("event=invoices.created").await, [duplicate, valid_channel]);
    assert_eq!(app.list_ids("event=user.new").await, [entity]);
    assert_eq!(app.list_ids("q=needle").await, [put, text]);
    assert_eq!(app.list_ids("q=haystack").await, [text]);
    assert_eq!(
        app.list_ids("envelope=channel_event&valid=true&path=/hooks/acme").await,
        [valid_channel]
    );
    app.stop().await;
}

#[tokio::test]
async fn summary_has_every_documented_field() {
    let app = spawn_app().await;
    app.post_json("/s", CHANNEL_EVENT_SEED).await;
    let page = app.get_json("/_/api/requests", 200).await;
    let summary = page["requests"][0].as_object().expect("summary");
    for field in [
        "id",
        "received_at",
        "method",
        "path",
        "query",
        "content_type",
        "body_size",
        "envelope",
        "valid",
        "event",
        "error_count",
        "idempotency_key",
        "duplicate_of",
    ] {
        assert!(summary.contains_key(field), "summary lacks {field}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_parameters_are_400_with_a_json_error() {
    let app = spawn_app().await;
    for query in [
        "valid=maybe",
        "envelope=bo%20gus",
        "limit=0",
        "limit=501",
        "before=abc",
        "duplicate=yes",
    ] {
        let error = app.get_json(&format!("/_/api/requests?{query}"), 400).await;
        assert!(error["error"].as_str().is_some_and(|m| !m.is_empty()), "{query}");
    }
    app.get_json("/_/api/requests/abc", 400).await;
    app.stop().await;
}

#[tokio::test]
async fn unknown_ids_are_404_on_get_delete_and_body() {
    let app = spawn_app().await;
    app.get_json("/_/api/requests/999", 404).await;
    app.get_json("/_/api/requests/999/body", 404).await;
    let delete = app
        .client
        .delete(app.url("/_/api/requests/999"))
        .send()
        .await
        .expect("delete");
    assert_eq!(delete.status(), 404);
    let error: Value = delete.json().await.expect("JSON error");
    assert!(error["error"].is_string());
    app.stop().await;
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    let app = spawn_app().await;
    let response = app.client.post(app.url("/_/api/requests")).send().await.expect("post");
    assert_eq!(response.status(), 405);
    assert!(response.headers()["allow"].to_str().unwrap_or_default().contains("GET"));
    let error: Value = response.json().await.expect("JSON error");
    assert!(error["error"].is_string());
    let response = app.client.put(app.url("/_/api/stats")).send().await.expect("put");
    assert_eq!(response.status(), 405);
    app.stop().await;
}

#[tokio::test]
async fn raw_body_is_a_download_never_a_page() {
    let app = spawn_app().await;
    let payload = b"<html><script>alert(1)</script></html>".to_vec();
    let id = app.post_with("/html", "text/html", payload.clone(), &[]).await;
    let response = app
        .client
        .get(app.url(&format!("/_/api/requests/{id}/body")))
        .send()
        .await
        .expect("body");
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap_or_default()
            .starts_with("attachment")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "sandbox");
    assert_eq!(response.bytes().await.expect("bytes").to_vec(), payload);
    app.stop().await;
}

#[tokio::test]
async fn delete_one_and_clear_all() {
    let app = spawn_app().await;
    let a = app.post_json("/a", "{}").await;
    let b = app.post_json("/b", "{}").await;
    assert_eq!(app.delete(&format!("/_/api/requests/{a}")).await, 204);
    assert_eq!(app.list_ids("").await, [b]);
    app.get_json(&format!("/_/api/requests/{a}"), 404).await;
    assert_eq!(app.delete("/_/api/requests").await, 204);
    assert!(app.list_ids("").await.is_empty());
    let c = app.post_json("/c", "{}").await;
    assert!(c > b, "ids are never reused");
    app.stop().await;
}

#[tokio::test]
async fn ids_are_not_reused_after_deleting_the_newest_and_restarting() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("ids.db");
    let app = spawn_app_at(&db, |_| {}).await;
    app.post_json("/a", "{}").await;
    let newest = app.post_json("/b", "{}").await;
    assert_eq!(app.delete(&format!("/_/api/requests/{newest}")).await, 204);
    app.stop().await;
    let app = spawn_app_at(&db, |_| {}).await;
    let next = app.post_json("/c", "{}").await;
    assert!(next > newest, "{next} reuses a deleted id (newest was {newest})");
    assert_eq!(app.delete("/_/api/requests").await, 204);
    app.stop().await;
    let app = spawn_app_at(&db, |_| {}).await;
    let after_clear = app.post_json("/d", "{}").await;
    assert!(
        after_clear > next,
        "{after_clear} reuses an id from before the clear ({next})"
    );
    app.stop().await;
}

#[tokio::test]
async fn stats_count_envelopes_invalid_and_duplicates() {
    let app = spawn_app().await;
    app.post_json("/1", CHANNEL_EVENT_SEED).await;
    app.post_json("/2", CHANNEL_EVENT_SEED).await;
    app.post_json("/3", ENTITY_ACTION_SEED).await;
    app.post_json("/4", &channel_event("nope.created", "s1")).await;
    app.post_with("/5", "text/plain", b"hi".to_vec(), &[]).await;
    let stats = app.get_json("/_/api/stats", 200).await;
    assert_eq!(stats["total"], 5);
    assert_eq!(stats["by_envelope"]["channel_event"], 3);
    assert_eq!(stats["by_envelope"]["entity_action"], 1);
    assert_eq!(stats["by_envelope"]["none"], 1);
    assert_eq!(stats["invalid"], 1);
    assert_eq!(stats["duplicates"], 1);
    assert_eq!(stats["by_event"]["business_loans.deleted"], 2);
    // The newest id the counts include, read in the same snapshot, so the page can add live arrivals above it.
    let newest = app.get_json("/_/api/requests?limit=1", 200).await["requests"][0]["id"].clone();
    assert_eq!(stats["through"], newest);
    app.stop().await;
}

#[tokio::test]
async fn stats_of_an_empty_store_go_through_id_zero() {
    let app = spawn_app().await;
    let stats = app.get_json("/_/api/stats", 200).await;
    assert_eq!(stats["total"], 0);
    assert_eq!(stats["through"], 0);
    app.stop().await;
}

#[tokio::test]
async fn health_answers_ok() {
    let app = spawn_app().await;
    assert_eq!(
        app.get_json("/_/health", 200).await,
        serde_json::json!({"status": "ok"})
    );
    app.stop().await;
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("compress");
    encoder.finish().expect("compress")
}

#[tokio::test]
async fn a_compressed_body_reads_decompressed_and_a_form_as_its_fields_with_the_bytes_kept() {
    let app = spawn_app_with(|c| c.limits.max_body = 64 * 1024).await;
    let json = br#"{"event":"invoices.created","data":{"id":7}}"#;
    let compressed = gzip(json);
    let id = app
        .post_with(
            "/gz",
            "application/json",
            compressed.clone(),
            &[("Content-Encoding", "gzip")],
        )
        .await;
    let detail = app.detail(id).await;
    assert_eq!(detail["decoded"]["encoding"], "gzip");
    assert_eq!(detail["decoded"]["body"], std::str::from_utf8(json).expect("text"));
    assert_eq!(detail["decoded"]["size"], json.len());
    let raw = app
        .client
        .get(app.url(&format!("/_/api/requests/{id}/body")))
        .send()
        .await
        .expect("raw");
    assert_eq!(
        raw.bytes().await.expect("bytes").to_vec(),
        compressed,
        "the stored bytes are as sent"
    );

    let form = "payload=%7B%22type%22%3A%22block_actions%22%7D&team=T1";
    let id = app
        .post_with(
            "/form",
            "application/x-www-form-urlencoded",
            form.as_bytes().to_vec(),
            &[],
        )
        .await;
    let detail = app.detail(id).await;
    assert_eq!(
        detail["form"],
        serde_json::json!([["payload", r#"{"type":"block_actions"}"#], ["team", "T1"]])
    );
    assert_eq!(detail["body"], form);

    // A small body that would decompress past the body limit is not decompressed.
    let bomb = gzip(&vec![b'a'; 1024 * 1024]);
    let id = app
        .post_with("/bomb", "text/plain", bomb, &[("Content-Encoding", "gzip")])
        .await;
    let detail = app.detail(id).await;
    assert!(
        detail["decoded"]["error"]
            .as_str()
            .is_some_and(|error| error.contains("more than 65536 bytes")),
        "{detail}"
    );
    assert_eq!(detail["decoded"].get("body"), None);

    // A plain request has neither.
    let id = app.post_json("/plain", "{}").await;
    let detail = app.detail(id).await;
    assert_eq!((detail.get("decoded"), detail.get("form")), (None, None));
    app.stop().await;
}

#[tokio::test]
async fn behind_a_public_url_the_page_shows_it_and_the_inspector_needs_the_token_on_loopback() {
    let app = spawn_app_with(|c| {
        c.public_url = Some("https://t.example.dev".into());
        c.access.token = Some("tok".into());
        c.access.allowed_hosts.push("t.example.dev".into());
    })
    .await;
    let refused = app.client.get(app.url("/_/api/stats")).send().await.expect("answer");
    assert_eq!(
        refused.status(),
        401,
        "a tunnel arrives on loopback: loopback is no proof of anything"
    );
    let page = app
        .client
        .get(app.url("/"))
        .header("host", "t.example.dev")
        .bearer_auth("tok")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("https://t.example.dev/any/path"),
        "the hook URL is the public one"
    );
    assert!(html.contains("curl -X POST https://t.example.dev/hooks/demo"));
    app.stop().await;
}

#[tokio::test]
async fn the_sender_comes_from_forwarding_headers_only_when_trusted() {
    let trusting = spawn_app_with(|c| c.trust_forwarded = true).await;
    let cases = [
        // A sender's own entry comes first; the tunnel appends what it saw, which is the one taken.
        (("x-forwarded-for", "198.51.100.1, 203.0.113.7"), Some("203.0.113.7")),
        (
            ("forwarded", "for=\"[2001:db8::1]:4711\";proto=https"),
            Some("[2001:db8::1]:4711"),
        ),
        (("x-forwarded-for", "<script>"), None),
    ];
    for ((name, value), expected) in cases {
        let id = trusting
            .post_with("/fwd", "text/plain", b"x".to_vec(), &[(name, value)])
            .await;
        let sender = trusting.detail(id).await["remote_addr"]
            .as_str()
            .expect("sender")
            .to_owned();
        match expected {
            Some(expected) => assert_eq!(sender, expected, "{name}: {value}"),
            None => assert!(sender.starts_with("127.0.0.1:"), "junk is not trusted: {sender}"),
        }
    }
    trusting.stop().await;
    let plain = spawn_app().await;
    let id = plain
        .post_with(
            "/fwd",
            "text/plain",
            b"x".to_vec(),
            &[("x-forwarded-for", "203.0.113.7")],
        )
        .await;
    assert!(
        plain.detail(id).await["remote_addr"]
            .as_str()
            .is_some_and(|sender| sender.starts_with("127.0.0.1:"))
    );
    plain.stop().await;
}

#[tokio::test]
async fn text_search_finds_letters_beyond_ascii_as_written_and_folds_only_ascii_case() {
    let app = spawn_app().await;
    let id = app
        .post_with("/greeting", "text/plain", "Über ALLES".as_bytes().to_vec(), &[])
        .await;
    assert_eq!(app.list_ids("q=%C3%9Cber").await, [id], "Ü as written");
    assert_eq!(app.list_ids("q=%C3%9Cber%20alles").await, [id], "ASCII case folds");
    assert!(
        app.list_ids("q=%C3%BCber").await.is_empty(),
        "ü is not Ü: only ASCII letters fold"
    );
    app.stop().await;
}
