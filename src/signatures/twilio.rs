//! Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1>` of the URL Twilio called followed by each POST parameter's name
//! and value, sorted by name, made with the account's auth token. A JSON body is not signed itself: Twilio adds
//! `bodySHA256=<hex>` to the URL, and the body must hash to it.

use super::mac::{self, Algorithm};
use super::reading::{Content, Encoding, Message, Problem, Reading, one_signature};

const HEADER: &str = "X-Twilio-Signature";
pub fn read(message: &Message<'_>) -> Result<Reading, Problem> {
    let signature = one_signature(message, HEADER, "", Encoding::Base64, Algorithm::Sha1)?;
    let path_and_query = if message.query.is_empty() {
        message.path.to_owned()
    } else {
        format!("{}?{}", message.path, message.query)
    };
    let params = if message.is_form() {
        sorted_params(message.body)
    } else {
        Vec::new()
    };
    let body_sha256 = form_urlencoded::parse(message.query.as_bytes())
        .find(|(name, _)| name == "bodySHA256")
        .map(|(_, value)| value.into_owned());
    Ok(Reading {
        header: HEADER.to_owned(),
        signatures: vec![signature],
        encoding: Encoding::Base64,
        timestamp: None,
        content: Content::Url {
            path_and_query,
            params,
            body_sha256,
        },
    })
}

/// A form body's parameters as Twilio signs them: sorted by name, and a repeated name's values sorted, each
/// distinct value once (as Twilio's own libraries do).
pub fn sorted_params(body: &[u8]) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = form_urlencoded::parse(body)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    params.sort();
    params.dedup();
    params
}

/// What Twilio signs: the URL, then each parameter's name and value.
pub fn signed_text(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut text = url.as_bytes().to_vec();
    for (name, value) in params {
        text.extend_from_slice(name.as_bytes());
        text.extend_from_slice(value.as_bytes());
    }
    text
}

/// The header Twilio sends for a request to `url` with these form parameters, signed with `auth_token`.
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> Vec<(String, String)> {
    let signature = mac::hmac(Algorithm::Sha1, auth_token.as_bytes(), &[&signed_text(url, params)]);
    vec![(HEADER.to_owned(), Encoding::Base64.encode(&signature))]
}

/// The URL a request to `path_and_query` was sent to, given the public URL it was sent through (whose own path,
/// if any, comes before the request's).
pub fn full_url(base: &str, path_and_query: &str) -> String {
    format!("{}{path_and_query}", base.trim_end_matches('/'))
}
