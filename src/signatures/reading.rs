//! What a scheme reads from a request: the signatures it presents, the timestamp it claims, and how the signed
//! content is put together; or the problem with its headers, as one plain sentence.

use super::mac::Algorithm;

/// The most signatures one request's headers are read for: senders rotating keys send two or three, and a
/// hostile header with thousands is read no further.
pub const MAX_PRESENTED: usize = 32;

/// A request as the signature schemes see it.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    /// `(name, value)` pairs as received; names in lower case, as hyper hands them over.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
    /// The raw path and query (without `?`), as the sender wrote them.
    pub path: &'a str,
    pub query: &'a str,
    /// When it was received, in milliseconds since the epoch: timestamps are judged against it.
    pub received_at_ms: i64,
}

impl<'a> Message<'a> {
    /// The first value of a header, by name in any case.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .map(|(_, value)| *value)
    }

    /// The first value of a header as text; a value that is not UTF-8 is malformed.
    pub fn header_text(&self, name: &str, expected: &str) -> Result<Option<&'a str>, Problem> {
        self.header(name)
            .map(|value| std::str::from_utf8(value).map_err(|_| Problem::malformed(name, expected)))
            .transpose()
    }

    /// Whether the body is a form (`application/x-www-form-urlencoded`).
    pub fn is_form(&self) -> bool {
        self.header("content-type")
            .and_then(|value| std::str::from_utf8(value).ok())
            .is_some_and(|value| {
                value
                    .split(';')
                    .next()
                    .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
            })
    }
}

/// What kind of signature a presented one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Hmac(Algorithm),
    Ed25519,
}

/// One signature a request presents, decoded from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub kind: Kind,
    pub bytes: Vec<u8>,
}

/// How a scheme writes signature bytes as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Hex,
    Base64,
}

impl Encoding {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
        }
    }

    pub fn encode(self, bytes: &[u8]) -> String {
        use base64::Engine;
        match self {
            Encoding::Hex => hex::encode(bytes),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    /// The bytes `text` encodes, when it is this encoding (hex in either case).
    pub fn decode(self, text: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        match self {
            Encoding::Hex => hex::decode(text).ok(),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD.decode(text).ok(),
        }
    }
}

/// The time a signature claims to have been made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since the epoch.
    pub seconds: i64,
    /// The header it came from.
    pub header: String,
    /// Stripe judges only age: a timestamp ahead of the receiver's clock passes.
    pub past_only: bool,
}

/// How the signed content is put together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// `before`, the body, `after`: every scheme but Twilio's.
    AroundBody { before: Vec<u8>, after: Vec<u8> },
    /// Twilio: the URL the provider called, then each form parameter's name and value, sorted by name. A JSON body
    /// is not signed itself: its SHA-256 travels in the URL's `bodySHA256` parameter, checked separately.
    Url {
        /// The path and query as received, appended to the public URL.
        path_and_query: String,
        params: Vec<(String, String)>,
        body_sha256: Option<String>,
    },
}

/// Everything a scheme read from a request's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The header the signatures came from, as its provider spells it.
    pub header: String,
    pub signatures: Vec<Presented>,
    pub encoding: Encoding,
    pub timestamp: Option<Timestamp>,
    pub content: Content,
}

/// Why a request's signature cannot be checked as it is, or why it fails before any secret is tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the {header} header is missing")]
    Missing { header: String },
    #[error("the {header} header is malformed: expected {expected}")]
    Malformed { header: String, expected: String },
    #[error("no known signature header is present (expected one of {expected})")]
    NoKnownHeader { expected: String },
    #[error(
        "the timestamp in {header} is {age} s {direction}, outside the {tolerance} s tolerance",
        direction = if *age >= 0 { "old" } else { "in the future" },
        age = age.unsigned_abs()
    )]
    OutsideTolerance { header: String, age: i64, tolerance: u64 },
    #[error("the body's SHA-256 is not the bodySHA256 parameter of the URL")]
    BodyHashDiffers,
    #[error("no configured secret matches")]
    NoSecretMatches,
}

impl Problem {
    pub fn missing(header: &str) -> Problem {
        Problem::Missing {
            header: header.to_owned(),
        }
    }

    pub fn malformed(header: &str, expected: &str) -> Problem {
        Problem::Malformed {
            header: header.to_owned(),
            expected: expected.to_owned(),
        }
    }
}

/// Reads a timestamp header's text: whole seconds since the epoch.
pub fn timestamp(text: &str, header: &str, past_only: bool) -> Result<Timestamp, Problem> {
    let seconds = text
        .trim()
        .parse::<i64>()
        .map_err(|_| Problem::malformed(header, "whole seconds since 1970 (for example 1700000000)"))?;
    Ok(Timestamp {
        seconds,
        header: header.to_owned(),
        past_only,
    })
}

/// A request's parts owned, to be checked on another thread or read back from storage.
#[derive(Debug, Clone)]
pub struct OwnedMessage {
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: bytes::Bytes,
    pub path: String,
    pub query: String,
    pub received_at_ms: i64,
}

impl OwnedMessage {
    /// A copy of `message`'s headers and path, sharing `body` (the bytes `message.body` borrows).
    pub fn of(message: &Message<'_>, body: bytes::Bytes) -> OwnedMessage {
        OwnedMessage {
            headers: message
                .headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.to_vec()))
                .collect(),
            body,
            path: message.path.to_owned(),
            query: message.query.to_owned(),
            received_at_ms: message.received_at_ms,
        }
    }

    /// Runs `work` on the message these parts make.
    pub fn with<T>(&self, work: impl FnOnce(&Message<'_>) -> T) -> T {
        let headers: Vec<(&str, &[u8])> = self
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice()))
            .collect();
        work(&Message {
            headers: &headers,
            body: &self.body,
            path: &self.path,
            query: &self.query,
            received_at_ms: self.received_at_ms,
        })
    }
}

/// Reads the one signature a header carries after `prefix`: `algorithm`'s output in `encoding`. `shape` says what
/// was expected when it does not.
pub fn one_signature(
    message: &Message<'_>,
    header: &str,
    prefix: &str,
    encoding: Encoding,
    algorithm: Algorithm,
) -> Result<Presented, Problem> {
    let shape = format!(
        "{prefix}<{}>",
        match encoding {
            Encoding::Hex => format!("{} hex digits", algorithm.output_len() * 2),
            Encoding::Base64 => format!(
                "the base64 of a {}-byte {}",
                algorithm.output_len(),
                algorithm.hmac_name()
            ),
        }
    );
    let text = message
        .header_text(header, &shape)?
        .ok_or_else(|| Problem::missing(header))?;
    let bytes = text
        .trim()
        .strip_prefix(prefix)
        .and_then(|encoded| encoding.decode(encoded))
        .filter(|bytes| bytes.len() == algorithm.output_len())
        .ok_or_else(|| Problem::malformed(header, &shape))?;
    Ok(Presented {
        kind: Kind::Hmac(algorithm),
        bytes,
    })
}
