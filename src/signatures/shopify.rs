//! Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`, made with the app's secret as UTF-8 bytes.

use super::mac::{self, Algorithm};
use super::reading::{Content, Encoding, Kind, Message, Presented, Problem, Reading};

const HEADER: &str = "X-Shopify-Hmac-Sha256";
const SHAPE: &str = "the base64 of a 32-byte HMAC-SHA256";

pub fn read(message: &Message<'_>) -> Result<Reading, Problem> {
    let bytes = message
        .header_text(HEADER, SHAPE)?
        .ok_or_else(|| Problem::missing(HEADER))?;
    let bytes = Encoding::Base64
        .decode(bytes.trim())
        .filter(|bytes| bytes.len() == 32)
        .ok_or_else(|| Problem::malformed(HEADER, SHAPE))?;
    Ok(Reading {
        header: HEADER.to_owned(),
        signatures: vec![Presented {
            kind: Kind::Hmac(Algorithm::Sha256),
            bytes,
        }],
        encoding: Encoding::Base64,
        timestamp: None,
        content: Content::AroundBody {
            before: Vec::new(),
            after: Vec::new(),
        },
    })
}

/// The header Shopify sends for `body` signed with `secret`.
pub fn sign(secret: &str, body: &[u8]) -> Vec<(String, String)> {
    let signature = mac::hmac(Algorithm::Sha256, secret.as_bytes(), &[body]);
    vec![(HEADER.to_owned(), Encoding::Base64.encode(&signature))]
}
