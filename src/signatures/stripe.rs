//! Stripe: `Stripe-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>...]`, each `v1` an HMAC-SHA256 of `t.body` made
//! with the `whsec_...` string's bytes as they are (not base64-decoded). Only age counts against the tolerance.

use super::mac::{self, Algorithm};
use super::reading::{Content, Encoding, Kind, MAX_PRESENTED, Message, Presented, Problem, Reading, timestamp};

const HEADER: &str = "Stripe-Signature";
const SHAPE: &str = "t=<timestamp>,v1=<64 hex digits>";

pub fn read(message: &Message<'_>) -> Result<Reading, Problem> {
    let text = message
        .header_text(HEADER, SHAPE)?
        .ok_or_else(|| Problem::missing(HEADER))?;
    let mut claimed = None;
    let mut signatures = Vec::new();
    for (name, value) in text
        .split(',')
        .take(MAX_PRESENTED + 1)
        .filter_map(|item| item.trim().split_once('='))
    {
        match name {
            "t" if claimed.is_none() => claimed = Some((value, timestamp(value, HEADER, true)?)),
            "v1" => {
                if let Some(bytes) = Encoding::Hex.decode(value).filter(|bytes| bytes.len() == 32) {
                    signatures.push(Presented {
                        kind: Kind::Hmac(Algorithm::Sha256),
                        bytes,
                    });
                }
            }
            _ => {}
        }
    }
    let Some((timestamp_text, claimed)) = claimed else {
        return Err(Problem::malformed(HEADER, SHAPE));
    };
    if signatures.is_empty() {
        return Err(Problem::malformed(HEADER, SHAPE));
    }
    Ok(Reading {
        header: HEADER.to_owned(),
        signatures,
        encoding: Encoding::Hex,
        timestamp: Some(claimed),
        content: Content::AroundBody {
            before: format!("{}.", timestamp_text.trim()).into_bytes(),
            after: Vec::new(),
        },
    })
}

/// The header Stripe sends for `body` signed at `timestamp` with `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
    let before = format!("{timestamp}.");
    let signature = mac::hmac(Algorithm::Sha256, secret.as_bytes(), &[before.as_bytes(), body]);
    vec![(
        HEADER.to_owned(),
        format!("t={timestamp},v1={}", hex::encode(signature)),
    )]
}
