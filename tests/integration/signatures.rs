//! Signatures over HTTP: each scheme's valid signature, each failure's reason and explanation, key rotation,
//! `auto`, secrets masked in the API and absent from the log.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use hookscope::signatures::{Scheme, Signing, sign};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The headers `scheme` signs `body` with for a request to `url`.
fn signed(scheme: Scheme, secret: &str, body: &[u8], url: &str, timestamp: i64) -> Vec<(String, String)> {
    sign(
        scheme,
        None,
        secret,
        &Signing {
            body,
            timestamp,
            id: "msg_2Lx1",
            url,
            form: false,
        },
    )
    .expect("signs")
}

async fn post_signed(app: &TestApp, path: &str, body: &[u8], headers: &[(String, String)]) -> i64 {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    app.post_with(path, "application/json", body.to_vec(), &pairs).await
}

#[tokio::test]
async fn each_scheme_verifies_a_real_signature_and_says_which_secret_matched() {
    let app = spawn_app().await;
    let body = br#"{"id":"evt_1","object":"event","type":"invoice.paid"}"#;
    for scheme in ["standard-webhooks", "github", "stripe", "shopify", "slack", "twilio"] {
        let secret = if scheme == "standard-webhooks" {
            SW_SECRET
        } else {
            "whsec_plain-text-secret-1234"
        };
        let path = format!("/hooks/{scheme}");
        let public_url = "https://abc.example.dev";
        create_endpoint(&app,
            json!({"name": scheme, "path": path, "verify": {"scheme": scheme, "secrets": [secret], "public_url": public_url}}),
        )
        .await;
        let scheme_value = Scheme::from_name(scheme).expect("scheme");
        let headers = signed(scheme_value, secret, body, &format!("{public_url}{path}"), now());
        let id = post_signed(&app, &path, body, &headers).await;
        let detail = app.detail(id).await;
        assert_eq!(detail["signature"], "valid", "{scheme}: {detail}");
        let check = &detail["signature_check"];
        assert_eq!(check["scheme"], scheme);
        assert_eq!(check["valid"], true);
        assert!(
            check["secret"].as_str().is_some_and(|mask| mask.contains('…')),
            "{check}"
        );
        assert!(
            !detail.to_string().contains(&secret[8..]),
            "the secret is never returned whole"
        );
    }
    // An `hmac` sender: SHA-512 in base64 after a prefix, over the timestamp and the body.
    create_endpoint(
        &app,
        json!({"name": "custom", "path": "/hooks/custom", "verify": {
            "scheme": "hmac", "secrets": ["k3y"], "header": "X-Acme-Signature", "prefix": "sha512=",
            "algorithm": "sha512", "encoding": "base64", "template": "{{timestamp}}.{{body}}",
            "timestamp_header": "X-Acme-Timestamp"
        }}),
    )
    .await;
    let timestamp = now();
    let signature = hmac_sha512_base64(b"k3y", &[timestamp.to_string().as_bytes(), b".", body]);
    let headers = vec![
        ("X-Acme-Signature".to_owned(), format!("sha512={signature}")),
        ("X-Acme-Timestamp".to_owned(), timestamp.to_string()),
    ];
    let id = post_signed(&app, "/hooks/custom", body, &headers).await;
    assert_eq!(app.detail(id).await["signature"], "valid");
    app.stop().await;
}

