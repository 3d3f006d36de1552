//! Refused requests leave a trace: each is answered with JSON (but for the parser's own answers), counted in the
//! stats, and listed at `/_/api/refused`, and none of them becomes a capture.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

/// The body of the one response in a raw answer.
fn body_of(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

async fn refused(app: &TestApp) -> Value {
    app.get_json("/_/api/refused", 200).await
}

#[tokio::test]
async fn each_kind_of_refusal_is_answered_in_json_counted_and_listed_without_becoming_a_capture() {
    let app = spawn_app_with(|c| {
        c.limits.max_body = 100;
        c.limits.body_timeout = Duration::from_secs(1);
    })
    .await;
    let wait = Duration::from_millis(700);

    // A body over the limit: 413.
    let too_large = format!(
        "POST /big?x=1 HTTP/1.1\r\nHost: h\r\nX-Provider: acme\r\nContent-Length: 101\r\n\r\n{}",
        "a".repeat(101)
    );
    let answer = raw_exchange(app.addr, too_large.as_bytes(), wait).await;
    assert_eq!(statuses(&answer), [413]);
    let error: Value = serde_json::from_str(body_of(&answer)).expect("a JSON body");
    assert!(
        error["error"].as_str().is_some_and(|text| text.contains("100 bytes")),
        "{error}"
    );

    // Too many header lines, and too many header bytes: 431 from hookscope, with JSON.
    let lines: String = (0..101).map(|n| format!("X-H{n}: v\r\n")).collect();
    let answer = raw_exchange(
        app.addr,
        format!("POST /many HTTP/1.1\r\nHost: h\r\n{lines}\r\n").as_bytes(),
        wait,
    )
    .await;
    assert_eq!(statuses(&answer), [431]);
    let error: Value = serde_json::from_str(body_of(&answer)).expect("a JSON body");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|text| text.contains("--max-headers")),
        "{error}"
    );
    let big = format!(
        "POST /wide HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let answer = raw_exchange(app.addr, big.as_bytes(), wait).await;
    assert_eq!(statuses(&answer), [431]);
    let error: Value = serde_json::from_str(body_of(&answer)).expect("a JSON body");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|text| text.contains("--max-header-bytes")),
        "{error}"
    );

    // A request line the parser cannot read: its own 400, recorded from the connection.
    assert_eq!(raw_statuses(app.addr, b"GARBAGE\r\n\r\n").await, [400]);

    // A body that stops arriving: 408.
    let answer = raw_exchange(
        app.addr,
        b"POST /slow HTTP/1.1\r\nHost: h\r\nContent-Length: 50\r\n\r\nhalf",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(statuses(&answer), [408]);

    let report = refused(&app).await;
    let reasons: Vec<&str> = report["refused"]
        .as_array()
        .expect("list")
        .iter()
        .map(|refusal| refusal["reason"].as_str().expect("reason"))
        .collect();
    assert_eq!(
        reasons,
        [
            "body_timeout",
            "malformed_request",
            "headers_too_large",
            "too_many_headers",
            "body_too_large"
        ],
        "newest first: {report}"
    );
    let oldest = &report["refused"][4];
    assert_eq!(oldest["status"], 413);
    assert_eq!(oldest["method"], "POST");
    assert_eq!(oldest["path"], "/big");
    assert!(
        oldest["sender"]
            .as_str()
            .is_some_and(|sender| sender.starts_with("127.0.0.1:"))
    );
    assert!(
        oldest["headers"]
            .as_array()
            .expect("headers")
            .contains(&serde_json::json!(["x-provider", "acme"])),
        "{oldest}"
    );
    let wide = &report["refused"][2];
    assert_eq!(wide["headers_truncated"], true, "at most 4 KiB of headers is kept");
    let malformed = &report["refused"][1];
    assert_eq!(malformed["status"], 400);
    assert_eq!(malformed["method"], Value::Null);

    // Counted by reason in the stats; none of them is a capture, and ids go on from 1.
    let stats = app.get_json("/_/api/stats", 200).await;
    assert_eq!(stats["total"], 0);
    for reason in [
        "body_too_large",
        "too_many_headers",
        "headers_too_large",
        "malformed_request",
        "body_timeout",
    ] {
        assert_eq!(stats["refused"][reason], 1, "{reason}: {stats}");
    }
    assert_eq!(app.post_json("/after", "{}").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_head_far_over_the_limit_is_cut_off_by_the_parser_and_still_recorded() {
    let app = spawn_app().await;
    let huge = format!(
        "POST /huge HTTP/1.1\r\nHost: h\r\nX-Huge: {}\r\n\r\n",
        "a".repeat(600 * 1024)
    );
    assert_eq!(raw_statuses(app.addr, huge.as_bytes()).await, [431]);
    let report = refused(&app).await;
    assert_eq!(report["refused"][0]["reason"], "headers_too_large");
    assert_eq!(
        report["refused"][0]["path"],
        Value::Null,
        "the parser gave up before the service saw it"
    );
    assert_eq!(app.get_json("/_/health", 200).await["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn the_list_of_refusals_takes_a_limit() {
    let app = spawn_app().await;
    for _ in 0..3 {
        raw_statuses(app.addr, b"GARBAGE\r\n\r\n").await;
    }
    let counts_only = app.get_json("/_/api/refused?limit=0", 200).await;
    assert_eq!(counts_only["refused"], serde_json::json!([]));
    assert_eq!(counts_only["counts"]["malformed_request"], 3);
    assert_eq!(
        app.get_json("/_/api/refused?limit=2", 200).await["refused"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    app.get_json("/_/api/refused?limit=x", 400).await;
    app.stop().await;
}
