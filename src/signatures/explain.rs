//! Why a signature fails: the known mistakes tried one by one (a secret in the other encoding or with stray
//! characters, a body re-serialised on the way, a URL that differs from the one signed), each that would have
//! passed said in one sentence. It can cost many HMACs over a large body, so it runs only when a user asks, within
//! a budget of bytes hashed.

use serde::Serialize;

use super::json_forms::{self, Form};
use super::reading::{Content, Kind, Message, Problem};
use super::secret::{Key, KeyForm, Secret};
use super::{Prepared, Scheme, Verification, matches, prepare};

/// The most bytes one explanation hashes: every mistake over a body of a few MiB, a share of them over the
/// largest bodies, in well under a second.
const BUDGET_BYTES: usize = 256 * 1024 * 1024;

/// How many bytes of the signed content the detail shows.
const PREVIEW_BYTES: usize = 200;

/// Why a capture's signature is what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// One sentence per finding, the most telling first.
    pub sentences: Vec<String>,
    /// What the sender should have signed, so that a user can compute it themselves.
    pub signed_content: Option<SignedContent>,
}

/// The start of the signed content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedContent {
    pub length: usize,
    /// Its first 200 bytes as text (bytes that are not UTF-8 read as U+FFFD).
    pub start: String,
}

/// Explains a request's signature under `verification` (or, without one, what is there to check).
pub fn explain(verification: Option<&Verification>, message: &Message<'_>, public_url: Option<&str>) -> Explanation {
    let Some(verification) = verification else {
        let sentences = match super::detect(message) {
            Some(scheme) => vec![format!(
                "the request carries a {} signature, and no secret is configured for this path: add verify to its endpoint to check it",
                scheme.as_str()
            )],
            None => vec![
                "the request carries no known signature header, and no verification is configured for this path"
                    .to_owned(),
            ],
        };
        return Explanation {
            sentences,
            signed_content: None,
        };
    };
    let prepared = match prepare(verification, message, public_url) {
        Ok(prepared) => prepared,
        Err((scheme, problem)) => {
            return Explanation {
                sentences: vec![header_sentence(scheme, &problem)],
                signed_content: None,
            };
        }
    };
    let signed = prepared.signed(message.body, prepared.url.as_deref());
    let signed_content = Some(SignedContent {
        length: signed.len(),
        start: String::from_utf8_lossy(&signed.joined()[..signed.len().min(PREVIEW_BYTES)]).into_owned(),
    });
    let mut search = Search {
        prepared: &prepared,
        verification,
        spent: 0,
        stopped: false,
    };
    let mut sentences = Vec::new();
    let early = prepared.early_problem(verification, message);
    let matching = search.configured_secret_matching(message.body, prepared.url.as_deref());
    match (&early, matching) {
        (None, Some(index)) => {
            sentences.push(format!("{} matches", search.name_secret(index)));
        }
        (Some(problem @ Problem::OutsideTolerance { .. }), Some(index)) => sentences.push(format!(
            "{problem}; apart from its age the signature matches {}: the request is a replay, or the sender's clock is off",
            search.name_secret(index)
        )),
        (Some(problem), _) => sentences.push(problem.to_string()),
        (None, None) => {}
    }
    if matching.is_none() {
        let found = search.mistakes(message);
        if found.is_empty() {
            sentences.push(search.nothing_matches(message.body));
        }
        sentences.extend(found);
        if search.stopped {
            sentences.push(format!(
                "the search stopped after hashing {} MiB: the body is too large to try every known mistake",
                BUDGET_BYTES / (1024 * 1024)
            ));
        }
    }
    Explanation {
        sentences,
        signed_content,
    }
}

/// The sentence for a request whose headers could not be read.
fn header_sentence(scheme: Option<Scheme>, problem: &Problem) -> String {
    match (scheme, problem) {
        (Some(scheme), Problem::Missing { .. }) => format!(
            "{problem}: {} senders send it with every delivery; was this request sent by one, and through nothing that drops headers?",
            scheme.as_str()
        ),
        _ => problem.to_string(),
    }
}