/// An HMAC-SHA512 in base64 made with the `hmac` crate directly, not through hookscope's signer.
fn hmac_sha512_base64(key: &[u8], parts: &[&[u8]]) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha512>::new_from_slice(key).expect("key");
    for part in parts {
        mac.update(part);
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// A request whose signature fails, why, and a part of its explanation.
struct Failure {
    path: &'static str,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    reason: &'static str,
    explanation: &'static str,
}

#[tokio::test]
async fn each_failure_has_its_reason_at_capture_and_its_explanation_in_the_detail() {
    let app = spawn_app().await;
    create_endpoint(
        &app,
        json!({"name": "gh", "path": "/gh", "verify": {"scheme": "github", "secrets": ["s3cret-value-abc"]}}),
    )
    .await;
    create_endpoint(&app,
        json!({"name": "sw", "path": "/sw", "verify": {"scheme": "standard-webhooks", "secrets": [SW_SECRET], "tolerance_s": 60}}),
    )
    .await;
    let cases = [
        Failure {
            path: "/gh",
            body: b"{}".to_vec(),
            headers: Vec::new(),
            reason: "the X-Hub-Signature-256 header is missing",
            explanation: "github senders send it with every delivery",
        },
        Failure {
            path: "/gh",
            body: b"{}".to_vec(),
            headers: vec![("X-Hub-Signature-256".into(), "sha256=xyz".into())],
            reason: "malformed: expected sha256=<64 hex digits>",
            explanation: "malformed",
        },
        Failure {
            path: "/gh",
            body: br#"{"a": 1}"#.to_vec(),
            headers: signed(Scheme::Github, "s3cret-value-abc", br#"{"a":1}"#, "", 0),
            reason: "no configured secret matches",
            explanation: "the signature matches this body re-serialised as compact JSON",
        },
        Failure {
            path: "/gh",
            body: b"{}".to_vec(),
            headers: signed(Scheme::Github, "another-secret", b"{}", "", 0),
            reason: "no configured secret matches",
            explanation: "no configured secret produces this signature: secret 1 (…-abc) gives",
        },
        Failure {
            path: "/sw",
            body: b"{}".to_vec(),
            headers: signed(Scheme::StandardWebhooks, SW_SECRET, b"{}", "", now() - 3600),
            reason: "s old, outside the 60 s tolerance",
            explanation: "apart from its age the signature matches secret 1 (whsec_…LaSw)",
        },
    ];
    let mut invalid = Vec::new();
    for Failure {
        path,
        body,
        headers,
        reason,
        explanation,
    } in cases
    {
        let id = post_signed(&app, path, &body, &headers).await;
        invalid.push(id);
        let detail = app.detail(id).await;
        assert_eq!(detail["signature"], "invalid");
        let check = &detail["signature_check"];
        assert_eq!(check["valid"], false);
        assert!(
            check["reason"].as_str().is_some_and(|said| said.contains(reason)),
            "{check}"
        );
        let sentences = check["explanation"]["sentences"].to_string();
        assert!(sentences.contains(explanation), "{explanation} in {sentences}");
    }
    invalid.reverse();
    assert_eq!(app.list_ids("signature=invalid").await, invalid);
    app.stop().await;
}

#[tokio::test]
async fn a_rotated_secret_auto_detection_unchecked_and_unsigned() {
    let app = spawn_app().await;
    create_endpoint(&app,
        json!({"name": "any", "path": "/any/**", "verify": {"secrets": ["old-secret-value-1", "whsec_new-secret-value-2"]}}),
    )
    .await;
    let body = br#"{"type":"ping"}"#;
    let github = post_signed(
        &app,
        "/any/gh",
        body,
        &signed(Scheme::Github, "old-secret-value-1", body, "", 0),
    )
    .await;
    let stripe = post_signed(
        &app,
        "/any/stripe",
        body,
        &signed(Scheme::Stripe, "whsec_new-secret-value-2", body, "", now()),
    )
    .await;
    let github = app.detail(github).await;
    assert_eq!(github["signature_check"]["scheme"], "github");
    assert_eq!(github["signature_check"]["secret"], "…ue-1");
    let stripe = app.detail(stripe).await;
    assert_eq!(stripe["signature_check"]["scheme"], "stripe");
    assert_eq!(stripe["signature_check"]["secret"], "whsec_…ue-2");
    assert_eq!(stripe["signature_check"]["reason"], "secret 2 matches");

    let unchecked = post_signed(&app, "/elsewhere", body, &signed(Scheme::Github, "x", body, "", 0)).await;
    let detail = app.detail(unchecked).await;
    assert_eq!(detail["signature"], "unchecked");
    assert_eq!(detail["signature_check"]["valid"], Value::Null);
    assert_eq!(detail["signature_check"]["scheme"], "github");
    let unsigned = app.post_json("/elsewhere", "{}").await;
    assert_eq!(app.detail(unsigned).await["signature_check"], Value::Null);
    assert_eq!(app.list_ids("signature=unsigned").await, [unsigned]);
    assert_eq!(app.list_ids("signature=unchecked").await, [unchecked]);
    let refused = app
        .client
        .get(app.url("/_/api/requests?signature=maybe"))
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn the_api_masks_secrets_keeps_one_sent_back_masked_and_refuses_env_secrets() {
    let app = spawn_app().await;
    let created = create_endpoint(
        &app,
        json!({"name": "sw", "path": "/sw", "verify": {"scheme": "standard-webhooks", "secrets": [SW_SECRET]}}),
    )
    .await;
    assert_eq!(created["verify"]["secrets"], json!(["whsec_…LaSw"]));
    let id = created["id"].as_i64().expect("id");
    let listed = app.get_json("/_/api/endpoints", 200).await;
    assert!(!listed.to_string().contains("MfKQ9r8GKYqr"), "{listed}");

    // A client sends back what it read, changing something else: the stored secret stays.
    let mut read = app.get_json(&format!("/_/api/endpoints/{id}"), 200).await;
    read["comment"] = json!("renamed");
    for field in ["id", "source", "stats"] {
        read.as_object_mut().expect("object").remove(field);
    }
    let replaced = send_json(&app, Method::PUT, &format!("/_/api/endpoints/{id}"), read).await;
    assert_eq!(replaced.status(), 200);
    let patched = send_json(
        &app,
        Method::PATCH,
        &format!("/_/api/endpoints/{id}"),
        json!({"verify": {"tolerance_s": 600}}),
    )
    .await;
    assert_eq!(patched.status(), 200);
    let body = b"{}";
    let check = post_signed(
        &app,
        "/sw",
        body,
        &signed(Scheme::StandardWebhooks, SW_SECRET, body, "", now()),
    )
    .await;
    assert_eq!(
        app.detail(check).await["signature"],
        "valid",
        "the secret survived both edits"
    );

    for (secrets, said) in [
        (json!(["env:HOME"]), "configuration file"),
        (json!(["whsec_…zzzz"]), "masked secret"),
        (json!([]), "1 to 10 secrets"),
    ] {
        let refused = send_json(
            &app,
            Method::POST,
            "/_/api/endpoints",
            json!({"name": "x", "path": "/x", "verify": {"secrets": secrets}}),
        )
        .await;
        assert_eq!(refused.status(), 400);
        let error: Value = refused.json().await.expect("JSON");
        assert!(error.to_string().contains(said), "{error}");
        assert!(error.to_string().contains("/verify/secrets"), "{error}");
    }
    let bad_scheme = send_json(
        &app,
        Method::POST,
        "/_/api/endpoints",
        json!({"name": "x", "path": "/x", "verify": {"scheme": "md5", "secrets": ["a"]}}),
    )
    .await;
    assert_eq!(bad_scheme.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn a_large_body_is_verified_off_the_runtime() {
    let app = spawn_app().await;
    create_endpoint(
        &app,
        json!({"name": "big", "path": "/big", "verify": {"secrets": ["s3cret"]}}),
    )
    .await;
    let body = format!("{{\"data\":\"{}\"}}", "x".repeat(512 * 1024)).into_bytes();
    let id = post_signed(&app, "/big", &body, &signed(Scheme::Shopify, "s3cret", &body, "", 0)).await;
    assert_eq!(app.detail(id).await["signature"], "valid");
    app.stop().await;
}

#[test]
fn no_secret_reaches_the_log_and_a_bad_one_in_the_file_is_named_not_shown() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("hookscope.toml");
    std::fs::write(
        &file,
        "[[endpoint]]\nname = \"gh\"\npath = \"/gh\"\nverify = { scheme = \"github\", secrets = [\"env:HOOKSCOPE_GH_SECRET\", \"literal-hunter2-secret\"] }\n",
    )
    .expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookscope"))
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("s.db"))
        .arg("--config")
        .arg(&file)
        .env("RUST_LOG", "debug")
        .env("HOOKSCOPE_GH_SECRET", "from-the-environment-hunter3")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let url = first.split_whitespace().last().expect("URL").to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    let body = "{}";
    let good = signed(Scheme::Github, "from-the-environment-hunter3", body.as_bytes(), "", 0);
    let client = reqwest::blocking::Client::builder().no_proxy().build().expect("client");
    for headers in [good, signed(Scheme::Github, "wrong", body.as_bytes(), "", 0)] {
        let mut request = client.post(format!("{url}/gh")).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let answer: Value = request.send().expect("answer").json().expect("JSON");
        let id = answer["id"].as_i64().expect("id");
        let detail: Value = client
            .get(format!("{url}/_/api/requests/{id}"))
            .send()
            .expect("detail")
            .json()
            .expect("JSON");
        assert!(detail["signature_check"]["valid"].is_boolean(), "{detail}");
    }
    let endpoints = client
        .get(format!("{url}/_/api/endpoints"))
        .send()
        .expect("endpoints")
        .text()
        .expect("text");
    assert!(endpoints.contains("env:HOOKSCOPE_GH_SECRET"), "{endpoints}");
    assert!(!endpoints.contains("hunter"), "{endpoints}");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("SIGTERM");
    let mut log = String::new();
    child.stderr.take().expect("log").read_to_string(&mut log).expect("log");
    let _ = child.wait();
    assert!(log.contains("captured"), "the log was written: {log}");
    assert!(!log.contains("hunter"), "{log}");

    std::fs::write(
        &file,
        "[[endpoint]]\nname = \"sw\"\npath = \"/sw\"\nverify = { scheme = \"standard-webhooks\", secrets = [\"whsec_!!hunter4\"] }\n",
    )
    .expect("write");
    let output = Command::new(env!("CARGO_BIN_EXE_hookscope"))
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("s.db"))
        .arg("--config")
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("/verify/secrets/0"), "{stderr}");
    assert!(!stderr.contains("hunter4"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|line| !line.trim().is_empty()).count(),
        1,
        "{stderr}"
    );
}
