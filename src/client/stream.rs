//! Reading the live stream (`/_/events` in complete mode) as typed events: every matching request in order, with
//! no cap or skipping, from a given id.

use reqwest::Method;

use super::{Client, ClientError};
use crate::live::event::LiveEvent;

/// One connection to the live stream.
pub struct Events {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl Client {
    /// Opens the stream of every request after `after` that the filter (`query`) matches.
    pub async fn events(&self, after: i64, query: &str) -> Result<Events, ClientError> {
        let separator = if query.is_empty() { "" } else { "&" };
        let request = self
            .request(
                Method::GET,
                &format!("/_/events?complete=1&after={after}{separator}{query}"),
            )
            .header("accept", "text/event-stream");
        let response = self.open(request).await?;
        Ok(Events {
            response,
            buffer: Vec::new(),
        })
    }
}

impl Events {
    /// The next event; `None` when the stream ended (the server stopped, or the connection dropped).
    pub async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|window| window == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse(&block) {
                    return Some(event);
                }
                continue;
            }
            match self.response.chunk().await {
                Ok(Some(chunk)) => self.buffer.extend_from_slice(&chunk),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

/// One SSE block as an event; `None` for a comment, a keep-alive or a kind this build does not know.
fn parse(block: &[u8]) -> Option<LiveEvent> {
    let text = std::str::from_utf8(block).ok()?;
    let mut name = "message";
    let mut data = String::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            name = value.trim();
        } else if let Some(value) = line.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    LiveEvent::from_sse(name, &data).ok().flatten()
}
