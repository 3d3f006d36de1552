//! A profile a user describes with a JSON Schema (draft 2020-12 or draft-07, as its `$schema` says), compiled once
//! when it is defined: its errors carry the instance's JSON pointer and the schema's message; pointers into the body
//! (or a header) name its event, idempotency key and environment. Schemas never make hookscope fetch anything
//! (external `$ref`s are refused when the schema is compiled), and `pattern` runs on a regex engine without
//! backtracking.

use serde_json::Value;

use super::profile::{Facts, Findings, Profile, Subject};

/// The most errors one request's check reports.
const MAX_ERRORS: usize = 100;

/// How a custom profile recognises a request, when it is not required by an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub enum Detect {
    /// The request carries this header.
    Header(String),
    /// The body's value at this pointer equals this value.
    Pointer { pointer: String, equals: Value },
}

/// A profile described by a JSON Schema.
pub struct CustomProfile {
    pub name: String,
    pub(super) validator: jsonschema::Validator,
    pub detect: Option<Detect>,
    pub event_pointer: Option<String>,
    pub key_pointer: Option<String>,
    pub key_header: Option<String>,
    pub environment_pointer: Option<String>,
}

impl std::fmt::Debug for CustomProfile {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("CustomProfile")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CustomProfile {
    /// Whether its detect rule recognises the request.
    pub fn detects(&self, subject: &Subject<'_>) -> bool {
        match &self.detect {
            None => false,
            Some(Detect::Header(name)) => subject.header(name).is_some(),
            Some(Detect::Pointer { pointer, equals }) => subject.value.pointer(pointer) == Some(equals),
        }
    }
}

/// A value at a pointer as text: a string as it is, a number or a boolean written out.
fn text_at(value: &Value, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

impl Profile for CustomProfile {
    fn name(&self) -> &str {
        &self.name
    }

    fn resemblance(&self, subject: &Subject<'_>) -> usize {
        usize::from(self.detects(subject))
    }

    /// Any JSON: the schema says what is wrong with it.
    fn applies(&self, _subject: &Subject<'_>) -> bool {
        true
    }

    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts {
        for error in self.validator.iter_errors(subject.value).take(MAX_ERRORS) {
            findings.error(error.instance_path().as_str(), error.to_string());
        }
        let body_key = self
            .key_pointer
            .as_deref()
            .and_then(|pointer| text_at(subject.value, pointer).map(|key| (key, format!("body {pointer}"))));
        let header_key = || {
            self.key_header.as_deref().and_then(|name| {
                subject
                    .header(name)
                    .map(|key| (key.to_owned(), format!("header {name}")))
            })
        };
        let (idempotency_key, key_source) = body_key.or_else(header_key).unzip();
        Facts {
            event: self
                .event_pointer
                .as_deref()
                .and_then(|pointer| text_at(subject.value, pointer)),
            idempotency_key,
            key_source,
            environment: self
                .environment_pointer
                .as_deref()
                .and_then(|pointer| text_at(subject.value, pointer)),
        }
    }
}
