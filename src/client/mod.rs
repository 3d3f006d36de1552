//! The command-line clients (`tail`, `wait`, `send`, `replay`, `clear`, `export`, `import`): they talk to a running hookscope over its API and
//! its live stream. An unreachable server, a refused token or a bad flag is one sentence on stderr and exit status 2.

pub mod payloads;
mod send;
mod stream;
mod tail;
pub mod terminal;
mod transfer;
mod wait;

use std::process::ExitCode;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::cli::{ClearArgs, ClientArgs, ClientCommand, ReplayArgs};

/// Why a client command could not do its work; reads as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach hookscope at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("hookscope at {url} refused the token: give the inspector's token with --token or HOOKSCOPE_TOKEN")]
    Token { url: String },
    #[error("hookscope refused: {0}")]
    Refused(String),
    #[error("hookscope's answer could not be read: {0}")]
    Protocol(String),
    #[error("{0}")]
    Usage(String),
}

/// A running hookscope, as the clients reach it.
#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(args: &ClientArgs) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|error| ClientError::Usage(format!("cannot make an HTTP client: {error}")))?;
        Ok(Client {
            base: args.url.trim_end_matches('/').to_owned(),
            token: args.token.clone(),
            http,
        })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends a request and reads its JSON answer (`null` for an empty one), turning failures into sentences.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|error| self.unreachable(&error))?;
        self.read(response).await
    }

    async fn read(&self, response: reqwest::Response) -> Result<Value, ClientError> {
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return Err(ClientError::Token { url: self.base.clone() });
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ClientError::Protocol(error.to_string()))?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|error| ClientError::Protocol(error.to_string()))?
        };
        if !status.is_success() {
            let message = value["error"]
                .as_str()
                .map_or_else(|| status.to_string(), str::to_owned);
            return Err(ClientError::Refused(message));
        }
        Ok(value)
    }

    /// Sends a request whose answer is read as a stream (the live stream, an export): the response when it is a
    /// success, else the sentence its error says.
    async fn open(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let response = request.send().await.map_err(|error| self.unreachable(&error))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        Err(self
            .read(response)
            .await
            .err()
            .unwrap_or_else(|| ClientError::Refused(status.to_string())))
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        ClientError::Unreachable {
            url: self.base.clone(),
            reason,
        }
    }

    /// The newest request received before `time` (0 when there is none).
    pub async fn newest_id_before(&self, time: chrono::DateTime<chrono::Utc>) -> Result<i64, ClientError> {
        let until = crate::record::format_timestamp(time.timestamp_millis());
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("limit", "1")
            .append_pair("until", &until)
            .finish();
        let page = self
            .call(Method::GET, &format!("/_/api/requests?{query}"), None)
            .await?;
        Ok(page["requests"][0]["id"].as_i64().unwrap_or(0))
    }

    /// The newest stored request's id (0 when there is none).
    pub async fn newest_id(&self) -> Result<i64, ClientError> {
        let page = self.call(Method::GET, "/_/api/requests?limit=1", None).await?;
        Ok(page["requests"][0]["id"].as_i64().unwrap_or(0))
    }
}

/// Runs a client command; its exit status.
pub async fn run(command: ClientCommand) -> ExitCode {
    let result = match command {
        ClientCommand::Tail(args) => tail::run(args).await,
        ClientCommand::Wait(args) => wait::run(args).await,
        ClientCommand::Replay(args) => replay(args).await,
        ClientCommand::Clear(args) => clear(args).await,
        ClientCommand::Export(args) => transfer::export(args).await,
        ClientCommand::Import(args) => transfer::import(args).await,
        ClientCommand::Send(args) => send::run(args).await,
    };
    result.unwrap_or_else(|error| {
        eprintln!("hookscope: {}", terminal::clean(&error.to_string()));
        ExitCode::from(2)
    })
}

async fn replay(args: ReplayArgs) -> Result<ExitCode, ClientError> {
    let client = Client::new(&args.client)?;
    let mut body = serde_json::Map::new();
    if let Some(to) = &args.to {
        body.insert("url".to_owned(), Value::from(to.as_str()));
    }
    if args.resign {
        body.insert("resign".to_owned(), Value::from(true));
    }
    let body = Value::Object(body);
    if args.all {
        let answer = client
            .call(
                Method::POST,
                &format!("/_/api/replay?{}", args.filter.query),
                Some(&body),
            )
            .await?;
        println!(
            "queued {} for replay ({} skipped: no target)",
            answer["queued"].as_u64().unwrap_or(0),
            answer["skipped"].as_u64().unwrap_or(0)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let id = args
        .id
        .ok_or_else(|| ClientError::Usage("give a request id, or --all".to_owned()))?;
    let attempt = client
        .call(Method::POST, &format!("/_/api/requests/{id}/replay"), Some(&body))
        .await?;
    let url = terminal::clean(attempt["url"].as_str().unwrap_or_default());
    match attempt["status"].as_u64() {
        Some(status) => {
            println!("replayed #{id} to {url}: {status} in {} ms", attempt["duration_ms"]);
            Ok(if (200..300).contains(&status) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        None => {
            println!(
                "replayed #{id} to {url}: no answer: {}",
                terminal::clean(attempt["error"].as_str().unwrap_or_default())
            );
            Ok(ExitCode::from(1))
        }
    }
}

async fn clear(args: ClearArgs) -> Result<ExitCode, ClientError> {
    let client = Client::new(&args.client)?;
    let answer = client
        .call(Method::DELETE, &format!("/_/api/requests?{}", args.filter.query), None)
        .await?;
    match answer["deleted"].as_u64() {
        Some(count) => println!("deleted {count} requests"),
        None => println!("deleted every request"),
    }
    Ok(ExitCode::SUCCESS)
}
