//! The command-line clients, run as a user runs them: the built binary against a real hookscope.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;

const BINARY: &str = env!("CARGO_BIN_EXE_hookscope");

/// Runs a client command against `app` to its end.
async fn run(app: &TestApp, args: &[&str]) -> Output {
    let url = format!("http://{}", app.addr);
    let mut command = tokio::process::Command::new(BINARY);
    command
        .args(args)
        .env("HOOKSCOPE_URL", url)
        .env_remove("HOOKSCOPE_TOKEN")
        .env("NO_COLOR", "1");
    command.output().await.expect("the client runs")
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn wait_exits_0_with_the_matching_requests_detail_and_only_that() {
    let app = spawn_app().await;
    let before = app
        .post_json(
            "/hooks/a",
            &channel_event("invoices.created", "11111111-1111-4111-8111-111111111111"),
        )
        .await;
    let url = format!("http://{}", app.addr);
    let child = tokio::process::Command::new(BINARY)
        .args([
            "wait",
            "--event",
            "invoices.created",
            "--match",
            "/data/id=2",
            "--timeout",
            "20s",
        ])
        .env("HOOKSCOPE_URL", &url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wait runs");
    // The process cannot be watched starting; a request landing this soon after must still be taken.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.post_json(
        "/hooks/b",
        &channel_event("invoices.paid", "22222222-2222-4222-8222-222222222222"),
    )
    .await;
    let other = serde_json::json!({"event": "invoices.created", "message": "m", "idempotency_key": "33333333-3333-4333-8333-333333333333", "environment": "staging", "data": {"id": 1}});
    app.post_json("/hooks/c", &other.to_string()).await;
    let mut wanted = other.clone();
    wanted["data"]["id"] = Value::from(2);
    wanted["idempotency_key"] = Value::from("44444444-4444-4444-8444-444444444444");
    let id = app.post_json("/hooks/d", &wanted.to_string()).await;
    let output = child.wait_with_output().await.expect("wait ends");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let detail: Value = serde_json::from_str(&lines[0]).expect("a JSON line");
    assert_eq!(detail["id"], id);
    assert_ne!(detail["id"], before);
    assert!(output.stderr.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn wait_times_out_with_exit_1_and_one_sentence_after_printing_what_matched() {
    let app = spawn_app().await;
    let id = app.post_json("/x", "{}").await;
    let output = run(
        &app,
        &[
            "wait",
            "--after",
            "0",
            "--path",
            "/x",
            "--count",
            "2",
            "--timeout",
            "500ms",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1));
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(serde_json::from_str::<Value>(&lines[0]).expect("JSON")["id"], id);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "hookscope: timed out after 500ms: 1 of 2 matching requests arrived"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_bad_flag_an_unreachable_server_or_a_bad_token_is_one_sentence_and_exit_2() {
    let app = spawn_app_with(|c| c.access.token = Some("s3cret".into())).await;
    for (args, words) in [
        (vec!["wait", "--status", "6xx"], "status"),
        (vec!["wait", "--timeout", "soon"], "--timeout"),
        (vec!["tail"], "token"),
        (
            vec!["send", "--sign", "standard-webhooks", "--secret", "bad!"],
            "--secret",
        ),
        (vec!["send", "--rate", "0"], "--rate"),
        (vec!["clear", "--url", "http://127.0.0.1:9"], "cannot reach hookscope"),
    ] {
        let output = run(&app, &args).await;
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(words), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    app.stop().await;
}

#[tokio::test]
async fn tail_prints_each_capture_once_across_a_restart_of_the_server() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("tail.db");
    let app = spawn_app_at(&db, |_| {}).await;
    let addr = app.addr;
    let first = app.post_json("/hooks/one", "{}").await;
    let mut child = tokio::process::Command::new(BINARY)
        .args(["tail", "--after", "0", "--json"])
        .env("HOOKSCOPE_URL", format!("http://{addr}"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("tail runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut next_id = async || -> i64 {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("a line in time")
            .expect("read")
            .expect("a line");
        serde_json::from_str::<Value>(&line).expect("JSON")["id"]
            .as_i64()
            .expect("id")
    };
    assert_eq!(next_id().await, first);
    let second = app.post_json("/hooks/two\u{1b}[2J", "{}").await;
    assert_eq!(next_id().await, second);
    app.stop().await;
    // The same port again, so tail finds it where it was.
    let app = spawn_app_at(&db, |c| c.listen = addr).await;
    let third = app.post_json("/hooks/three", "{}").await;
    assert_eq!(next_id().await, third, "nothing missed or repeated across the restart");
    child.kill().await.expect("stop tail");
    app.stop().await;
}

#[tokio::test]
async fn tail_lines_escape_what_a_sender_wrote() {
    let app = spawn_app().await;
    app.post_json("/evil\u{1b}[31m", "{}").await;
    let mut child = tokio::process::Command::new(BINARY)
        .args(["tail", "--after", "0"])
        .env("HOOKSCOPE_URL", format!("http://{}", app.addr))
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("tail runs");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("in time")
        .expect("read")
        .expect("a line");
    assert!(!line.contains('\u{1b}'), "{line:?}");
    assert!(line.contains("#1") && line.contains("POST"), "{line}");
    child.kill().await.expect("stop");
    app.stop().await;
}

#[tokio::test]
async fn clear_deletes_what_the_filters_match_or_everything() {
    let app = spawn_app().await;
    let keep = app.post_json("/keep", "{}").await;
    app.post_json("/drop/1", "{}").await;
    app.post_json("/drop/2", "{}").await;
    let output = run(&app, &["clear", "--path", "/drop"]).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout_lines(&output), ["deleted 2 requests"]);
    assert_eq!(app.list_ids("").await, [keep]);
    let output = run(&app, &["clear"]).await;
    assert_eq!(stdout_lines(&output), ["deleted every request"]);
    assert!(app.list_ids("").await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn replay_sends_a_request_again_from_the_command_line() {
    let target = crate::target::Target::start().await;
    let app = spawn_app().await;
    let id = app.post_json("/hooks/r", r#"{"n":1}"#).await;
    let to = target.url("/app");
    let output = run(&app, &["replay", &id.to_string(), "--to", &to]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let said = stdout_lines(&output).join("\n");
    assert!(said.starts_with(&format!("replayed #{id} to {to}: 200")), "{said}");
    assert_eq!(target.wait_for(1).await[0].body, br#"{"n":1}"#);
    let output = run(&app, &["replay", "--all", "--path", "/hooks", "--to", &to]).await;
    assert_eq!(stdout_lines(&output), ["queued 1 for replay (0 skipped: no target)"]);
    target.wait_for(2).await;
    app.stop().await;
}

#[test]
fn every_command_explains_its_flags() {
    for command in ["tail", "wait", "replay", "clear"] {
        let output = Command::new(BINARY).args([command, "--help"]).output().expect("help");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{command}");
        for flag in [
            "--url",
            "--token",
            "--event",
            "--invalid",
            "--signature",
            "--environment",
        ] {
            assert!(help.contains(flag), "{command} --help lacks {flag}");
        }
    }
}

/// Captures three requests with a binary body, a header value that is not UTF-8, and shell-hostile text.
async fn capture_awkward_requests(app: &TestApp) {
    let mut binary = b"POST /bin?x=1&y=%24(id) HTTP/1.1\r\nHost: h.example\r\nX-Latin: caf\xe9\r\nX-Quote: it's $(rm -rf /) `x` \"q\"\r\nContent-Type: application/octet-stream\r\nContent-Length: 6\r\n\r\n".to_vec();
    binary.extend_from_slice(b"\x00\xff'\n$(");
    binary.push(b'x');
    let answer = raw_exchange(app.addr, &binary, Duration::from_millis(300)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    app.post_json(
        "/json",
        &channel_event("invoices.created", "55555555-5555-4555-8555-555555555555"),
    )
    .await;
    let get = b"GET /plain?a=1 HTTP/1.1\r\nHost: h.example\r\nUser-Agent: probe/1\r\n\r\n";
    let answer = raw_exchange(app.addr, get, Duration::from_millis(300)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// What a round trip keeps of a request: method, path, query, headers (raw bytes), body, time and sender.
async fn kept(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    let mut ids = app.list_ids("").await;
    ids.reverse();
    for id in ids {
        let detail = app.detail(id).await;
        out.push(serde_json::json!([
            detail["method"],
            detail["path"],
            detail["query"],
            detail["headers"],
            detail["body"],
            detail["body_base64"],
            detail["received_at"],
            detail["remote_addr"]
        ]));
    }
    out
}

#[tokio::test]
async fn an_ndjson_export_imports_byte_exact_and_exports_the_same_again() {
    let first = spawn_app().await;
    capture_awkward_requests(&first).await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("out.ndjson");
    let output = run(
        &first,
        &["export", "--format", "ndjson", "-o", file.to_str().expect("path")],
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let second = spawn_app().await;
    let output = run(&second, &["import", file.to_str().expect("path")]).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout_lines(&output), ["imported 3, skipped 0"]);
    assert_eq!(kept(&second).await, kept(&first).await);
    let again = dir.path().join("again.ndjson");
    run(&second, &["export", "-o", again.to_str().expect("path")]).await;
    let lines = |path: &std::path::Path| -> Vec<Value> {
        std::fs::read_to_string(path)
            .expect("export")
            .lines()
            .map(|line| {
                let value: Value = serde_json::from_str(line).expect("JSON");
                serde_json::json!([
                    value["method"],
                    value["path"],
                    value["query"],
                    value["headers"],
                    value["headers_base64"],
                    value["body"],
                    value["body_base64"],
                    value["received_at"],
                    value["remote_addr"]
                ])
            })
            .collect()
    };
    assert_eq!(lines(&again), lines(&file));
    // A malformed line is skipped, named, and makes the exit status 1.
    let broken = dir.path().join("broken.ndjson");
    let text = std::fs::read_to_string(&file).expect("export");
    std::fs::write(&broken, format!("{{not json\n{text}")).expect("write");
    let output = run(&second, &["import", broken.to_str().expect("path")]).await;
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout_lines(&output), ["imported 3, skipped 1"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 1 skipped"));
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn a_har_export_is_valid_http_archive_1_2() {
    let app = spawn_app().await;
    capture_awkward_requests(&app).await;
    let output = run(&app, &["export", "--format", "har"]).await;
    assert_eq!(output.status.code(), Some(0));
    let har: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/har-1.2.schema.json"),
        )
        .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("the HAR schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&har)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let entries = har["log"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["request"]["postData"]["_encoding"], "base64");
    assert_eq!(entries[1]["_envelope"], "channel_event");
    app.stop().await;
}

#[tokio::test]
async fn the_curl_script_reproduces_each_request_byte_for_byte_and_runs_nothing_it_carries() {
    let first = spawn_app().await;
    capture_awkward_requests(&first).await;
    let second = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    let script = dir.path().join("replay.sh");
    let to = format!("http://{}", second.addr);
    let output = run(
        &first,
        &[
            "export",
            "--format",
            "curl",
            "--to",
            &to,
            "-o",
            script.to_str().expect("path"),
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(0));
    let ran = tokio::process::Command::new("bash")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .await
        .expect("bash runs");
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "the script made nothing else"
    );
    let shape = |kept: Vec<Value>| -> Vec<Value> {
        kept.into_iter()
            .map(|request| {
                let mut headers: Vec<Value> = request[3].as_array().cloned().unwrap_or_default();
                headers.sort_by_key(|header| header.to_string());
                serde_json::json!([request[0], request[1], request[2], headers, request[4], request[5]])
            })
            .collect()
    };
    assert_eq!(shape(kept(&second).await), shape(kept(&first).await));
    first.stop().await;
    second.stop().await;
}

fn summary_of(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the summary as JSON")
}

#[tokio::test]
async fn send_makes_each_profiles_requests_signed_as_its_provider_signs_them() {
    let app = spawn_app().await;
    for (profile, scheme) in [
        ("github", Some("github")),
        ("stripe", Some("stripe")),
        ("standard_webhooks", Some("standard-webhooks")),
        ("shopify", Some("shopify")),
        ("channel_event", None),
        ("entity_action", None),
        ("array_of_one", None),
    ] {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let path = format!("/hooks/{profile}");
        let mut endpoint = serde_json::json!({"name": profile, "path": path});
        if scheme.is_some() {
            endpoint["verify"] = serde_json::json!({"secrets": [secret]});
        }
        create_endpoint(&app, endpoint).await;
        let mut args = vec!["send", "--profile", profile, "--count", "3", "--json"];
        if let Some(scheme) = scheme {
            args.extend(["--sign", scheme, "--secret", secret]);
        }
        let summary = summary_of(&run(&app, &args).await);
        assert_eq!(summary["sent"], 3, "{profile}: {summary}");
        assert_eq!(summary["answered"]["200"], 3, "{profile}: {summary}");
        let ids = app.list_ids(&format!("endpoint={profile}")).await;
        assert_eq!(ids.len(), 3);
        for id in ids {
            let detail = app.detail(id).await;
            assert_eq!(detail["envelope"], profile, "{detail}");
            assert_eq!(detail["valid"], true, "{detail}");
            if scheme.is_some() {
                assert_eq!(detail["signature"], "valid", "{profile}: {detail}");
            }
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn send_breaks_and_repeats_on_purpose_retries_and_stops_at_410() {
    let app = spawn_app_with(|c| {
        c.respond = vec![
            (
                hookscope::endpoints::pattern::PathPattern::parse("/flaky").expect("pattern"),
                hookscope::endpoints::steps::parse_shorthand("500x2,200").expect("steps"),
            ),
            (
                hookscope::endpoints::pattern::PathPattern::parse("/gone").expect("pattern"),
                hookscope::endpoints::steps::parse_shorthand("200,410").expect("steps"),
            ),
        ]
    })
    .await;
    let summary = summary_of(
        &run(
            &app,
            &[
                "send",
                "--profile",
                "channel_event",
                "--count",
                "10",
                "--invalid-every",
                "5",
                "--duplicate-every",
                "3",
                "--json",
            ],
        )
        .await,
    );
    assert_eq!(summary["sent"], 10);
    assert_eq!(summary["invalid_sent"], 2);
    assert_eq!(summary["duplicates_sent"], 2);
    assert_eq!(app.list_ids("valid=false").await.len(), 2);
    assert_eq!(app.list_ids("duplicate=true").await.len(), 2);

    let flaky = format!("http://{}/flaky", app.addr);
    let summary = summary_of(&run(&app, &["send", &flaky, "--count", "1", "--retries", "3", "--json"]).await);
    assert_eq!(summary["retries"], 2);
    assert_eq!(summary["answered"]["200"], 1);

    let gone = format!("http://{}/gone", app.addr);
    let summary = summary_of(&run(&app, &["send", &gone, "--count", "20", "--json"]).await);
    assert_eq!(summary["stopped_by_410"], true);
    assert_eq!(summary["sent"], 2, "{summary}");
    let output = run(&app, &["send", "--count", "2"]).await;
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("sent 2 in") && said.contains("latency p50"), "{said}");
    app.stop().await;
}