/// The known mistakes, tried within the budget.
struct Search<'p> {
    prepared: &'p Prepared,
    verification: &'p Verification,
    /// Bytes hashed so far.
    spent: usize,
    /// Whether a try was skipped for want of budget.
    stopped: bool,
}

impl Search<'_> {
    fn name_secret(&self, index: usize) -> String {
        format!("secret {} ({})", index + 1, self.verification.secrets[index].masked())
    }

    /// Whether `key` signed `body` (and `base_url`), unless the budget is spent.
    fn signs(&mut self, key: &Key, body: &[u8], url: Option<&str>) -> bool {
        let signed = self.prepared.signed(body, url);
        if self.spent + signed.len() > BUDGET_BYTES {
            self.stopped = true;
            return false;
        }
        self.spent += signed.len();
        matches(key, &self.prepared.reading.signatures, &signed)
    }

    fn keys(&self) -> Vec<(usize, Key)> {
        self.verification
            .secrets
            .iter()
            .enumerate()
            .filter_map(|(index, secret)| Some((index, self.prepared.scheme.key_form().key(secret.value()).ok()?)))
            .collect()
    }

    /// The first configured secret that signed the body as received.
    fn configured_secret_matching(&mut self, body: &[u8], url: Option<&str>) -> Option<usize> {
        self.keys()
            .into_iter()
            .find(|(_, key)| self.signs(key, body, url))
            .map(|(index, _)| index)
    }

    /// A sentence for each known mistake that would have passed.
    fn mistakes(&mut self, message: &Message<'_>) -> Vec<String> {
        let mut found = Vec::new();
        let url = self.prepared.url.clone();
        for (index, secret) in self.verification.secrets.iter().enumerate() {
            for (form, text, how) in secret_variants(self.prepared.scheme, secret) {
                let Ok(key) = form.key(&text) else { continue };
                if self.signs(&key, message.body, url.as_deref()) {
                    found.push(format!("{} matches {how}", self.name_secret(index)));
                }
            }
        }
        let keys = self.keys();
        for (body, how) in body_variants(
            message.body,
            &self.prepared.reading.content,
            BUDGET_BYTES.saturating_sub(self.spent),
        ) {
            if let Some((index, _)) = keys.iter().find(|(_, key)| self.signs(key, &body, url.as_deref())) {
                found.push(format!(
                    "the signature matches this body {how} (with {}): something between the sender and hookscope rewrote it, or the sender signed a different serialisation",
                    self.name_secret(*index)
                ));
            }
        }
        if let Some(url) = &url {
            for variant in url_variants(url) {
                if let Some((index, _)) = keys
                    .iter()
                    .find(|(_, key)| self.signs(key, message.body, Some(&variant)))
                {
                    found.push(format!(
                        "the signature matches the URL {variant} (with {}): the provider called that URL, so set public_url to its origin",
                        self.name_secret(*index)
                    ));
                }
            }
        }
        found
    }

    /// The sentence when no known mistake explains the signature: the expected and received signatures' starts.
    fn nothing_matches(&self, body: &[u8]) -> String {
        let reading = &self.prepared.reading;
        let received = reading
            .signatures
            .first()
            .map(|signature| reading.encoding.encode(&signature.bytes))
            .unwrap_or_default();
        let signed = self.prepared.signed(body, self.prepared.url.as_deref());
        let expected = self.keys().into_iter().find_map(|(index, key)| match key {
            Key::Hmac(key) => {
                let algorithm = reading.signatures.iter().find_map(|signature| match signature.kind {
                    Kind::Hmac(algorithm) => Some(algorithm),
                    Kind::Ed25519 => None,
                })?;
                let computed = super::mac::hmac(algorithm, &key, &signed.parts());
                Some((index, reading.encoding.encode(&computed)))
            }
            Key::Ed25519(_) => None,
        });
        match expected {
            Some((index, expected)) => format!(
                "no configured secret produces this signature: {} gives {}…, the request carries {}…",
                self.name_secret(index),
                start(&expected),
                start(&received)
            ),
            None => format!(
                "no configured secret produces this signature (the request carries {}…)",
                start(&received)
            ),
        }
    }
}

