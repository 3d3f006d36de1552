//! Standard Webhooks (Svix, Clerk, Resend, ...): `webhook-id`, `webhook-timestamp` and `webhook-signature` (or the
//! same with `svix-`), over `id.timestamp.body`; space-separated `v1,<base64 HMAC-SHA256>` and
//! `v1a,<base64 Ed25519>` signatures, any of which may match.

use base64::Engine;

use super::mac::{self, Algorithm};
use super::reading::{Content, Encoding, Kind, MAX_PRESENTED, Message, Presented, Problem, Reading, timestamp};
use super::secret::{Key, KeyError, KeyForm, ed25519_signing_key};

const SHAPE: &str = "space-separated v1,<base64> (or v1a,<base64>) signatures";

pub fn read(message: &Message<'_>) -> Result<Reading, Problem> {
    let family = if message.header("webhook-signature").is_some() {
        "webhook"
    } else if message.header("svix-signature").is_some() {
        "svix"
    } else {
        return Err(Problem::missing("webhook-signature"));
    };
    let [id_header, timestamp_header, signature_header] =
        ["id", "timestamp", "signature"].map(|part| format!("{family}-{part}"));
    let id = message
        .header_text(&id_header, "the message id as text")?
        .ok_or_else(|| Problem::missing(&id_header))?;
    let timestamp_text = message
        .header_text(&timestamp_header, "whole seconds since 1970")?
        .ok_or_else(|| Problem::missing(&timestamp_header))?;
    let claimed = timestamp(timestamp_text, &timestamp_header, false)?;
    let signature = message
        .header_text(&signature_header, SHAPE)?
        .ok_or_else(|| Problem::missing(&signature_header))?;
    let signatures: Vec<Presented> = signature
        .split_ascii_whitespace()
        .take(MAX_PRESENTED)
        .filter_map(|entry| {
            let (version, encoded) = entry.split_once(',')?;
            let kind = match version {
                "v1" => Kind::Hmac(Algorithm::Sha256),
                "v1a" => Kind::Ed25519,
                _ => return None,
            };
            let bytes = Encoding::Base64.decode(encoded)?;
            Some(Presented { kind, bytes })
        })
        .collect();
    if signatures.is_empty() {
        return Err(Problem::malformed(&signature_header, SHAPE));
    }
    Ok(Reading {
        header: signature_header,
        signatures,
        encoding: Encoding::Base64,
        timestamp: Some(claimed),
        content: Content::AroundBody {
            before: format!("{id}.{timestamp_text}.").into_bytes(),
            after: Vec::new(),
        },
    })
}

/// The headers of a message signed with `secret` (`whsec_` for HMAC, `whsk_` for Ed25519).
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<Vec<(String, String)>, KeyError> {
    let before = format!("{id}.{timestamp}.");
    let signature = if let Some(signing) = ed25519_signing_key(secret) {
        use ed25519_dalek::Signer;
        let mut content = before.into_bytes();
        content.extend_from_slice(body);
        let signature = signing.sign(&content);
        format!(
            "v1a,{}",
            base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())
        )
    } else {
        match KeyForm::StandardWebhooks.key(secret)? {
            Key::Hmac(key) => format!(
                "v1,{}",
                Encoding::Base64.encode(&mac::hmac(Algorithm::Sha256, &key, &[before.as_bytes(), body]))
            ),
            Key::Ed25519(_) => {
                return Err(KeyError(
                    "a whpk_ public key verifies; signing needs the whsk_ private key",
                ));
            }
        }
    };
    Ok(vec![
        ("webhook-id".to_owned(), id.to_owned()),
        ("webhook-timestamp".to_owned(), timestamp.to_string()),
        ("webhook-signature".to_owned(), signature),
    ])
}
