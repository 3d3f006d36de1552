//! Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>`, made with the app's secret as UTF-8 bytes.

use super::mac::{self, Algorithm};
use super::reading::{Content, Encoding, Message, Problem, Reading, one_signature};

const HEADER: &str = "X-Shopify-Hmac-Sha256";
pub fn read(message: &Message<'_>) -> Result<Reading, Problem> {
    let signature = one_signature(message, HEADER, "", Encoding::Base64, Algorithm::Sha256)?;
    Ok(Reading {
        header: HEADER.to_owned(),
        signatures: vec![signature],
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
