//! What a payload profile is: the trait every profile implements, and what a check collects (findings at JSON
//! pointers, and the facts it learns). Each profile's file and the registry build on this; it builds on nothing of
//! theirs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a profile looks at: the body parsed as JSON, and the request's headers (GitHub and Shopify name their event
/// and delivery in headers).
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    pub value: &'a Value,
    /// `(name, value)` as received.
    pub headers: &'a [(&'a str, &'a [u8])],
}

impl<'a> Subject<'a> {
    /// The body as a JSON object, when it is one.
    pub fn object(&self) -> Option<&'a Map<String, Value>> {
        self.value.as_object()
    }

    /// The first value of a header as text (by name in any case), when it is UTF-8 and not empty.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(candidate, _)| candidate.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }
}

/// One payload shape: how a request is recognised as its kind, how it is checked, and what it names (the event,
/// the idempotency key and its source, the environment, in the [`Facts`] its check returns).
pub trait Profile: Send + Sync {
    /// The name used in the API, the database and the page (`channel_event`).
    fn name(&self) -> &str;

    /// How strongly a request resembles this profile: 0 when the profile does not claim it. The profile that
    /// resembles a request most checks it. A header the provider always sends (`X-GitHub-Event`) weighs more than
    /// any count of members.
    fn resemblance(&self, subject: &Subject<'_>) -> usize;

    /// Whether an endpoint that requires this profile gets its check for this request; otherwise the request is
    /// invalid for not being of its kind. By default, when the profile would claim it.
    fn applies(&self, subject: &Subject<'_>) -> bool {
        self.resemblance(subject) > 0
    }

    /// Checks a request of this kind, recording errors and warnings at their JSON paths; returns what it names.
    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts;
}

/// How strongly an object resembles an object profile that `claims` it: how many of its `members` it has.
pub(super) fn member_resemblance(object: &Map<String, Value>, claims: bool, members: &[&str]) -> usize {
    if !claims {
        return 0;
    }
    members.iter().filter(|member| object.contains_key(**member)).count()
}

/// The weight of a profile recognised by a header its provider always sends.
pub(super) const BY_HEADER: usize = 1000;

/// One problem found in a body: where it is (a JSON Pointer, `""` for the whole body) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// JSON Pointer (RFC 6901) into the body.
    pub path: String,
    /// A plain sentence for a person.
    pub message: String,
}

/// Collects findings while a profile checks a body.
#[derive(Default)]
pub struct Findings {
    pub(super) errors: Vec<Finding>,
    pub(super) warnings: Vec<Finding>,
}

impl Findings {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Finding {
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Finding {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Warns about every top-level member the profile `name` does not define.
    pub(super) fn warn_unexpected_members(&mut self, object: &Map<String, Value>, name: &str, members: &[&str]) {
        for key in object.keys() {
            if !members.contains(&key.as_str()) {
                self.warn(
                    pointer(&[key]),
                    format!("unexpected member \"{key}\": not part of the {name} envelope"),
                );
            }
        }
    }
}

/// What a profile's check learned besides its findings.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// The event name, as the profile defines it.
    pub event: Option<String>,
    /// The profile's own idempotency key (a body member or a header), which wins over the generic ones.
    pub idempotency_key: Option<String>,
    /// Where that key came from: `body /idempotency_key`, `header X-GitHub-Delivery`.
    pub key_source: Option<String>,
    /// The environment the request says it belongs to (`staging`).
    pub environment: Option<String>,
}

/// A JSON Pointer built from unescaped reference tokens.
pub(super) fn pointer(tokens: &[&str]) -> String {
    tokens.iter().fold(String::new(), |mut path, token| {
        path.push('/');
        path.push_str(&token.replace('~', "~0").replace('/', "~1"));
        path
    })
}

/// How a JSON value's type reads in an error message.
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks that `object[member]` is a string from `allowed`, reporting what is wrong; returns the string if it is one.
pub(super) fn check_one_of<'a>(
    object: &'a Map<String, Value>,
    member: &str,
    allowed: &[&str],
    findings: &mut Findings,
) -> Option<&'a str> {
    // The path and the list are written only for a finding: this runs for every capture, and most are valid.
    let path = || pointer(&[member]);
    let list = || allowed.join(", ");
    match object.get(member) {
        None => {
            findings.error(
                path(),
                format!("required member \"{member}\" is missing (one of: {})", list()),
            );
            None
        }
        Some(Value::String(text)) => {
            if !allowed.contains(&text.as_str()) {
                findings.error(
                    path(),
                    format!("\"{text}\" is not allowed here; expected one of: {}", list()),
                );
            }
            Some(text)
        }
        Some(other) => {
            findings.error(
                path(),
                format!("must be a string (one of: {}), not {}", list(), type_name(other)),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_escapes_tilde_and_slash() {
        assert_eq!(pointer(&["a/b", "c~d"]), "/a~1b/c~0d");
        assert_eq!(pointer(&[]), "");
    }
}
