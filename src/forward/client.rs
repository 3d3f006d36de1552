//! Sending one request to a target over HTTP/1.1, within a deadline, keeping at most 64 KiB of the answer's body.
//! Connections are kept alive per address for the next request (a pool no larger than [`IDLE_PER_ADDRESS`]), and
//! each goes to the address the target rule checked. Redirects are answers like any other: never followed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use super::outgoing::Outgoing;

/// The most bytes of a target's answer kept (and passed on in proxy mode).
pub const MAX_ANSWER_BODY: usize = 64 * 1024;

/// Idle connections kept per address.
const IDLE_PER_ADDRESS: usize = 8;

/// What a target answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub status: u16,
    /// `(name, value)` as received.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Up to [`MAX_ANSWER_BODY`] bytes.
    pub body: Bytes,
    /// The whole body's size as far as known: its `Content-Length`, or what was read.
    pub body_size: u64,
    /// The body was longer than what was kept.
    pub truncated: bool,
}

/// Why a target gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the target refused the connection or could not be reached: {0}")]
    Connect(String),
    #[error("the target did not answer within {0} ms")]
    Timeout(u64),
    #[error("the target's answer was not HTTP/1.1: {0}")]
    Protocol(String),
    #[error("the request could not be sent as stored: {0}")]
    Request(String),
}

/// Kept-alive connections, by address.
#[derive(Default)]
pub struct Client {
    idle: Mutex<HashMap<SocketAddr, Vec<SendRequest<Full<Bytes>>>>>,
}

impl Client {
    /// Sends `outgoing` to `address` and reads the answer, all within `timeout`.
    pub async fn send(
        &self,
        address: SocketAddr,
        outgoing: &Outgoing,
        timeout: Duration,
    ) -> Result<Answered, SendError> {
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        match tokio::time::timeout(timeout, self.exchange(address, outgoing)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(timeout_ms)),
        }
    }

    async fn exchange(&self, address: SocketAddr, outgoing: &Outgoing) -> Result<Answered, SendError> {
        let request = build(outgoing)?;
        let mut sender = match self.take_idle(address) {
            Some(sender) => sender,
            None => connect(address).await?,
        };
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            Err(error) => return Err(SendError::Protocol(error.to_string())),
        };
        let status = response.status().as_u16();
        let headers: Vec<(String, Vec<u8>)> = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
            .collect();
        let declared = response
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let mut body = response.into_body();
        let mut kept = BytesMut::new();
        let mut read: u64 = 0;
        let mut truncated = false;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|error| SendError::Protocol(error.to_string()))?;
            if let Ok(data) = frame.into_data() {
                read += data.len() as u64;
                let room = MAX_ANSWER_BODY - kept.len();
                kept.extend_from_slice(&data[..data.len().min(room)]);
                if data.len() > room {
                    truncated = true;
                    break;
                }
            }
        }
        if !truncated {
            self.keep_idle(address, sender);
        }
        Ok(Answered {
            status,
            headers,
            body: kept.freeze(),
            body_size: declared.unwrap_or(read).max(read),
            truncated,
        })
    }

    fn take_idle(&self, address: SocketAddr) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let senders = idle.get_mut(&address)?;
        while let Some(sender) = senders.pop() {
            if sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    fn keep_idle(&self, address: SocketAddr, sender: SendRequest<Full<Bytes>>) {
        let mut idle = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let senders = idle.entry(address).or_default();
        if senders.len() < IDLE_PER_ADDRESS {
            senders.push(sender);
        }
    }
}

async fn connect(address: SocketAddr) -> Result<SendRequest<Full<Bytes>>, SendError> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|error| SendError::Connect(error.to_string()))?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|error| SendError::Connect(error.to_string()))?;
    // The connection ends when its sender is dropped, or when the target closes it.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

fn build(outgoing: &Outgoing) -> Result<hyper::Request<Full<Bytes>>, SendError> {
    let method = hyper::Method::from_bytes(outgoing.method.as_bytes())
        .map_err(|_| SendError::Request(format!("{:?} is not a method", outgoing.method)))?;
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(outgoing.path_and_query.as_str())
        .body(Full::new(outgoing.body.clone()))
        .map_err(|error| SendError::Request(error.to_string()))?;
    let headers = request.headers_mut();
    for (name, value) in &outgoing.headers {
        let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_bytes(value),
        ) else {
            return Err(SendError::Request(format!("the header {name} cannot be sent")));
        };
        headers.append(name, value);
    }
    Ok(request)
}

/// How long an exchange took, in whole milliseconds.
pub fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
