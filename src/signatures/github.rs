//! GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, or the legacy `X-Hub-Signature: sha1=<hex>`
//! when only it is sent; the secret is its UTF-8 bytes.

use super::mac::{self, Algorithm};
use super::reading::{Content, Encoding, Message, Problem, Reading, one_signature};

pub fn read(message: &Message<'_>) -> Result<Reading, Problem> {
    let (header, prefix, algorithm) = if message.header("x-hub-signature-256").is_some() {
        ("X-Hub-Signature-256", "sha256=", Algorithm::Sha256)
    } else if message.header("x-hub-signature").is_some() {
        ("X-Hub-Signature", "sha1=", Algorithm::Sha1)
    } else {
        return Err(Problem::missing("X-Hub-Signature-256"));
    };
    let signature = one_signature(message, header, prefix, Encoding::Hex, algorithm)?;
    Ok(Reading {
        header: header.to_owned(),
        signatures: vec![signature],
        encoding: Encoding::Hex,
        timestamp: None,
        content: Content::AroundBody {
            before: Vec::new(),
            after: Vec::new(),
        },
    })
}

/// The headers GitHub sends for `body` signed with `secret`: both the SHA-256 and the legacy SHA-1 one.
pub fn sign(secret: &str, body: &[u8]) -> Vec<(String, String)> {
    let sign_with = |algorithm| hex::encode(mac::hmac(algorithm, secret.as_bytes(), &[body]));
    vec![
        (
            "X-Hub-Signature-256".to_owned(),
            format!("sha256={}", sign_with(Algorithm::Sha256)),
        ),
        (
            "X-Hub-Signature".to_owned(),
            format!("sha1={}", sign_with(Algorithm::Sha1)),
        ),
    ]
}
