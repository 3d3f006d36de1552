//! Signatures: every common webhook signature scheme, verified and explained, and signed by the same code (for
//! `send` and re-signed replays). Pure logic: no HTTP, no storage. A capture gets a verdict from [`assess`], which
//! costs one HMAC per configured secret; [`explain`] searches the known mistakes when a user asks why.

pub mod custom;
mod explain;
mod github;
mod json_forms;
pub mod mac;
pub mod reading;
pub mod secret;
mod shopify;
mod slack;
mod standard_webhooks;
mod stripe;
mod twilio;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use explain::{Explanation, SignedContent, explain};
use reading::{Content, Kind, Message, Presented, Problem, Reading};
use secret::{Key, KeyError, KeyForm, Secret};

/// The tolerance for timestamped schemes when none is configured: the one Stripe and Standard Webhooks use.
pub const DEFAULT_TOLERANCE_S: u64 = 300;

/// The most secrets one endpoint checks (several allow a key rotation; more is a configuration mistake).
pub const MAX_SECRETS: usize = 10;

/// A signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    StandardWebhooks,
    Github,
    Stripe,
    Shopify,
    Slack,
    Twilio,
    /// Any other sender's HMAC, described by configuration.
    Hmac,
}

impl Scheme {
    pub const ALL: [Scheme; 7] = [
        Scheme::StandardWebhooks,
        Scheme::Github,
        Scheme::Stripe,
        Scheme::Shopify,
        Scheme::Slack,
        Scheme::Twilio,
        Scheme::Hmac,
    ];

    /// The name used in configuration and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "standard-webhooks",
            Scheme::Github => "github",
            Scheme::Stripe => "stripe",
            Scheme::Shopify => "shopify",
            Scheme::Slack => "slack",
            Scheme::Twilio => "twilio",
            Scheme::Hmac => "hmac",
        }
    }

    pub fn from_name(name: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|scheme| scheme.as_str() == name)
    }

    /// How the scheme turns a secret's text into its key.
    pub fn key_form(self) -> KeyForm {
        match self {
            Scheme::StandardWebhooks => KeyForm::StandardWebhooks,
            _ => KeyForm::Bytes,
        }
    }

    fn read(self, message: &Message<'_>, custom: Option<&custom::Custom>) -> Result<Reading, Problem> {
        match self {
            Scheme::StandardWebhooks => standard_webhooks::read(message),
            Scheme::Github => github::read(message),
            Scheme::Stripe => stripe::read(message),
            Scheme::Shopify => shopify::read(message),
            Scheme::Slack => slack::read(message),
            Scheme::Twilio => twilio::read(message),
            Scheme::Hmac => match custom {
                Some(custom) => custom.read(message),
                None => Err(Problem::missing("signature")),
            },
        }
    }
}

/// The headers that name a scheme, in the order `auto` looks for them.
const SIGNATURE_HEADERS: [(&str, Scheme); 8] = [
    ("stripe-signature", Scheme::Stripe),
    ("x-hub-signature-256", Scheme::Github),
    ("x-hub-signature", Scheme::Github),
    ("webhook-signature", Scheme::StandardWebhooks),
    ("svix-signature", Scheme::StandardWebhooks),
    ("x-shopify-hmac-sha256", Scheme::Shopify),
    ("x-slack-signature", Scheme::Slack),
    ("x-twilio-signature", Scheme::Twilio),
];

/// The scheme whose signature header a request carries, if any.
pub fn detect(message: &Message<'_>) -> Option<Scheme> {
    SIGNATURE_HEADERS
        .iter()
        .find(|(header, _)| message.header(header).is_some())
        .map(|(_, scheme)| *scheme)
}

/// Which scheme an endpoint checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeChoice {
    /// The one whose header the request carries.
    Auto,
    Fixed(Scheme),
}

/// An endpoint's signature verification, checked and ready.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub scheme: SchemeChoice,
    /// Any may match (several for a key rotation).
    pub secrets: Vec<Secret>,
    /// How far a timestamp may be from the capture's time.
    pub tolerance_s: u64,
    /// The URL the provider calls, for schemes that sign it (Twilio); the request's path and query follow it.
    pub public_url: Option<String>,
    /// How an `hmac` sender signs.
    pub custom: Option<custom::Custom>,
}

/// A capture's signature verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureVerdict {
    /// No verification configured, and no known signature header.
    #[default]
    Unsigned,
    /// A known signature header, but no secret configured for this path.
    Unchecked,
    Valid,
    /// Verification configured, and the signature is missing or does not match.
    Invalid,
}

