//! The live stream: event format, resume with Last-Event-ID, and a stalled client that must not block capture.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use crate::helpers::*;

/// One parsed server-sent event.
#[derive(Debug, Default, Clone)]
struct Event {
    name: String,
    id: Option<String>,
    data: String,
}

/// Reads events from a live stream response until `wanted` of the given name arrived or the deadline passed.
async fn collect_events(response: reqwest::Response, name: &str, wanted: usize) -> Vec<Event> {
    let mut stream = response.bytes_stream();
    let mut buffer = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.iter().filter(|e: &&Event| e.name == name).count() < wanted {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("events arrive before the deadline")
            .expect("stream stays open")
            .expect("chunk");
        buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8 stream"));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = Event::default();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    event.name = value.to_owned();
                } else if let Some(value) = line.strip_prefix("id: ") {
                    event.id = Some(value.to_owned());
                } else if let Some(value) = line.strip_prefix("data: ") {
                    event.data.push_str(value);
                }
            }
            if !event.name.is_empty() {
                events.push(event);
            }
        }
    }
    events
}

async fn open_stream(app: &TestApp, last_event_id: Option<i64>) -> reqwest::Response {
    let mut request = app.client.get(app.url("/_/events"));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.expect("open stream");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    response
}

#[tokio::test]
async fn each_capture_is_a_request_event_with_its_id_and_summary() {
    let app = spawn_app().await;
    let stream = open_stream(&app, None).await;
    let id = app.post_json("/live", CHANNEL_EVENT_SEED).await;
    let events = collect_events(stream, "request", 1).await;
    let event = events.iter().find(|e| e.name == "request").expect("request event");
    assert_eq!(event.id.as_deref(), Some(id.to_string().as_str()));
    let summary: Value = serde_json::from_str(&event.data).expect("summary JSON");
    assert_eq!(summary["id"], id);
    assert_eq!(summary["event"], "business_loans.deleted");
    assert_eq!(summary["valid"], true);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_captures_each_arrive_once_in_id_order() {
    let app = spawn_app().await;
    let stream = open_stream(&app, None).await;
    // Concurrent senders make the writer commit several captures per batch, and the batches must still reach the
    // stream in commit order: a batch announced after a newer one would be taken for already sent.
    let bodies: Vec<String> = (0..400)
        .map(|n| channel_event("invoices.created", &format!("burst-{n}")))
        .collect();
    let sends = bodies.iter().map(|body| app.post_json("/burst", body));
    let mut ids = futures_util::future::join_all(sends).await;
    ids.sort_unstable();
    let events = collect_events(stream, "request", ids.len()).await;
    let streamed: Vec<i64> = events
        .iter()
        .filter(|event| event.name == "request")
        .map(|event| event.id.as_deref().and_then(|id| id.parse().ok()).expect("numeric id"))
        .collect();
    assert_eq!(streamed, ids);
    app.stop().await;
}

#[tokio::test]
async fn deletes_and_clears_are_announced() {
    let app = spawn_app().await;
    let id = app.post_json("/x", "{}").await;
    let stream = open_stream(&app, None).await;
    assert_eq!(app.delete(&format!("/_/api/requests/{id}")).await, 204);
    assert_eq!(app.delete("/_/api/requests").await, 204);
    let events = collect_events(stream, "cleared", 1).await;
    let names: Vec<_> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["deleted", "cleared"]);
    assert_eq!(events[0].data, format!("{{\"id\":{id}}}"));
    app.stop().await;
}

#[tokio::test]
async fn reconnect_with_last_event_id_replays_missed_then_live_without_repeats() {
    let app = spawn_app().await;
    let seen = app.post_json("/1", "{}").await;
    let missed_a = app.post_json("/2", "{}").await;
    let missed_b = app.post_json("/3", "{}").await;
    let stream = open_stream(&app, Some(seen)).await;
    let live = app.post_json("/4", "{}").await;
    let events = collect_events(stream, "request", 3).await;
    let ids: Vec<i64> = events
        .iter()
        .filter(|e| e.name == "request")
        .map(|e| e.id.as_deref().and_then(|id| id.parse().ok()).expect("id"))
        .collect();
    assert_eq!(ids, [missed_a, missed_b, live]);
    app.stop().await;
}

#[tokio::test]
async fn captured_cr_lf_never_splits_an_event() {
    let app = spawn_app().await;
    let stream = open_stream(&app, None).await;
    let body = "line\r\n\r\nevent: cleared\ndata: {}\n\nid: 999\n";
    let id = app
        .post_with("/crlf", "text/plain", body.as_bytes().to_vec(), &[("x-evil", "a\tb")])
        .await;
    let marker = app.post_json("/after", "{}").await;
    let events = collect_events(stream, "request", 2).await;
    let names: Vec<_> = events.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["request", "request"], "no forged events");
    assert_eq!(events[0].id.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(events[1].id.as_deref(), Some(marker.to_string().as_str()));
    app.stop().await;
}

