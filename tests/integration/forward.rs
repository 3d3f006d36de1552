//! Forwarding and replay against a real target server: byte-exact delivery, hop-by-hop headers, mirror and proxy
//! modes, 502 and 504, retries until the target is up, nothing lost across a restart, the target rule, and replay
//! (plain, edited, re-signed).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::target::{Reply, Target, free_port};

/// Waits until request `id`'s summary says `forward` is `state` (at most 20 s) and returns its detail.
async fn forwarded(app: &TestApp, id: i64, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let detail = app.detail(id).await;
        if detail["forward"] == state {
            return detail;
        }
        assert!(Instant::now() < deadline, "request {id} is not {state}: {detail}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until request `id` has at least `count` attempts (at most 20 s) and returns them.
async fn attempts(app: &TestApp, id: i64, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let detail = app.detail(id).await;
        let attempts = detail["forwards"].as_array().cloned().unwrap_or_default();
        if attempts.len() >= count {
            return attempts;
        }
        assert!(
            Instant::now() < deadline,
            "request {id} has {} attempts: {detail}",
            attempts.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn names(received: &crate::target::Received) -> Vec<&str> {
    received.headers.iter().map(|(name, _)| name.as_str()).collect()
}

#[tokio::test]
async fn mirror_delivers_the_request_byte_exact_after_answering_the_sender() {
    let target = Target::start().await;
    let app = spawn_app().await;
    create_endpoint(
        &app,
        json!({"name": "app", "path": "/hooks/**", "forward": {"url": target.url("/app")}}),
    )
    .await;
    let mut request = b"POST /hooks/a?x=1&y=%20 HTTP/1.1\r\nHost: abc.example.dev\r\nX-Zeta: 1\r\nX-Alpha: \xff\xfe\r\nX-Zeta: 2\r\nConnection: keep-alive, X-Private\r\nX-Private: p\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eA==\r\nOrigin: https://evil.example\r\nCookie: a=1; hookscope_token=t0k\r\nContent-Type: application/octet-stream\r\nContent-Length: 6\r\n\r\n".to_vec();
    request.extend_from_slice(b"\x00\x01\x02\xff\r\n");
    let answer = raw_exchange(app.addr, &request, Duration::from_millis(300)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let received = target.wait_for(1).await;
    let got = &received[0];
    assert_eq!(got.request_line, "POST /app?x=1&y=%20 HTTP/1.1");
    assert_eq!(
        names(got),
        [
            "host",
            "x-zeta",
            "x-zeta",
            "x-alpha",
            "cookie",
            "content-type",
            "content-length",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
            "x-hookscope-request"
        ]
    );
    assert_eq!(got.text("host").as_deref(), Some(&*target.addr.to_string()));
    assert_eq!(got.header("x-zeta"), [b"1".to_vec(), b"2".to_vec()]);
    assert_eq!(got.header("x-alpha"), [b"\xff\xfe".to_vec()]);
    assert_eq!(got.text("cookie").as_deref(), Some("a=1"));
    assert_eq!(got.text("content-length").as_deref(), Some("6"));
    assert_eq!(got.text("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert_eq!(got.text("x-forwarded-host").as_deref(), Some("abc.example.dev"));
    assert_eq!(got.body, b"\x00\x01\x02\xff\r\n");
    let id: i64 = got.text("x-hookscope-request").expect("id").parse().expect("number");
    let detail = forwarded(&app, id, "ok").await;
    let attempt = &detail["forwards"][0];
    assert_eq!(attempt["kind"], "forward");
    assert_eq!(attempt["status"], 200);
    assert_eq!(attempt["body"], "ok");
    assert_eq!(attempt["url"], format!("{}?x=1&y=%20", target.url("/app")));
    assert_eq!(app.list_ids("forward=ok").await, [id]);
    app.stop().await;
}

#[tokio::test]
async fn proxy_mode_answers_with_the_target_or_502_and_504_and_records_it() {
    let target = Target::start().await;
    let app = spawn_app().await;
    create_endpoint(&app,
        json!({"name": "app", "path": "/proxy", "forward": {"url": target.url("/in"), "mode": "proxy", "timeout_ms": 300}}),
    )
    .await;
    target.reply([
        Reply {
            status: 201,
            headers: vec![("X-App".into(), "yes".into())],
            body: b"created".to_vec(),
            delay: Duration::ZERO,
        },
        Reply {
            delay: Duration::from_millis(800),
            ..Reply::status(200)
        },
    ]);
    let post = || app.client.post(app.url("/proxy")).body("{}").send();
    let created = post().await.expect("answer");
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["x-app"], "yes");
    assert_eq!(created.text().await.expect("body"), "created");
    let slow = post().await.expect("answer");
    assert_eq!(slow.status(), 504);
    let why: Value = slow.json().await.expect("JSON");
    assert!(
        why["error"].as_str().is_some_and(|error| error.contains("300 ms")),
        "{why}"
    );
    let ids = app.list_ids("endpoint=app").await;
    let (slow_id, created_id) = (ids[0], ids[1]);
    let detail = app.detail(created_id).await;
    assert_eq!(detail["response"]["status"], 201);
    assert_eq!(detail["response"]["reason"], "proxy");
    assert_eq!(detail["forward"], "ok");
    assert_eq!(app.detail(slow_id).await["forward"], "failed");
    target.stop();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = post().await.expect("answer");
    assert_eq!(refused.status(), 502);
    let why: Value = refused.json().await.expect("JSON");
    assert!(
        why["error"].as_str().is_some_and(|error| error.contains("refused")),
        "{why}"
    );
    app.stop().await;
}

#[tokio::test]
async fn deliveries_to_a_target_that_is_down_wait_and_arrive_in_order_once_it_is_up() {
    let port = free_port();
    let app = spawn_app().await;
    create_endpoint(
        &app,
        json!({"name": "app", "path": "/hooks/**", "forward": {"url": format!("http://{port}/in")}}),
    )
    .await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(app.post_json(&format!("/hooks/{n}"), "{}").await);
    }
    // The first delivery failed and waits out its backoff; the others wait behind it.
    let first = attempts(&app, ids[0], 1).await;
    assert!(
        first[0]["error"]
            .as_str()
            .is_some_and(|error| error.contains("refused")),
        "{first:?}"
    );
    assert_eq!(app.detail(ids[0]).await["forward"], "pending");
    assert_eq!(app.detail(ids[4]).await["forwards"], json!([]), "later ones wait");
    let target = Target::start_on(port).await;
    let received = target.wait_for(5).await;
    let order: Vec<i64> = received
        .iter()
        .map(|got| got.text("x-hookscope-request").expect("id").parse().expect("number"))
        .collect();
    assert_eq!(order, ids, "in order of capture");
    forwarded(&app, ids[4], "ok").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(target.received().len(), 5, "each once");
    app.stop().await;
}

#[tokio::test]
async fn the_outbox_outlives_a_restart_and_nothing_is_sent_twice() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("outbox.db");
    let port = free_port();
    let app = spawn_app_at(&db, |_| {}).await;
    create_endpoint(
        &app,
        json!({"name": "app", "path": "/hooks/**", "forward": {"url": format!("http://{port}/in")}}),
    )
    .await;
    let before = Target::start().await;
    create_endpoint(
        &app,
        json!({"name": "done", "path": "/done", "forward": {"url": before.url("/")}}),
    )
    .await;
    let delivered = app.post_json("/done", "{}").await;
    forwarded(&app, delivered, "ok").await;
    let ids = [
        app.post_json("/hooks/a", "{}").await,
        app.post_json("/hooks/b", "{}").await,
    ];
    forwarded(&app, ids[0], "pending").await;
    app.stop().await;

    let target = Target::start_on(port).await;
    let app = spawn_app_at(&db, |_| {}).await;
    let received = target.wait_for(2).await;
    let order: Vec<i64> = received
        .iter()
        .map(|got| got.text("x-hookscope-request").expect("id").parse().expect("number"))
        .collect();
    assert_eq!(order, ids);
    forwarded(&app, ids[1], "ok").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        before.received().len(),
        1,
        "a delivery answered before the restart is not sent again"
    );
    assert_eq!(target.received().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn only_loopback_targets_pass_never_hookscope_itself_and_redirects_are_not_followed() {
    let app = spawn_app().await;
    for url in ["http://192.0.2.2:8080/", "http://10.1.2.3/"] {
        let refused = send_json(
            &app,
            Method::POST,
            "/_/api/endpoints",
            json!({"name": "x", "path": "/x", "forward": {"url": url}}),
        )
        .await;
        assert_eq!(refused.status(), 400, "{url}");
        let error: Value = refused.json().await.expect("JSON");
        assert_eq!(error["path"], "/forward/url", "{error}");
    }
    // A name (here a decimal IPv4 address, which the resolver reads as 192.0.2.2) is judged once resolved.
    create_endpoint(
        &app,
        json!({"name": "sneaky", "path": "/sneaky", "forward": {"url": "http://3221225986:9/"}}),
    )
    .await;
    let id = app.post_json("/sneaky", "{}").await;
    let detail = forwarded(&app, id, "failed").await;
    let error = detail["forwards"][0]["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("192.0.2.2") && error.contains("not allowed"), "{error}");
    // hookscope's own address is a loop.
    let own = send_json(
        &app,
        Method::POST,
        "/_/api/endpoints",
        json!({"name": "loop", "path": "/loop", "forward": {"url": format!("http://{}/_/api/requests", app.addr)}}),
    )
    .await;
    assert_eq!(own.status(), 400);
    // A redirect is an answer, recorded and not followed.
    let target = Target::start().await;
    target.reply([Reply {
        headers: vec![("Location".into(), "http://10.1.2.3/".into())],
        ..Reply::status(302)
    }]);
    create_endpoint(
        &app,
        json!({"name": "redirect", "path": "/redirect", "forward": {"url": target.url("/")}}),
    )
    .await;
    let id = app.post_json("/redirect", "{}").await;
    let detail = forwarded(&app, id, "failed").await;
    assert_eq!(detail["forwards"][0]["status"], 302);
    assert_eq!(target.received().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_replay_is_sent_as_captured_as_edited_or_signed_afresh() {
    let target = Target::start().await;
    let app = spawn_app().await;
    let secret = "whsec_test_secret";
    create_endpoint(
        &app,
        json!({"name": "stripe", "path": "/stripe", "verify": {"scheme": "stripe", "secrets": [secret]},
               "forward": {"url": target.url("/stripe")}}),
    )
    .await;
    // Signed an hour ago: outside the tolerance by now.
    let body = br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;
    let old = chrono::Utc::now().timestamp() - 3600;
    let signature = hookscope::signatures::sign(
        hookscope::signatures::Scheme::Stripe,
        None,
        secret,
        &hookscope::signatures::Signing {
            body,
            timestamp: old,
            id: "",
            url: "",
            form: false,
        },
    )
    .expect("signs");
    let id = app
        .post_with(
            "/stripe",
            "application/json",
            body.to_vec(),
            &[("Stripe-Signature", &signature[0].1)],
        )
        .await;
    forwarded(&app, id, "ok").await;

    let path = format!("/_/api/requests/{id}/replay");
    let replay = |body: Value| send_json(&app, Method::POST, &path, body);
    let plain = replay(json!({})).await;
    assert_eq!(plain.status(), 200);
    let attempt: Value = plain.json().await.expect("JSON");
    assert_eq!(attempt["kind"], "replay");
    assert_eq!(attempt["status"], 200);
    let received = target.wait_for(2).await;
    assert_eq!(received[1].body, body);
    assert_eq!(received[1].text("stripe-signature"), Some(signature[0].1.clone()));

    let edited =
        replay(json!({"headers": [["Content-Type", "text/plain"], ["X-Edited", "yes"]], "body": "changed"})).await;
    assert_eq!(edited.status(), 200);
    let received = target.wait_for(3).await;
    assert_eq!(received[2].body, b"changed");
    assert_eq!(received[2].text("x-edited").as_deref(), Some("yes"));
    assert_eq!(received[2].text("content-length").as_deref(), Some("7"));
    assert!(received[2].text("stripe-signature").is_none());

    let resigned = replay(json!({"resign": true})).await;
    assert_eq!(resigned.status(), 200);
    let received = target.wait_for(4).await;
    let fresh = received[3].text("stripe-signature").expect("signed");
    assert_ne!(fresh, signature[0].1);
    // The app would verify it now: the signing module's own check, at the time it arrived.
    let pairs: Vec<(&str, &[u8])> = received[3]
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_slice()))
        .collect();
    let verification = hookscope::signatures::Verification {
        scheme: hookscope::signatures::SchemeChoice::Fixed(hookscope::signatures::Scheme::Stripe),
        secrets: vec![hookscope::signatures::secret::Secret::plain(secret)],
        tolerance_s: 300,
        public_url: None,
        custom: None,
    };
    let check = hookscope::signatures::assess(
        Some(&verification),
        &hookscope::signatures::reading::Message {
            headers: &pairs,
            body: &received[3].body,
            path: "/stripe",
            query: "",
            received_at_ms: chrono::Utc::now().timestamp_millis(),
        },
        None,
    );
    assert_eq!(
        check.verdict,
        hookscope::signatures::SignatureVerdict::Valid,
        "{check:?}"
    );

    let detail = app.detail(id).await;
    let kinds: Vec<&str> = detail["forwards"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|attempt| attempt["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["forward", "replay", "replay", "replay"]);
    let elsewhere = replay(json!({"url": "http://10.9.9.9/"})).await;
    assert_eq!(elsewhere.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn every_failed_delivery_is_replayed_in_order_once_the_app_is_fixed() {
    let target = Target::start().await;
    let app = spawn_app().await;
    create_endpoint(
        &app,
        json!({"name": "app", "path": "/hooks/**", "forward": {"url": target.url("/in"), "retries": 0}}),
    )
    .await;
    target.reply([Reply::status(400), Reply::status(400), Reply::status(200)]);
    let ids = [
        app.post_json("/hooks/1", "{}").await,
        app.post_json("/hooks/2", "{}").await,
        app.post_json("/hooks/3", "{}").await,
    ];
    forwarded(&app, ids[2], "ok").await;
    forwarded(&app, ids[1], "failed").await;
    let queued = app
        .client
        .post(app.url("/_/api/replay?forward=failed"))
        .send()
        .await
        .expect("answer");
    assert_eq!(queued.status(), 202);
    assert_eq!(
        queued.json::<Value>().await.expect("JSON"),
        json!({"queued": 2, "skipped": 0})
    );
    let received = target.wait_for(5).await;
    let order: Vec<String> = received[3..]
        .iter()
        .map(|got| got.text("x-hookscope-request").expect("id"))
        .collect();
    assert_eq!(order, [ids[0].to_string(), ids[1].to_string()]);
    forwarded(&app, ids[1], "ok").await;
    assert!(app.list_ids("forward=failed").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_pending_delivery_is_kept_from_eviction_and_cancelled_with_its_request() {
    let port = free_port();
    let app = spawn_app_with(|c| c.store.keep = Some(2)).await;
    create_endpoint(
        &app,
        json!({"name": "app", "path": "/hooks/**", "forward": {"url": format!("http://{port}/in")}}),
    )
    .await;
    let pending = app.post_json("/hooks/a", "{}").await;
    let mut others = Vec::new();
    for _ in 0..4 {
        others.push(app.post_json("/other", "{}").await);
    }
    let stored = app.list_ids("").await;
    assert!(
        stored.contains(&pending),
        "the pending one stays past --keep: {stored:?}"
    );
    assert_eq!(app.delete(&format!("/_/api/requests/{pending}")).await, 204);
    let target = Target::start_on(port).await;
    let after = app.post_json("/hooks/b", "{}").await;
    let received = target.wait_for(1).await;
    assert_eq!(received[0].text("x-hookscope-request"), Some(after.to_string()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(target.received().len(), 1, "the deleted one was never sent");
    app.stop().await;
}

/// Starts the built binary with `args` on `db`; returns it and its URL.
fn start_binary(db: &std::path::Path, args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hookscope"))
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start hookscope");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let url = first.split_whitespace().last().expect("URL").to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    (child, url)
}

#[tokio::test(flavor = "multi_thread")]
async fn after_kill_9_every_delivery_arrives_once_in_capture_order() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("killed.db");
    let port = free_port();
    let forward_to = format!("http://{port}/in");
    let (mut child, url) = start_binary(&db, &["--forward-to", &forward_to]);
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let mut ids = Vec::new();
    for n in 0..5 {
        let answer: Value = client
            .post(format!("{url}/hooks/{n}"))
            .body("{}")
            .send()
            .await
            .expect("captured")
            .json()
            .await
            .expect("JSON");
        ids.push(answer["id"].as_i64().expect("id").to_string());
    }
    child.kill().expect("kill -9");
    let _ = child.wait();

    let target = Target::start_on(port).await;
    let (mut child, _url) = start_binary(&db, &["--forward-to", &forward_to]);
    let received = target.wait_for(5).await;
    let order: Vec<String> = received
        .iter()
        .map(|got| got.text("x-hookscope-request").expect("id"))
        .collect();
    assert_eq!(order, ids);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(target.received().len(), 5, "each once");
    assert!(received.iter().all(|got| got.request_line.starts_with("POST /in ")));
    child.kill().expect("kill");
    let _ = child.wait();
}