impl SignatureVerdict {
    pub const ALL: [SignatureVerdict; 4] = [
        SignatureVerdict::Unsigned,
        SignatureVerdict::Unchecked,
        SignatureVerdict::Valid,
        SignatureVerdict::Invalid,
    ];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureVerdict::Unsigned => "unsigned",
            SignatureVerdict::Unchecked => "unchecked",
            SignatureVerdict::Valid => "valid",
            SignatureVerdict::Invalid => "invalid",
        }
    }

    /// The verdict of that name; unknown names read as unsigned.
    pub fn from_name(name: &str) -> SignatureVerdict {
        SignatureVerdict::ALL
            .into_iter()
            .find(|verdict| verdict.as_str() == name)
            .unwrap_or(SignatureVerdict::Unsigned)
    }
}

/// What checking a capture's signature found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    #[serde(skip)]
    pub verdict: SignatureVerdict,
    /// The scheme checked, or seen (for `unchecked`).
    pub scheme: Option<String>,
    /// Why it is what it is, in one plain sentence.
    pub reason: Option<String>,
    /// The masked form of the secret that matched.
    pub secret: Option<String>,
}

impl Check {
    fn unsigned() -> Check {
        Check {
            verdict: SignatureVerdict::Unsigned,
            scheme: None,
            reason: None,
            secret: None,
        }
    }

    fn invalid(scheme: Option<Scheme>, problem: &Problem) -> Check {
        Check {
            verdict: SignatureVerdict::Invalid,
            scheme: scheme.map(|scheme| scheme.as_str().to_owned()),
            reason: Some(problem.to_string()),
            secret: None,
        }
    }
}

/// The verdict on a request: cheap enough for the capture path (one HMAC per secret).
pub fn assess(verification: Option<&Verification>, message: &Message<'_>, public_url: Option<&str>) -> Check {
    let Some(verification) = verification else {
        return match detect(message) {
            Some(scheme) => Check {
                verdict: SignatureVerdict::Unchecked,
                scheme: Some(scheme.as_str().to_owned()),
                reason: Some("no secret is configured for this path".to_owned()),
                secret: None,
            },
            None => Check::unsigned(),
        };
    };
    let prepared = match prepare(verification, message, public_url) {
        Ok(prepared) => prepared,
        Err((scheme, problem)) => return Check::invalid(scheme, &problem),
    };
    if let Some(problem) = prepared.early_problem(verification, message) {
        return Check::invalid(Some(prepared.scheme), &problem);
    }
    let signed = prepared.signed(message.body, prepared.url.as_deref());
    for (index, secret) in verification.secrets.iter().enumerate() {
        let Ok(key) = prepared.scheme.key_form().key(secret.value()) else {
            continue;
        };
        if matches(&key, &prepared.reading.signatures, &signed) {
            return Check {
                verdict: SignatureVerdict::Valid,
                scheme: Some(prepared.scheme.as_str().to_owned()),
                reason: Some(format!("secret {} matches", index + 1)),
                secret: Some(secret.masked()),
            };
        }
    }
    Check::invalid(Some(prepared.scheme), &Problem::NoSecretMatches)
}

/// A request read by its scheme.
struct Prepared {
    scheme: Scheme,
    reading: Reading,
    /// The whole URL the provider called, for schemes that sign it.
    url: Option<String>,
}

fn prepare(
    verification: &Verification,
    message: &Message<'_>,
    public_url: Option<&str>,
) -> Result<Prepared, (Option<Scheme>, Problem)> {
    let scheme = match verification.scheme {
        SchemeChoice::Fixed(scheme) => scheme,
        SchemeChoice::Auto => detect(message).ok_or_else(|| {
            let names: Vec<&str> = SIGNATURE_HEADERS.iter().map(|(header, _)| *header).collect();
            (
                None,
                Problem::NoKnownHeader {
                    expected: names.join(", "),
                },
            )
        })?,
    };
    let reading = scheme
        .read(message, verification.custom.as_ref())
        .map_err(|problem| (Some(scheme), problem))?;
    let url = match &reading.content {
        Content::Url { path_and_query, .. } => {
            let base = verification
                .public_url
                .clone()
                .or_else(|| public_url.map(str::to_owned))
                .or_else(|| url_from_headers(message))
                .ok_or((Some(scheme), Problem::missing("Host")))?;
            Some(twilio::full_url(&base, path_and_query))
        }
        Content::AroundBody { .. } => None,
    };
    Ok(Prepared { scheme, reading, url })
}

