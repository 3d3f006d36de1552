//! The adversarial suite: hostile senders, slow and malformed connections, storage faults, crashes and
//! exposure. Raw TCP where HTTP clients are too polite. Each test names the promise it checks.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

const SHORT: Duration = Duration::from_millis(700);

/// Waits until the server closes `stream` (EOF or reset); returns how long that took, or `None` past `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + limit).into(), stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

// ---- limits -------------------------------------------------------------------------------------------------

#[tokio::test]
async fn body_over_the_limit_by_one_byte_is_413() {
    let app = spawn_app_with(|c| c.limits.max_body = 100).await;
    let request = format!(
        "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n\r\n{}",
        "a".repeat(101)
    );
    assert_eq!(raw_statuses(app.addr, request.as_bytes()).await, [413]);
    assert!(app.list_ids("").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn body_at_the_limit_exactly_is_accepted() {
    let app = spawn_app_with(|c| c.limits.max_body = 100).await;
    let request = format!(
        "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{}",
        "a".repeat(100)
    );
    assert_eq!(raw_statuses(app.addr, request.as_bytes()).await, [200]);
    assert_eq!(app.list_ids("").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn expect_100_continue_over_the_limit_is_refused_before_the_body() {
    let app = spawn_app_with(|c| c.limits.max_body = 100).await;
    let request = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n";
    let answer = raw_exchange(app.addr, request, SHORT).await;
    assert_eq!(statuses(&answer), [413], "no 100 Continue, straight to 413: {answer}");
    app.stop().await;
}

#[tokio::test]
async fn oversized_chunked_upload_is_cut_off_at_the_limit() {
    let app = spawn_app_with(|c| c.limits.max_body = 1024).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(b"POST /chunks HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .expect("head");
    let chunk = format!("400\r\n{}\r\n", "c".repeat(1024));
    let mut answer = Vec::new();
    // Keep sending well past the limit; the server must answer 413 and stop reading.
    for _ in 0..64 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut answer)).await;
    assert_eq!(statuses(&String::from_utf8_lossy(&answer)), [413]);
    assert!(app.list_ids("").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn bad_chunk_framing_is_400_and_stores_nothing() {
    let app = spawn_app().await;
    let request = b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n";
    assert_eq!(raw_statuses(app.addr, request).await, [400]);
    assert!(app.list_ids("").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn content_length_with_transfer_encoding_cannot_smuggle_a_request() {
    let app = spawn_app().await;
    // Content-Length says 5, chunked framing says 3 bytes; the rest must not become a second request.
    let request = b"POST /both HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
                    3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
    let answer = raw_exchange(app.addr, request, SHORT).await;
    assert_eq!(statuses(&answer).len(), 1, "{answer}");
    let page = app.get_json("/_/api/requests", 200).await;
    let paths: Vec<_> = page["requests"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["path"].clone())
        .collect();
    assert!(!paths.contains(&Value::from("/smuggled")), "{paths:?}");
    app.stop().await;
}

#[tokio::test]
async fn http_1_0_without_host_is_captured() {
    let app = spawn_app().await;
    let answer = raw_exchange(app.addr, b"POST /old HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi", SHORT).await;
    assert_eq!(statuses(&answer), [200]);
    let page = app.get_json("/_/api/requests", 200).await;
    assert_eq!(page["requests"][0]["path"], "/old");
    app.stop().await;
}

#[tokio::test]
async fn pipelined_requests_are_each_captured_in_order() {
    let app = spawn_app().await;
    let request = b"POST /p1 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\naPOST /p2 HTTP/1.1\r\nHost: h\r\n\
                    Content-Length: 1\r\n\r\nbPOST /p3 HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nConnection: close\r\n\r\nc";
    assert_eq!(raw_statuses(app.addr, request).await, [200, 200, 200]);
    let page = app.get_json("/_/api/requests", 200).await;
    let paths: Vec<_> = page["requests"]
        .as_array()
        .expect("list")
        .iter()
        .rev()
        .map(|r| r["path"].clone())
        .collect();
    assert_eq!(paths, ["/p1", "/p2", "/p3"]);
    app.stop().await;
}

#[tokio::test]
async fn a_hundred_and_one_headers_are_431() {
    let app = spawn_app().await;
    let headers: String = (0..101).map(|n| format!("X-H{n}: v\r\n")).collect();
    let request = format!("POST /many HTTP/1.1\r\nHost: h\r\n{headers}\r\n");
    assert_eq!(raw_statuses(app.addr, request.as_bytes()).await, [431]);
    let ninety_nine: String = (0..98).map(|n| format!("X-H{n}: v\r\n")).collect();
    let request = format!("POST /many HTTP/1.1\r\nHost: h\r\n{ninety_nine}Connection: close\r\n\r\n");
    assert_eq!(
        raw_statuses(app.addr, request.as_bytes()).await,
        [200],
        "100 lines pass"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_64_kib_header_is_431() {
    let app = spawn_app().await;
    let request = format!(
        "POST /big HTTP/1.1\r\nHost: h\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    assert_eq!(raw_statuses(app.addr, request.as_bytes()).await, [431]);
    assert_eq!(app.get_json("/_/health", 200).await["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn slowloris_header_drip_is_cut_off() {
    let app = spawn_app_with(|c| c.limits.header_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let started = Instant::now();
    let drip = b"POST /slow HTTP/1.1\r\nHost: h\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    for byte in drip {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if started.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    let closed = closed_within(&mut stream, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "the dripping connection is closed");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(app.list_ids("").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn slow_body_drip_gets_408_and_stores_nothing() {
    let app = spawn_app_with(|c| c.limits.body_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(b"POST /drip HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n")
        .await
        .expect("head");
    let mut answer = Vec::new();
    let sender = async {
        for _ in 0..30 {
            if stream.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut answer)).await;
    };
    sender.await;
    assert_eq!(statuses(&String::from_utf8_lossy(&answer)), [408]);
    assert!(app.list_ids("").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn idle_keep_alive_connection_is_closed() {
    let app = spawn_app_with(|c| c.limits.header_timeout = Duration::from_secs(1)).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    stream
        .write_all(b"POST /once HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        .await
        .expect("request");
    let mut buffer = [0u8; 1024];
    let read = stream.read(&mut buffer).await.expect("response");
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut stream, Duration::from_secs(5))
        .await
        .expect("closed when idle");
    assert!(
        closed >= Duration::from_millis(800),
        "kept open for the timeout first ({closed:?})"
    );
    app.stop().await;
}

#[tokio::test]
async fn mid_body_disconnect_leaves_no_row() {
    let app = spawn_app().await;
    {
        let mut stream = TcpStream::connect(app.addr).await.expect("connect");
        stream
            .write_all(b"POST /cut HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nonly part of it")
            .await
            .expect("partial");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(app.list_ids("").await.is_empty());
    let id = app.post_json("/after", "{}").await;
    assert_eq!(app.list_ids("").await, [id], "the server carries on");
    app.stop().await;
}

#[tokio::test]
async fn connection_limit_makes_further_clients_wait_not_fail() {
    let app = spawn_app_with(|c| c.limits.max_connections = 2).await;
    let hold_a = TcpStream::connect(app.addr).await.expect("connect");
    let hold_b = TcpStream::connect(app.addr).await.expect("connect");
    let waiting = tokio::spawn({
        let addr = app.addr;
        async move {
            raw_exchange(
                addr,
                b"POST /third HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
                SHORT,
            )
            .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection is not served while two are open"
    );
    drop(hold_a);
    drop(hold_b);
    let answer = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served")
        .expect("task");
    assert_eq!(statuses(&answer), [200]);
    app.stop().await;
}

// ---- bytes stay bytes ---------------------------------------------------------------------------------------

#[tokio::test]
async fn non_ascii_header_bytes_are_kept_and_shown_as_latin1() {
    let app = spawn_app().await;
    let request =
        b"POST /na HTTP/1.1\r\nHost: h\r\nX-Name: caf\xe9 \xff\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_statuses(app.addr, request).await, [200]);
    let id = app.list_ids("").await[0];
    let detail = app.detail(id).await;
    let value = detail["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .find(|pair| pair[0] == "x-name")
        .map(|pair| pair[1].as_str().unwrap_or_default().to_owned())
        .expect("x-name kept");
    assert_eq!(value, "café ÿ");
    assert!(!value.contains('\u{fffd}'));
    app.stop().await;
}

#[tokio::test]
async fn header_keys_differing_only_in_non_utf8_bytes_are_different_keys() {
    let app = spawn_app().await;
    let send = |key: &'static [u8]| {
        let mut request = b"POST /k HTTP/1.1\r\nHost: h\r\nIdempotency-Key: ".to_vec();
        request.extend_from_slice(key);
        request.extend_from_slice(b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        request
    };
    // "é" as ISO-8859-1 (one byte) and as UTF-8 (two bytes) look alike as text but are different keys.
    raw_exchange(app.addr, &send(b"k\xe9"), SHORT).await;
    raw_exchange(app.addr, &send("ké".as_bytes()), SHORT).await;
    raw_exchange(app.addr, &send(b"k\xe9"), SHORT).await;
    let page = app.get_json("/_/api/requests", 200).await;
    let duplicates: Vec<_> = page["requests"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["duplicate_of"].clone())
        .collect();
    let ids = ids_of(&page);
    assert_eq!(duplicates, [Value::from(ids[2]), Value::Null, Value::Null]);
    app.stop().await;
}

#[tokio::test]
async fn nul_bytes_and_binary_bodies_are_kept_exactly() {
    let app = spawn_app().await;
    let body: Vec<u8> = vec![0, 0, 0xff, 0xfe, b'{', 0, b'}', 0x80];
    let id = app.post_with("/nul", "application/json", body.clone(), &[]).await;
    let raw = app
        .client
        .get(app.url(&format!("/_/api/requests/{id}/body")))
        .send()
        .await
        .expect("body");
    assert_eq!(raw.bytes().await.expect("bytes").to_vec(), body);
    let detail = app.detail(id).await;
    assert_eq!(detail["valid"], false, "says JSON, is not");
    app.stop().await;
}

#[tokio::test]
async fn encoded_nul_and_dot_dot_paths_are_stored_verbatim() {
    let app = spawn_app().await;
    let request =
        b"POST /a/%00/../../etc/passwd?x=%00 HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_statuses(app.addr, request).await, [200]);
    let page = app.get_json("/_/api/requests", 200).await;
    assert_eq!(page["requests"][0]["path"], "/a/%00/../../etc/passwd");
    assert_eq!(page["requests"][0]["query"], "x=%00");
    app.stop().await;
}

#[tokio::test]
async fn json_nested_past_the_parser_limit_is_stored_with_a_clear_error() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let id = app.post_json("/deep", &deep).await;
    let detail = app.detail(id).await;
    assert_eq!(detail["valid"], false);
    assert_eq!(detail["body_size"], 100_000);
    let message = detail["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("recursion limit"), "{message}");
    assert_eq!(app.get_json("/_/health", 200).await["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn json_with_100k_keys_is_stored_and_the_server_stays_responsive() {
    let app = spawn_app().await;
    let members: Vec<String> = (0..100_000).map(|n| format!("\"k{n}\":{n}")).collect();
    let wide = format!("{{{}}}", members.join(","));
    let started = Instant::now();
    let id = app.post_json("/wide", &wide).await;
    assert!(started.elapsed() < Duration::from_secs(20));
    let detail = app.detail(id).await;
    assert_eq!(detail["body_kind"], "json");
    assert_eq!(detail["envelope"], Value::Null);
    assert_eq!(app.get_json("/_/health", 200).await["status"], "ok");
    app.stop().await;
}

#[tokio::test]
async fn duplicate_json_keys_are_warned_with_key_and_path() {
    let app = spawn_app().await;
    let body = r#"{"event": "invoices.created", "event": "bills.deleted", "message": "m",
                   "idempotency_key": "26053e97-f78a-4d25-a519-4eed22ba5c41", "environment": "staging",
                   "data": {"id": 1, "id": 2}}"#;
    let detail = app.detail(app.post_json("/dups", body).await).await;
    let warnings = detail["warnings"].as_array().expect("warnings");
    let paths: Vec<_> = warnings
        .iter()
        .map(|w| w["path"].as_str().unwrap_or_default())
        .collect();
    assert!(paths.contains(&"/event") && paths.contains(&"/data/id"), "{warnings:?}");
    assert!(
        warnings
            .iter()
            .any(|w| w["message"].as_str().unwrap_or_default().contains("\"id\""))
    );
    app.stop().await;
}

#[tokio::test]
async fn script_in_every_field_comes_back_as_inert_json() {
    let app = spawn_app().await;
    let evil = "<script>window.pwned=1</script><img src=x onerror=alert(1)>";
    let request = format!(
        "POST /%3Cscript%3E?q=%3Cscript%3E HTTP/1.1\r\nHost: h\r\nX-Evil: {evil}\r\nContent-Type: text/html\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{evil}",
        evil.len()
    );
    assert_eq!(raw_statuses(app.addr, request.as_bytes()).await, [200]);
    let id = app.list_ids("").await[0];
    let response = app
        .client
        .get(app.url(&format!("/_/api/requests/{id}")))
        .send()
        .await
        .expect("detail");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap_or_default()
            .contains("default-src 'none'")
    );
    let detail: Value = response.json().await.expect("json");
    assert_eq!(detail["body"], evil, "stored and returned exactly, as data");
    app.stop().await;
}

// ---- exposure -----------------------------------------------------------------------------------------------

#[tokio::test]
async fn dns_rebinding_host_cannot_reach_inspector_or_api() {
    let app = spawn_app().await;
    for path in ["/", "/_/api/requests", "/_/api/stats", "/_/health", "/_/events"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: attacker.example:8080\r\nConnection: close\r\n\r\n");
        assert_eq!(raw_statuses(app.addr, request.as_bytes()).await, [403], "{path}");
    }
    let capture = b"POST /hook HTTP/1.1\r\nHost: attacker.example\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(raw_statuses(app.addr, capture).await, [200], "capture takes any Host");
    app.stop().await;
}

#[tokio::test]
async fn allowed_host_names_reach_the_inspector() {
    let app = spawn_app_with(|c| c.access.allowed_hosts = vec!["hooks.test".into()]).await;
    for host in ["localhost:1", "127.0.0.1", "[::1]:9", "hooks.test", "hooks.test:8080"] {
        let request = format!("GET /_/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        assert_eq!(raw_statuses(app.addr, request.as_bytes()).await, [200], "{host}");
    }
    app.stop().await;
}

#[tokio::test]
async fn cross_site_delete_is_refused() {
    let app = spawn_app().await;
    let id = app.post_json("/keep", "{}").await;
    assert_eq!(
        app.delete_with("/_/api/requests", &[("Origin", "http://attacker.example")])
            .await,
        403
    );
    assert_eq!(app.delete_with("/_/api/requests", &[("Origin", "null")]).await, 403);
    assert_eq!(
        app.delete_with("/_/api/requests", &[("Sec-Fetch-Site", "cross-site")])
            .await,
        403
    );
    assert_eq!(app.list_ids("").await, [id], "nothing was deleted");
    assert_eq!(
        app.delete_with("/_/api/requests", &[("Origin", &format!("http://{}", app.addr))])
            .await,
        204
    );
    app.stop().await;
}

#[tokio::test]
async fn no_response_grants_another_origin_read_access() {
    let app = spawn_app().await;
    app.post_json("/x", "{}").await;
    for path in ["/", "/_/api/requests", "/_/api/requests/1", "/x"] {
        let response = app
            .client
            .get(app.url(path))
            .header("Origin", "http://attacker.example")
            .send()
            .await
            .expect("get");
        assert!(
            response.headers().get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn token_is_required_when_exposed() {
    let app = spawn_app_with(|c| c.access.token = Some("s3cret".into())).await;
    app.get_json("/_/api/requests", 401).await;
    let page = app.client.get(app.url("/")).send().await.expect("page");
    assert_eq!(page.status(), 401);

    let bearer = app
        .client
        .get(app.url("/_/api/requests"))
        .bearer_auth("s3cret")
        .send()
        .await
        .expect("bearer");
    assert_eq!(bearer.status(), 200);
    let wrong = app
        .client
        .get(app.url("/_/api/requests"))
        .bearer_auth("guess")
        .send()
        .await
        .expect("wrong");
    assert_eq!(wrong.status(), 401);

    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let link = no_redirects
        .get(app.url("/?booth=1&token=s3cret"))
        .send()
        .await
        .expect("token link");
    assert_eq!(link.status(), 303);
    assert_eq!(link.headers()["location"], "/?booth=1");
    let cookie = link.headers()["set-cookie"].to_str().expect("cookie").to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().expect("pair").to_owned();
    let with_cookie = app
        .client
        .get(app.url("/_/api/stats"))
        .header("Cookie", pair)
        .send()
        .await
        .expect("cookie");
    assert_eq!(with_cookie.status(), 200);

    let capture = app
        .client
        .post(app.url("/hook"))
        .body("{}")
        .send()
        .await
        .expect("capture");
    assert_eq!(capture.status(), 200, "capture needs no token");
    app.stop().await;
}

// ---- storage ------------------------------------------------------------------------------------------------

#[tokio::test]
async fn locked_database_answers_503_then_recovers_by_itself() {
    let app = spawn_app().await;
    app.post_json("/before", "{}").await;
    let holder = rusqlite::Connection::open(&app.db_path).expect("open");
    holder.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
    let refused = app
        .client
        .post(app.url("/while-locked"))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));
    holder.execute_batch("ROLLBACK").expect("release");
    drop(holder);
    let after = app.post_json("/after", "{}").await;
    let page = app.get_json("/_/api/requests", 200).await;
    let paths: Vec<_> = page["requests"]
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["path"].clone())
        .collect();
    assert_eq!(paths, ["/after", "/before"], "the refused request was never stored");
    assert_eq!(ids_of(&page)[0], after);
    app.stop().await;
}

#[tokio::test]
async fn full_database_answers_507_then_recovers_when_space_returns() {
    let app = spawn_app_with(|c| c.store.max_bytes = Some(256 * 1024)).await;
    let body = "x".repeat(16 * 1024);
    let mut status = 200;
    for _ in 0..64 {
        status = app
            .client
            .post(app.url("/fill"))
            .body(body.clone())
            .send()
            .await
            .expect("post")
            .status()
            .as_u16();
        if status != 200 {
            break;
        }
    }
    assert_eq!(status, 507, "the database filled up");
    let stored = app.get_json("/_/api/stats", 200).await["total"]
        .as_i64()
        .expect("total");
    assert_eq!(app.delete("/_/api/requests").await, 204);
    let id = app.post_with("/again", "text/plain", body.into_bytes(), &[]).await;
    assert_eq!(app.list_ids("").await, [id]);
    assert!(stored > 0);
    app.stop().await;
}

#[tokio::test]
async fn a_hundred_concurrent_writers_never_see_busy() {
    let app = spawn_app().await;
    let sends = (0..100).map(|n| {
        let client = app.client.clone();
        let url = app.url(&format!("/c/{n}"));
        async move {
            client
                .post(url)
                .body("{}")
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert_eq!(app.get_json("/_/api/stats", 200).await["total"], 100);
    app.stop().await;
}

#[tokio::test]
async fn retention_keeps_the_newest_and_bounds_the_files() {
    let app = spawn_app_with(|c| c.store.keep = Some(100)).await;
    let body = channel_event("invoices.created", "00000000-0000-0000-0000-000000000000");
    let padded = |n: usize| body.replace("00000000-0000-0000-0000-000000000000", &format!("{n:036}"));
    let mut last = 0;
    for round in 0..30 {
        let bodies: Vec<String> = (0..100).map(|n| padded(round * 100 + n)).collect();
        let sends = bodies.iter().map(|body| app.post_json("/soak", body));
        last = *futures_util::future::join_all(sends).await.iter().max().expect("ids");
    }
    let page = app.get_json("/_/api/requests?limit=500", 200).await;
    let ids = ids_of(&page);
    assert_eq!(ids.len(), 100);
    assert_eq!(ids[0], last);
    assert_eq!(ids[99], last - 99);
    let size = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let database = size(&app.db_path);
    assert!(database < 12 * 1024 * 1024, "the database is {database} bytes");
    // Under sustained load the WAL is restarted at 64 MB and never kept beyond 80 MB (docs/design.md).
    let wal = size(&app.db_path.with_extension("db-wal"));
    assert!(wal <= 80 * 1024 * 1024, "the WAL is {wal} bytes");
    // Eviction is counted, not silent.
    let stats = app.get_json("/_/api/stats", 200).await;
    assert_eq!(
        (stats["total"].clone(), stats["evicted"].clone(), stats["keep"].clone()),
        (100.into(), 2900.into(), 100.into())
    );
    assert_eq!(app.delete("/_/api/requests").await, 204);
    assert_eq!(
        app.get_json("/_/api/stats", 200).await["evicted"],
        0,
        "clearing starts the count again"
    );
    app.stop().await;
}

/// With a small `--keep`, the database and its WAL end up within twice the kept requests' size plus 8 MiB, a
/// moment after a burst of large captures stops, however many came before.
#[tokio::test]
async fn a_small_keep_bounds_the_files_after_a_burst() {
    const KEEP: usize = 100;
    const BODY: usize = 8 * 1024;
    let app = spawn_app_with(|c| c.store.keep = Some(KEEP as u64)).await;
    let body = vec![b'x'; BODY];
    for _ in 0..40 {
        let sends = (0..100).map(|_| app.post_with("/burst", "application/octet-stream", body.clone(), &[]));
        futures_util::future::join_all(sends).await;
    }
    assert_eq!(app.get_json("/_/api/stats", 200).await["total"], KEEP);
    let bound = 2 * (KEEP * BODY) as u64 + 8 * 1024 * 1024;
    let size = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let on_disk = || size(&app.db_path) + size(&app.db_path.with_extension("db-wal"));
    let deadline = Instant::now() + Duration::from_secs(5);
    while on_disk() > bound && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (database, wal) = (size(&app.db_path), size(&app.db_path.with_extension("db-wal")));
    assert!(
        database + wal <= bound,
        "after 4,000 captures of 8 KiB with --keep {KEEP}: database {database} + WAL {wal} bytes, over {bound}"
    );
    app.stop().await;
}

#[test]
fn read_only_database_is_one_sentence_at_start() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("ro.db");
    create_hookscope_db(&db);
    let mut permissions = std::fs::metadata(&db).expect("meta").permissions();
    use std::os::unix::fs::PermissionsExt;
    permissions.set_mode(0o444);
    std::fs::set_permissions(&db, permissions).expect("chmod file");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");

    // Root writes through file modes, so run hookscope as `nobody` when the suite runs as root. The binary is
    // copied beside the database, since the build folder may not be reachable by that user.
    let binary = dir.path().join("hookscope");
    std::fs::copy(env!("CARGO_BIN_EXE_hookscope"), &binary).expect("copy binary");
    let is_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false);
    let mut command = if is_root {
        let mut command = std::process::Command::new("setpriv");
        command
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&binary);
        command
    } else {
        std::process::Command::new(&binary)
    };
    let output = command
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("is read-only"), "{stderr}");
}

/// Creates a hookscope database at `db` by starting and stopping the real binary.
fn create_hookscope_db(db: &std::path::Path) {
    let running = crate::startup::start(db);
    assert!(running.terminate().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_request() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("crash.db");
    let running = crate::startup::start(&db);
    let base = running.url.clone();
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let stop = tokio_util::sync::CancellationToken::new();
    let senders: Vec<_> = (0..16)
        .map(|sender| {
            let (base, acknowledged, stop) = (base.clone(), acknowledged.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut n = 0;
                while !stop.is_cancelled() {
                    n += 1;
                    let body = channel_event("invoices.created", &format!("{sender}-{n}"));
                    let Ok(response) = client.post(format!("{base}/load")).body(body).send().await else {
                        break;
                    };
                    if response.status() != 200 {
                        break;
                    }
                    let Ok(answer) = response.json::<Value>().await else {
                        break;
                    };
                    if let (Some(id), Ok(mut ids)) = (answer["id"].as_i64(), acknowledged.lock()) {
                        ids.push(id);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut child = running.child;
    child.kill().expect("kill -9");
    let _ = child.wait();
    stop.cancel();
    for sender in senders {
        let _ = sender.await;
    }
    let acknowledged = acknowledged.lock().map(|ids| ids.clone()).unwrap_or_default();
    assert!(
        acknowledged.len() > 50,
        "the load ran ({} acknowledged)",
        acknowledged.len()
    );

    let conn = rusqlite::Connection::open(&db).expect("reopen after the crash");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("check");
    assert_eq!(integrity, "ok");
    let mut stored = std::collections::HashSet::new();
    let mut statement = conn.prepare("SELECT id FROM requests").expect("query");
    for id in statement.query_map([], |row| row.get::<_, i64>(0)).expect("ids") {
        stored.insert(id.expect("id"));
    }
    let lost: Vec<_> = acknowledged.iter().filter(|id| !stored.contains(id)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    drop(statement);
    drop(conn);

    let restarted = crate::startup::start(&db);
    let post = |path: &str, body: String| {
        let url = format!("{}{path}", restarted.url);
        async move {
            let response = reqwest::Client::new().post(url).body(body).send().await.expect("post");
            response.json::<Value>().await.expect("json")
        }
    };
    let answer = post("/after", "{}".to_owned()).await;
    let max_acknowledged = acknowledged.iter().max().copied().unwrap_or_default();
    assert!(
        answer["id"].as_i64().unwrap_or_default() > max_acknowledged,
        "ids continue after the crash"
    );
    // The first key each sender used was acknowledged, so it must still be known: keys waiting in memory at the
    // crash are found again in their requests' rows.
    for sender in 0..16 {
        let answer = post("/again", channel_event("invoices.created", &format!("{sender}-1"))).await;
        assert!(answer["duplicate_of"].is_i64(), "key {sender}-1 forgotten: {answer}");
    }
    assert!(restarted.terminate().success());
}
