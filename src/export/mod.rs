//! Export formats, pure: a stored request written as an NDJSON line (everything hookscope recorded, the body
//! byte-exact), a HAR 1.2 entry, or a `curl` command that bash runs without interpreting any captured byte. The
//! API streams them a page of requests at a time (see `http/export.rs`).

mod curl;
mod har;

use base64::Engine;
use serde_json::Value;

pub use curl::{curl_command, curl_script_end, curl_script_start};
pub use har::{har_end, har_entry, har_start};

use crate::record::Detail;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Har,
    Curl,
}

impl Format {
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "ndjson" => Some(Format::Ndjson),
            "har" => Some(Format::Har),
            "curl" => Some(Format::Curl),
            _ => None,
        }
    }

    /// The content type of the whole export.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Har => "application/json",
            Format::Curl => "text/x-shellscript; charset=utf-8",
        }
    }

    /// The file name a browser saves it under.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Ndjson => "hookscope.ndjson",
            Format::Har => "hookscope.har",
            Format::Curl => "hookscope-replay.sh",
        }
    }
}

/// Header values that are not UTF-8, in base64 by position, so that an import restores them byte for byte (the
/// detail shows them decoded as ISO-8859-1).
pub fn raw_headers(headers: &[(String, Vec<u8>)]) -> Option<Vec<(usize, String)>> {
    let raw: Vec<(usize, String)> = headers
        .iter()
        .enumerate()
        .filter(|(_, (_, value))| std::str::from_utf8(value).is_err())
        .map(|(index, (_, value))| (index, base64::engine::general_purpose::STANDARD.encode(value)))
        .collect();
    (!raw.is_empty()).then_some(raw)
}

/// One request as an NDJSON line: its detail, and the raw bytes of header values that are not UTF-8.
pub fn ndjson_line(detail: &Detail, raw: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut value = serde_json::to_value(detail).unwrap_or(Value::Null);
    if let (Value::Object(members), Some(raw)) = (&mut value, raw_headers(raw)) {
        members.insert(
            "headers_base64".to_owned(),
            serde_json::to_value(raw).unwrap_or(Value::Null),
        );
    }
    let mut line = serde_json::to_vec(&value).unwrap_or_default();
    line.push(b'\n');
    line
}
