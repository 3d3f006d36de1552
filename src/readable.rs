//! Bodies as people read them: a body sent with `Content-Encoding: gzip` or `deflate` shown decompressed, and a form
//! body (`application/x-www-form-urlencoded`, as Twilio and Slack's interactive `payload=` send) shown as its fields.
//! Only for display: the stored bytes are never changed, and checks run on them as they came. Pure logic.

use std::io::Read;

use base64::Engine;
use serde::Serialize;

/// A compressed body, decompressed for reading.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoded {
    /// The `Content-Encoding` that was undone: `gzip` or `deflate`.
    pub encoding: String,
    /// How many bytes it decompressed to; 0 when it could not be.
    pub size: usize,
    /// The decompressed body as text, when it is UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The decompressed body in standard base64, when it is not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
    /// Why it could not be decompressed (damaged, or larger than the limit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a body reads as, besides its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readable {
    pub decoded: Option<Decoded>,
    /// The form's fields in order, `[name, value]`, decoded; of the decompressed body when there is one.
    pub form: Option<Vec<(String, String)>>,
}

/// Whether a body with these headers reads as anything but its bytes: a content coding, or a form.
pub fn applies(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(name, value)| {
        name.eq_ignore_ascii_case("content-encoding")
            || (name.eq_ignore_ascii_case("content-type")
                && value.to_ascii_lowercase().contains("application/x-www-form-urlencoded"))
    })
}

/// Reads a body by its headers: decompresses it when its `Content-Encoding` is gzip or deflate (to at most `limit`
/// bytes, so a small bomb cannot take the memory), and splits a form into its fields.
pub fn readable(headers: &[(String, String)], body: &[u8], limit: usize) -> Readable {
    let header = |wanted: &str| {
        headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.trim().to_ascii_lowercase())
    };
    let decoded = header("content-encoding").and_then(|encoding| decode(&encoding, body, limit));
    let plain = match &decoded {
        Some(Decoded { error: Some(_), .. }) => None,
        Some(Decoded { body: Some(text), .. }) => Some(text.as_bytes()),
        Some(_) => None,
        None => Some(body),
    };
    let is_form = header("content-type").is_some_and(|content_type| {
        content_type.split(';').next().unwrap_or_default().trim() == "application/x-www-form-urlencoded"
    });
    let form = plain.filter(|_| is_form).map(|bytes| {
        form_urlencoded::parse(bytes)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    });
    Readable { decoded, form }
}

/// Undoes one content coding; `None` for codings it does not know (they are shown as sent).
fn decode(encoding: &str, body: &[u8], limit: usize) -> Option<Decoded> {
    let reader: Box<dyn Read + '_> = match encoding {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(body)),
        // HTTP's deflate is zlib-wrapped; some senders send it raw, which is tried when the wrapping is missing.
        "deflate" => {
            if is_zlib(body) {
                Box::new(flate2::read::ZlibDecoder::new(body))
            } else {
                Box::new(flate2::read::DeflateDecoder::new(body))
            }
        }
        _ => return None,
    };
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let result = reader.take(cap).read_to_end(&mut out);
    let failed = |error: String| Decoded {
        encoding: encoding.to_owned(),
        size: 0,
        body: None,
        body_base64: None,
        error: Some(error),
    };
    Some(match result {
        Err(error) => failed(format!("the body could not be decompressed as {encoding}: {error}")),
        Ok(_) if out.len() > limit => failed(format!(
            "the body decompresses to more than {limit} bytes (the body limit); shown as sent"
        )),
        Ok(_) => {
            let size = out.len();
            let (body, body_base64) = match String::from_utf8(out) {
                Ok(text) => (Some(text), None),
                Err(binary) => (
                    None,
                    Some(base64::engine::general_purpose::STANDARD.encode(binary.as_bytes())),
                ),
            };
            Decoded {
                encoding: encoding.to_owned(),
                size,
                body,
                body_base64,
                error: None,
            }
        }
    })
}

/// Whether bytes start with a zlib header (RFC 1950: method 8, and the check bits).
fn is_zlib(body: &[u8]) -> bool {
    match body {
        [first, second, ..] => first & 0x0f == 8 && (u16::from(*first) << 8 | u16::from(*second)) % 31 == 0,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).expect("compress");
        encoder.finish().expect("compress")
    }

    #[test]
    fn gzip_and_both_kinds_of_deflate_are_decompressed() {
        let text = br#"{"event":"invoices.created"}"#;
        let read = readable(&headers(&[("content-encoding", "gzip")]), &gzip(text), 1024);
        let decoded = read.decoded.expect("decoded");
        assert_eq!(decoded.body.as_deref(), Some(r#"{"event":"invoices.created"}"#));
        assert_eq!(decoded.size, text.len());
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(text).expect("compress");
        let zlib = zlib.finish().expect("compress");
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(text).expect("compress");
        let raw = raw.finish().expect("compress");
        for body in [zlib, raw] {
            let decoded = readable(&headers(&[("Content-Encoding", "deflate")]), &body, 1024).decoded;
            assert_eq!(
                decoded.and_then(|d| d.body).as_deref(),
                Some(r#"{"event":"invoices.created"}"#)
            );
        }
    }

    #[test]
    fn a_body_that_decompresses_past_the_limit_or_is_damaged_is_shown_as_sent() {
        let bomb = gzip(&vec![b'a'; 100_000]);
        let decoded = readable(&headers(&[("content-encoding", "gzip")]), &bomb, 1000)
            .decoded
            .expect("tried");
        assert!(decoded.error.expect("refused").contains("more than 1000 bytes"));
        let damaged = readable(&headers(&[("content-encoding", "gzip")]), b"not gzip", 1000)
            .decoded
            .expect("tried");
        assert!(damaged.error.is_some() && damaged.body.is_none());
        assert_eq!(
            readable(&headers(&[("content-encoding", "br")]), b"x", 1000),
            Readable::default()
        );
    }

    #[test]
    fn a_form_reads_as_its_fields_decompressed_or_not() {
        let form = b"payload=%7B%22type%22%3A%22block_actions%22%7D&token=abc";
        let fields = readable(
            &headers(&[("Content-Type", "application/x-www-form-urlencoded")]),
            form,
            1000,
        )
        .form;
        assert_eq!(
            fields,
            Some(vec![
                ("payload".to_owned(), r#"{"type":"block_actions"}"#.to_owned()),
                ("token".to_owned(), "abc".to_owned())
            ])
        );
        let compressed = readable(
            &headers(&[
                ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
                ("content-encoding", "gzip"),
            ]),
            &gzip(form),
            1000,
        );
        assert_eq!(compressed.form.map(|fields| fields.len()), Some(2));
        assert_eq!(
            readable(&headers(&[("content-type", "text/plain")]), form, 1000).form,
            None
        );
    }
}