/// The first 8 characters of an encoded signature.
fn start(encoded: &str) -> &str {
    let end = encoded.char_indices().nth(8).map_or(encoded.len(), |(index, _)| index);
    &encoded[..end]
}

/// A secret's known mistakes: the key form and text to try, and how to say it.
fn secret_variants(scheme: Scheme, secret: &Secret) -> Vec<(KeyForm, String, String)> {
    let value = secret.value();
    let form = scheme.key_form();
    let mut variants = Vec::new();
    match form {
        KeyForm::StandardWebhooks => variants.push((
            KeyForm::Bytes,
            value.to_owned(),
            "when its text is used as raw bytes (as Stripe uses its whsec_ secrets) rather than base64-decoded after whsec_: the sender does not sign the Standard Webhooks way".to_owned(),
        )),
        KeyForm::Bytes if value.starts_with("whsec_") => variants.push((
            KeyForm::StandardWebhooks,
            value.to_owned(),
            "when what follows whsec_ is base64-decoded (as Standard Webhooks does) rather than used as raw bytes: the sender follows Standard Webhooks".to_owned(),
        )),
        KeyForm::Bytes => {}
    }
    let trimmed = value.trim();
    if trimmed != value {
        variants.push((
            form,
            trimmed.to_owned(),
            "without the whitespace around it: remove it (often a trailing newline from a file or a paste) from the configured secret".to_owned(),
        ));
    }
    if let Some(rest) = trimmed.strip_prefix("v1,") {
        variants.push((
            form,
            rest.to_owned(),
            "without its v1, prefix, which belongs to signatures, not secrets".to_owned(),
        ));
    }
    if form == KeyForm::Bytes {
        match trimmed.strip_prefix("whsec_") {
            Some(rest) => variants.push((form, rest.to_owned(), "without its whsec_ prefix".to_owned())),
            None => variants.push((
                form,
                format!("whsec_{trimmed}"),
                "with whsec_ in front of it, as the sender's dashboard shows it".to_owned(),
            )),
        }
    }
    variants
}

/// The body as a relay or a sender's library commonly changes it, and how to say it.
fn body_variants(body: &[u8], content: &Content, max_len: usize) -> Vec<(Vec<u8>, &'static str)> {
    if matches!(content, Content::Url { .. }) {
        return Vec::new();
    }
    // The newline first: when it is all a JSON form changes, it says so more plainly.
    let mut variants: Vec<(Vec<u8>, &'static str)> =
        vec![match body.strip_suffix(b"\r\n").or_else(|| body.strip_suffix(b"\n")) {
            Some(trimmed) => (trimmed.to_vec(), "without its trailing newline"),
            None => ([body, b"\n"].concat(), "with a trailing newline added"),
        }];
    for form in Form::ALL {
        if let Some(rewritten) = json_forms::rewrite(body, form, max_len)
            && rewritten != body
        {
            variants.push((rewritten, form.description()));
        }
    }
    let mut unique: Vec<(Vec<u8>, &'static str)> = Vec::new();
    for (variant, how) in variants {
        if !unique.iter().any(|(known, _)| *known == variant) {
            unique.push((variant, how));
        }
    }
    unique
}

/// A URL's common differences from the one a provider signed: the default port, a trailing slash on the path,
/// and `http` for `https` or the other way round.
fn url_variants(url: &str) -> Vec<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    let (rest, query) = match rest.find('?') {
        Some(mark) => (&rest[..mark], &rest[mark..]),
        None => (rest, ""),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let other_scheme = if scheme == "https" { "http" } else { "https" };
    let port_toggled = match authority.strip_suffix(default_port) {
        Some(bare) => bare.to_owned(),
        None if !authority.contains(':') => format!("{authority}{default_port}"),
        None => authority.to_owned(),
    };
    let slash_toggled = match path.strip_suffix('/') {
        Some(bare) => bare.to_owned(),
        None => format!("{path}/"),
    };
    let mut variants = vec![
        format!("{scheme}://{port_toggled}{path}{query}"),
        format!("{scheme}://{authority}{slash_toggled}{query}"),
        format!("{other_scheme}://{authority}{path}{query}"),
    ];
    variants.retain(|variant| variant != url);
    variants.dedup();
    variants
}
