//! `hmac`, for any other sender: a named header holding an HMAC (SHA-1, SHA-256 or SHA-512, hex or base64, after an
//! optional prefix such as `sha256=`) of the body, or of a template over the body and a timestamp header
//! (`{{timestamp}}.{{body}}`).

use super::mac::{self, Algorithm};
use super::reading::{Content, Encoding, Message, Problem, Reading, one_signature, timestamp};

/// How a sender signs, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Custom {
    /// The header holding the signature.
    pub header: String,
    /// Text before the signature in the header (`sha256=`); may be empty.
    pub prefix: String,
    pub algorithm: Algorithm,
    pub encoding: Encoding,
    pub template: Template,
    /// The header holding the timestamp `{{timestamp}}` stands for; when set, the tolerance applies.
    pub timestamp_header: Option<String>,
}

/// What is signed: literal text, the timestamp header's value and the body, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
    /// As written.
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Timestamp,
    Body,
}

impl Template {
    /// The default: the body alone.
    pub const BODY: &'static str = "{{body}}";

    /// Reads a template: text with `{{body}}` exactly once and `{{timestamp}}` any number of times.
    pub fn parse(text: &str) -> Result<Template, &'static str> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                pieces.push(Piece::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or("a {{ is not closed by }}")?;
            pieces.push(match after[..end].trim() {
                "body" => Piece::Body,
                "timestamp" => Piece::Timestamp,
                _ => return Err("a template knows only {{body}} and {{timestamp}}"),
            });
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        if pieces.iter().filter(|piece| **piece == Piece::Body).count() != 1 {
            return Err("a template holds {{body}} exactly once");
        }
        Ok(Template {
            pieces,
            text: text.to_owned(),
        })
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn uses_timestamp(&self) -> bool {
        self.pieces.contains(&Piece::Timestamp)
    }

    /// The text before and after the body, with the timestamp filled in.
    fn around_body(&self, timestamp: &str) -> (Vec<u8>, Vec<u8>) {
        let mut before = Vec::new();
        let mut after = Vec::new();
        let mut seen_body = false;
        for piece in &self.pieces {
            let target = if seen_body { &mut after } else { &mut before };
            match piece {
                Piece::Text(text) => target.extend_from_slice(text.as_bytes()),
                Piece::Timestamp => target.extend_from_slice(timestamp.as_bytes()),
                Piece::Body => seen_body = true,
            }
        }
        (before, after)
    }
}

impl Custom {
    pub fn read(&self, message: &Message<'_>) -> Result<Reading, Problem> {
        let signature = one_signature(message, &self.header, &self.prefix, self.encoding, self.algorithm)?;
        let (claimed, timestamp_text) = match &self.timestamp_header {
            Some(header) => {
                let text = message
                    .header_text(header, "whole seconds since 1970")?
                    .ok_or_else(|| Problem::missing(header))?;
                (Some(timestamp(text, header, false)?), text.trim())
            }
            None => (None, ""),
        };
        let (before, after) = self.template.around_body(timestamp_text);
        Ok(Reading {
            header: self.header.clone(),
            signatures: vec![signature],
            encoding: self.encoding,
            timestamp: claimed,
            content: Content::AroundBody { before, after },
        })
    }

    /// The headers this sender sends for `body` signed at `timestamp` with `secret`.
    pub fn sign(&self, secret: &str, timestamp: i64, body: &[u8]) -> Vec<(String, String)> {
        let timestamp_text = timestamp.to_string();
        let (before, after) = self.template.around_body(&timestamp_text);
        let signature = mac::hmac(self.algorithm, secret.as_bytes(), &[&before, body, &after]);
        let mut headers = vec![(
            self.header.clone(),
            format!("{}{}", self.prefix, self.encoding.encode(&signature)),
        )];
        if let Some(header) = &self.timestamp_header {
            headers.push((header.clone(), timestamp_text));
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_puts_the_timestamp_around_the_body() {
        let template = Template::parse("{{timestamp}}.{{ body }}!").expect("valid");
        assert_eq!(template.around_body("17"), (b"17.".to_vec(), b"!".to_vec()));
        assert!(template.uses_timestamp());
        for bad in ["{{timestamp}}", "{{body}}{{body}}", "{{body}}{{id}}", "{{body"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