/// The origin a request was sent to, as the proxy or tunnel in front of hookscope names it, or its `Host`.
fn url_from_headers(message: &Message<'_>) -> Option<String> {
    let text = |name| {
        message
            .header(name)
            .and_then(|value| std::str::from_utf8(value).ok())
            .map(|value| value.split(',').next().unwrap_or_default().trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let host = text("x-forwarded-host").or_else(|| text("host"))?;
    let scheme = text("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
    Some(format!("{scheme}://{host}"))
}

impl Prepared {
    /// A problem found before any secret is tried: a timestamp outside the tolerance, or a body that does not hash
    /// to what the URL says.
    fn early_problem(&self, verification: &Verification, message: &Message<'_>) -> Option<Problem> {
        if let Some(claimed) = &self.reading.timestamp {
            let age = message.received_at_ms.div_euclid(1000).saturating_sub(claimed.seconds);
            let tolerance = i64::try_from(verification.tolerance_s).unwrap_or(i64::MAX);
            if age > tolerance || (!claimed.past_only && age < tolerance.saturating_neg()) {
                return Some(Problem::OutsideTolerance {
                    header: claimed.header.clone(),
                    age,
                    tolerance: verification.tolerance_s,
                });
            }
        }
        if let Content::Url {
            body_sha256: Some(expected),
            ..
        } = &self.reading.content
            && !expected.eq_ignore_ascii_case(&mac::sha256_hex(message.body))
        {
            return Some(Problem::BodyHashDiffers);
        }
        None
    }

    /// The signed content for `body` (and, for Twilio, the whole URL `url`).
    fn signed<'b>(&'b self, body: &'b [u8], url: Option<&str>) -> Signed<'b> {
        match &self.reading.content {
            Content::AroundBody { before, after } => Signed {
                before: Cow::Borrowed(before),
                body,
                after: after.as_slice(),
            },
            Content::Url { params, .. } => Signed {
                before: Cow::Owned(twilio::signed_text(url.unwrap_or_default(), params)),
                body: &[],
                after: &[],
            },
        }
    }
}

/// Signed content in three parts, so that a large body is hashed where it lies.
struct Signed<'b> {
    before: Cow<'b, [u8]>,
    body: &'b [u8],
    after: &'b [u8],
}

impl Signed<'_> {
    fn parts(&self) -> [&[u8]; 3] {
        [&self.before, self.body, self.after]
    }

    fn len(&self) -> usize {
        self.before.len() + self.body.len() + self.after.len()
    }

    fn joined(&self) -> Vec<u8> {
        self.parts().concat()
    }
}

/// Whether `key` made any of the presented signatures of `signed`; each HMAC is computed once.
fn matches(key: &Key, presented: &[Presented], signed: &Signed<'_>) -> bool {
    match key {
        Key::Hmac(key) => {
            let mut computed: Vec<(mac::Algorithm, Vec<u8>)> = Vec::new();
            presented.iter().any(|signature| {
                let Kind::Hmac(algorithm) = signature.kind else {
                    return false;
                };
                let index = match computed.iter().position(|(known, _)| *known == algorithm) {
                    Some(index) => index,
                    None => {
                        computed.push((algorithm, mac::hmac(algorithm, key, &signed.parts())));
                        computed.len() - 1
                    }
                };
                mac::same(&computed[index].1, &signature.bytes)
            })
        }
        Key::Ed25519(key) => {
            let ed25519: Vec<&Presented> = presented
                .iter()
                .filter(|signature| signature.kind == Kind::Ed25519)
                .collect();
            if ed25519.is_empty() {
                return false;
            }
            let message = signed.joined();
            ed25519
                .iter()
                .any(|signature| mac::ed25519_verifies(key, &message, &signature.bytes))
        }
    }
}

/// What a request is signed for, when hookscope signs one.
#[derive(Debug, Clone, Copy)]
pub struct Signing<'a> {
    pub body: &'a [u8],
    /// Seconds since the epoch.
    pub timestamp: i64,
    /// The message id Standard Webhooks signs.
    pub id: &'a str,
    /// The whole URL the request goes to (Twilio signs it).
    pub url: &'a str,
    /// Whether the body is a form, whose parameters Twilio signs.
    pub form: bool,
}

/// The headers that sign a request with `secret` under `scheme` (the `hmac` scheme needs `custom`).
pub fn sign(
    scheme: Scheme,
    custom: Option<&custom::Custom>,
    secret: &str,
    what: &Signing<'_>,
) -> Result<Vec<(String, String)>, KeyError> {
    Ok(match scheme {
        Scheme::StandardWebhooks => standard_webhooks::sign(secret, what.id, what.timestamp, what.body)?,
        Scheme::Github => github::sign(secret, what.body),
        Scheme::Stripe => stripe::sign(secret, what.timestamp, what.body),
        Scheme::Shopify => shopify::sign(secret, what.body),
        Scheme::Slack => slack::sign(secret, what.timestamp, what.body),
        Scheme::Twilio => {
            let params = if what.form {
                twilio::sorted_params(what.body)
            } else {
                Vec::new()
            };
            twilio::sign(secret, what.url, &params)
        }
        Scheme::Hmac => custom
            .ok_or(KeyError("the hmac scheme needs its header and algorithm"))?
            .sign(secret, what.timestamp, what.body),
    })
}

#[cfg(test)]
mod tests;