#[tokio::test]
async fn stalled_client_does_not_block_capture() {
    let app = spawn_app().await;
    // A client that opens the stream and never reads a byte.
    let mut stalled = TcpStream::connect(app.addr).expect("connect");
    write!(stalled, "GET /_/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    let healthy = open_stream(&app, None).await;

    let padding = "x".repeat(16 * 1024);
    let started = Instant::now();
    let mut last = 0;
    for n in 0..400 {
        let body = format!("{{\"n\": {n}, \"pad\": \"{padding}\"}}");
        last = app.post_json("/flood", &body).await;
    }
    assert!(started.elapsed() < Duration::from_secs(60), "captures kept flowing");
    let events = collect_events(healthy, "request", 400).await;
    assert_eq!(
        events.iter().rfind(|e| e.name == "request").and_then(|e| e.id.clone()),
        Some(last.to_string())
    );
    let mut buffer = [0u8; 64];
    stalled.set_read_timeout(Some(Duration::from_secs(1))).expect("timeout");
    assert!(
        stalled.read(&mut buffer).is_ok(),
        "the stalled connection is still served, not crashed"
    );
    assert_eq!(app.get_json("/_/health", 200).await["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn stuck_viewer_is_told_to_resync_when_it_drains_again() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    let mut stuck = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    stuck
        .write_all(b"GET /_/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("request");
    // Long paths make each event about 28 KB, so the first hundred or so fill the socket buffers (a few MB); the
    // viewer is then not written to, and falls behind the shared feed (1,024 committed batches). One capture at a
    // time, so each is a batch of its own.
    let long_path = format!("/{}", "p".repeat(28_000));
    for _ in 0..1_300 {
        let status = app
            .client
            .post(app.url(&long_path))
            .body("x")
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        assert_eq!(status, 200, "capture is never held up by the stuck viewer");
    }

    let mut tail = Vec::new();
    let mut buffer = vec![0u8; 1 << 20];
    let read_until_resync = async {
        loop {
            let read = stuck.read(&mut buffer).await.expect("the stream keeps flowing");
            assert!(read > 0, "the stream ended");
            tail.extend_from_slice(&buffer[..read]);
            if String::from_utf8_lossy(&tail).contains("event: resync") {
                return;
            }
            let keep = tail.len().saturating_sub(64);
            tail.drain(..keep);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read_until_resync)
        .await
        .expect("a resync arrives");
    app.stop().await;
}

#[tokio::test]
async fn a_store_far_over_a_lowered_keep_is_trimmed_a_slice_at_a_time() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("trim.db");
    let app = spawn_app_at(&db, |c| c.store.keep = None).await;
    let body = channel_event("invoices.created", "trim");
    for _ in 0..12 {
        let sends = (0..100).map(|_| app.post_json("/trim", &body));
        futures_util::future::join_all(sends).await;
    }
    app.stop().await;

    // Restarted with a much smaller --keep, one capture starts the trim: 1,024 requests go with its batch (not all
    // 1,191 over the limit, which would hold its sender up on a large store), the rest in a batch of their own
    // while the writer has nothing else to do. Each slice is announced.
    let app = spawn_app_at(&db, |c| c.store.keep = Some(10)).await;
    let stream = open_stream(&app, None).await;
    let last = app.post_json("/trim", &body).await;
    assert_eq!(last, 1201);
    let evictions: Vec<Option<i64>> = collect_events(stream, "evicted", 2)
        .await
        .iter()
        .filter(|event| event.name == "evicted")
        .map(|event| serde_json::from_str::<Value>(&event.data).expect("JSON")["through"].as_i64())
        .collect();
    assert_eq!(evictions, [Some(1024), Some(last - 10)]);
    let stats = app.get_json("/_/api/stats", 200).await;
    assert_eq!(stats["total"], 10);
    assert_eq!(
        app.list_ids("limit=50").await,
        (last - 9..=last).rev().collect::<Vec<_>>()
    );
    app.stop().await;
}

async fn open_stream_at(app: &TestApp, query: &str) -> reqwest::Response {
    let response = app
        .client
        .get(app.url(&format!("/_/events?{query}")))
        .send()
        .await
        .expect("open stream");
    assert_eq!(response.status(), 200, "{query}");
    response
}

/// The events decoded with the server's own type, as a Rust client of the stream reads them.
fn decoded(events: &[Event]) -> Vec<hookscope::live::event::LiveEvent> {
    events
        .iter()
        .filter_map(|event| {
            hookscope::live::event::LiveEvent::from_sse(&event.name, &event.data).expect("every event decodes")
        })
        .collect()
}

fn request_ids(events: &[Event]) -> Vec<i64> {
    decoded(events)
        .iter()
        .filter_map(|event| match event {
            hookscope::live::event::LiveEvent::Request(summary) => Some(summary.id),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_filtered_stream_sends_only_the_requests_that_match() {
    let app = spawn_app().await;
    let stream = open_stream_at(&app, "valid=false&event=invoices.created").await;
    let wanted_event = channel_event("invoices.created", "k-1").replace("\"staging\"", "\"test\"");
    let valid = app.post_json("/f", &channel_event("invoices.created", "k-2")).await;
    let other_event = app
        .post_json(
            "/f",
            &channel_event("invoices.updated", "k-3").replace("\"staging\"", "\"test\""),
        )
        .await;
    let wanted = app.post_json("/f", &wanted_event).await;
    let events = collect_events(stream, "request", 1).await;
    assert_eq!(request_ids(&events), [wanted], "{valid} and {other_event} do not match");
    app.stop().await;
}

#[tokio::test]
async fn a_text_search_on_the_stream_looks_into_the_body() {
    let app = spawn_app().await;
    let stream = open_stream_at(&app, "q=NeEdLe").await;
    app.post_with("/plain", "text/plain", b"nothing here".to_vec(), &[])
        .await;
    let in_path = app.post_with("/x/needle", "text/plain", b"-".to_vec(), &[]).await;
    let in_body = app
        .post_with("/plain", "text/plain", b"a needle inside".to_vec(), &[])
        .await;
    let events = collect_events(stream, "request", 2).await;
    assert_eq!(request_ids(&events), [in_path, in_body]);
    // The list finds the same ones.
    let listed = app.get_json("/_/api/requests?q=NeEdLe", 200).await;
    assert_eq!(ids_of(&listed), [in_body, in_path]);
    app.stop().await;
}

#[tokio::test]
async fn a_bad_filter_value_on_the_stream_is_a_400_as_in_the_list() {
    let app = spawn_app().await;
    for query in ["valid=maybe", "envelope=bo%20gus", "complete=sometimes", "after=x"] {
        let response = app
            .client
            .get(app.url(&format!("/_/events?{query}")))
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.expect("JSON error");
        assert!(body["error"].as_str().is_some_and(|error| !error.is_empty()), "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_complete_stream_replays_past_the_cap_in_order_then_goes_live() {
    let app = spawn_app().await;
    let mut sent = Vec::new();
    for round in 0..12 {
        let bodies: Vec<String> = (0..100)
            .map(|n| channel_event("invoices.created", &format!("c-{round}-{n}")))
            .collect();
        let posts = bodies.iter().map(|body| app.post_json("/many", body));
        sent.extend(futures_util::future::join_all(posts).await);
    }
    sent.sort_unstable();
    assert!(sent.len() > hookscope::live::MAX_REPLAY);
    // The capped stream gives up and asks for a resync.
    let capped = open_stream_at(&app, "after=0").await;
    assert_eq!(collect_events(capped, "resync", 1).await.len(), 1);
    // The complete one sends every request, in order, then live ones.
    let complete = open_stream_at(&app, "after=0&complete=1").await;
    let late = {
        let app = &app;
        async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            app.post_json("/late", &channel_event("invoices.created", "late")).await
        }
    };
    let (events, late) = tokio::join!(collect_events(complete, "request", sent.len() + 1), late);
    let mut expected = sent.clone();
    expected.push(late);
    assert_eq!(request_ids(&events), expected);
    assert!(
        events
            .iter()
            .all(|event| event.name != "skipped" && event.name != "resync")
    );
    app.stop().await;
}

#[tokio::test]
async fn a_header_filter_finds_requests_in_the_list_and_on_the_stream() {
    let app = spawn_app().await;
    let push = app
        .post_with("/gh", "application/json", b"{}".to_vec(), &[("X-GitHub-Event", "push")])
        .await;
    let issues = app
        .post_with(
            "/gh",
            "application/json",
            b"{}".to_vec(),
            &[("X-GitHub-Event", "issues")],
        )
        .await;
    app.post_with("/other", "application/json", b"{}".to_vec(), &[]).await;
    assert_eq!(
        ids_of(&app.get_json("/_/api/requests?header=x-github-event:push", 200).await),
        [push]
    );
    assert_eq!(
        ids_of(&app.get_json("/_/api/requests?header=X-GitHub-Event", 200).await),
        [issues, push]
    );
    app.get_json("/_/api/requests?header=no%20good", 400).await;

    let stream = open_stream_at(&app, "header=X-GitHub-Event%3A%20push").await;
    app.post_with(
        "/gh",
        "application/json",
        b"{}".to_vec(),
        &[("X-GitHub-Event", "issues")],
    )
    .await;
    let live = app
        .post_with("/gh", "application/json", b"{}".to_vec(), &[("X-GitHub-Event", "push")])
        .await;
    let events = collect_events(stream, "request", 1).await;
    assert_eq!(request_ids(&events), [live]);
    app.stop().await;
}
