//! Starting a real hookscope on port 0 with its own database file, and talking to it over real HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hookscope::config::Config;
use hookscope::startup::Application;
use hookscope::store::Location;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running hookscope and a client for it.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The database file, for tests that look at or lock it from outside.
    pub db_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// Holds the database's directory for as long as the test runs.
    _dir: Option<tempfile::TempDir>,
}

/// Starts hookscope on port 0 with a fresh database file in a temporary directory.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], letting the test adjust the configuration first.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let db_path = dir.path().join("hookscope.db");
    let mut app = spawn_app_at(&db_path, adjust).await;
    app._dir = Some(dir);
    app
}

/// Starts hookscope on an existing (or new) database file that the caller owns.
pub async fn spawn_app_at(db_path: &Path, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::ephemeral();
    config.store.location = Location::File(db_path.to_path_buf());
    adjust(&mut config);
    let app = Application::build(config).await.expect("hookscope starts");
    let addr = app.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        client: reqwest::Client::builder().no_proxy().build().expect("HTTP client"),
        db_path: db_path.to_path_buf(),
        stop: Some(stop),
        task: Some(task),
        _dir: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends a JSON body to a capture path; returns the stored id.
    pub async fn post_json(&self, path: &str, body: &str) -> i64 {
        self.post_with(path, "application/json", body.as_bytes().to_vec(), &[])
            .await
    }

    /// Sends a body with a content type and extra headers; returns the stored id.
    pub async fn post_with(&self, path: &str, content_type: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> i64 {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("capture request");
        assert_eq!(response.status(), 200, "capture answered {}", response.status());
        let answer: Value = response.json().await.expect("capture answers JSON");
        answer["id"].as_i64().expect("capture answer names the id")
    }

    /// GETs a JSON document and checks the status.
    pub async fn get_json(&self, path: &str, status: u16) -> Value {
        let response = self.client.get(self.url(path)).send().await.expect("GET");
        assert_eq!(response.status(), status, "GET {path}");
        response.json().await.expect("JSON answer")
    }

    /// Sends `DELETE path` with extra headers; returns the status.
    pub async fn delete_with(&self, path: &str, headers: &[(&str, &str)]) -> u16 {
        let mut request = self.client.delete(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("DELETE").status().as_u16()
    }

    /// Sends `DELETE path`; returns the status.
    pub async fn delete(&self, path: &str) -> u16 {
        self.delete_with(path, &[]).await
    }

    /// The full record of one request.
    pub async fn detail(&self, id: i64) -> Value {
        self.get_json(&format!("/_/api/requests/{id}"), 200).await
    }

    /// The ids a list query returns, in order.
    pub async fn list_ids(&self, query: &str) -> Vec<i64> {
        let page = self.get_json(&format!("/_/api/requests?{query}"), 200).await;
        ids_of(&page)
    }

    /// Stops the server the way Ctrl-C does and waits until the store is closed.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task ends cleanly");
        }
    }
}

/// Sends a JSON body to the API with `method`.
pub async fn send_json(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .json(&body)
        .send()
        .await
        .expect("answer")
}

/// Makes an endpoint through the API, checks it was created, and returns it as the API shows it.
pub async fn create_endpoint(app: &TestApp, endpoint: Value) -> Value {
    let response = send_json(app, reqwest::Method::POST, "/_/api/endpoints", endpoint).await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(status, 201, "{body}");
    body
}

/// The ids of a list page.
pub fn ids_of(page: &Value) -> Vec<i64> {
    page["requests"]
        .as_array()
        .expect("requests array")
        .iter()
        .map(|summary| summary["id"].as_i64().expect("id"))
        .collect()
}

/// The seed 004 example, verbatim but for the comment its documentation places inside the JSON.
pub const CHANNEL_EVENT_SEED: &str = r#"{ "event": "business_loans.deleted", "message": "Business_Loan deleted successfully.", "idempotency_key": "26053e97-f78a-4d25-a519-4eed22ba5c41", "environment": "staging", "data": { "id": 1, "tag": "adasd" } }"#;

/// The seed 001 example POST, verbatim.
pub const ENTITY_ACTION_SEED: &str = r#"{    "entity_id": 1,    "entity_type": "user",    "action_type": "new",    "result": {        "id": 1,        "external_id": "1815",        "code": "CODE",        "external_qr_identifier": "thebarcode",        "checkin": "2019-11-05 07:56:15",        "name_first": "Guan",        "name_infix": null,        "name_last": "the Man",        "gender": "man",        "company_name": "Let's Get Digital",        "company_role": "Awesome person",        "normal_qr_code": "thebarcode",        "secure_qr_code": "https:\/\/evins.nl\/1\/bd0494941c\/tyiuW2S1OUv5c3ASL1qv%2E",        "aanmelder_survey_id": "93627",        "qr_link": "v2d5iy6g0m60tc",        "custom_fields": [],        "companies": [            5        ]    }}"#;

/// A valid channel_event with the given event and idempotency key.
pub fn channel_event(event: &str, key: &str) -> String {
    serde_json::json!({
        "event": event,
        "message": "test",
        "idempotency_key": key,
        "environment": "staging",
        "data": { "id": 1 }
    })
    .to_string()
}

/// Sends raw bytes on a new connection and returns everything the server answers until it closes the
/// connection or `wait` passes without a byte.
pub async fn raw_exchange(addr: std::net::SocketAddr, request: &[u8], wait: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(read)) => answer.extend_from_slice(&chunk[..read]),
            Ok(Err(_)) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends raw bytes on a new connection and returns the status of every response, in order, waiting up to
/// 700 ms of silence for more.
pub async fn raw_statuses(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u16> {
    statuses(&raw_exchange(addr, request, std::time::Duration::from_millis(700)).await)
}

/// The status codes of every response in a raw answer, in order.
pub fn statuses(answer: &str) -> Vec<u16> {
    answer
        .match_indices("HTTP/1.")
        .filter_map(|(at, _)| answer[at..].split_whitespace().nth(1)?.parse().ok())
        .collect()
}
