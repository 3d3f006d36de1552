//! What a payload profile is: the trait every profile implements, and what a check collects (findings at JSON
//! pointers, and the facts it learns). Each profile's file and the registry build on this; it builds on nothing of
//! theirs.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One payload shape: how a body is recognised as its kind, how it is checked, and what it names (the event and
/// the idempotency key, in the [`Facts`] its check returns).
pub trait Profile: Sync {
    /// The name used in the API, the database and the page (`channel_event`).
    fn name(&self) -> &'static str;

    /// The top-level members that make up the shape.
    fn members(&self) -> &'static [&'static str];

    /// Whether an object carries what sets this profile apart from other providers' payloads. Members that many
    /// providers use (`data`, `message`, `environment`, an `id`) claim nothing on their own: a Stripe event has
    /// `data`, a GitHub delivery `environment`.
    fn claims(&self, object: &Map<String, Value>) -> bool;

    /// How strongly a JSON object resembles this profile: 0 is not at all (it does not claim it), else how many of
    /// its members the object has. The profile that resembles a body most checks it.
    fn resemblance(&self, object: &Map<String, Value>) -> usize {
        if !self.claims(object) {
            return 0;
        }
        self.members()
            .iter()
            .filter(|member| object.contains_key(**member))
            .count()
    }

    /// Checks an object of this kind, recording errors and warnings at their JSON paths; returns its event name and
    /// idempotency key.
    fn check(&self, object: &Map<String, Value>, findings: &mut Findings) -> Facts;
}

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
    pub(super) fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Finding {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(super) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Finding {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Warns about every top-level member the profile does not define.
    pub(super) fn warn_unexpected_members(&mut self, object: &Map<String, Value>, profile: &dyn Profile) {
        for key in object.keys() {
            if !profile.members().contains(&key.as_str()) {
                self.warn(
                    pointer(&[key]),
                    format!(
                        "unexpected member \"{key}\": not part of the {} envelope",
                        profile.name()
                    ),
                );
            }
        }
    }
}

/// What a profile's check learned besides its findings.
#[derive(Default)]
pub struct Facts {
    /// The event name, as the profile defines it.
    pub event: Option<String>,
    /// The body's own idempotency key, for profiles that carry one.
    pub idempotency_key: Option<String>,
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
