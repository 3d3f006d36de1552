//! Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of v0:timestamp:body>` and `X-Slack-Request-Timestamp`, made with
//! the app's signing secret as UTF-8 bytes.

use super::mac::{self, Algorithm};
use super::reading::{Content, Encoding, Message, Problem, Reading, one_signature, timestamp};

const HEADER: &str = "X-Slack-Signature";
const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";

pub fn read(message: &Message<'_>) -> Result<Reading, Problem> {
    let signature = one_signature(message, HEADER, "v0=", Encoding::Hex, Algorithm::Sha256)?;
    let timestamp_text = message
        .header_text(TIMESTAMP_HEADER, "whole seconds since 1970")?
        .ok_or_else(|| Problem::missing(TIMESTAMP_HEADER))?;
    let claimed = timestamp(timestamp_text, TIMESTAMP_HEADER, false)?;
    Ok(Reading {
        header: HEADER.to_owned(),
        signatures: vec![signature],
        encoding: Encoding::Hex,
        timestamp: Some(claimed),
        content: Content::AroundBody {
            before: format!("v0:{}:", timestamp_text.trim()).into_bytes(),
            after: Vec::new(),
        },
    })
}

/// The headers Slack sends for `body` signed at `timestamp` with `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
    let before = format!("v0:{timestamp}:");
    let signature = mac::hmac(Algorithm::Sha256, secret.as_bytes(), &[before.as_bytes(), body]);
    vec![
        (HEADER.to_owned(), format!("v0={}", hex::encode(signature))),
        (TIMESTAMP_HEADER.to_owned(), timestamp.to_string()),
    ]
}
