//! How a request's headers are kept in one BLOB: length-prefixed name and value pairs, so that every byte of every
//! value survives, repeated headers and their order included.

use hyper::HeaderMap;

/// Encodes every header as `[u32 LE length][name][u32 LE length][value]...`, each name's values in the order
/// received.
pub fn encode(headers: &HeaderMap) -> Vec<u8> {
    let size = headers
        .iter()
        .map(|(name, value)| 8 + name.as_str().len() + value.len())
        .sum();
    let mut out = Vec::with_capacity(size);
    for (name, value) in headers {
        put(&mut out, name.as_str().as_bytes());
        put(&mut out, value.as_bytes());
    }
    out
}

/// Decodes what [`encode`] wrote; `None` if the bytes are not such an encoding.
pub fn decode(mut bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut headers = Vec::new();
    while !bytes.is_empty() {
        let name = take(&mut bytes)?;
        let value = take(&mut bytes)?;
        headers.push((String::from_utf8(name.to_vec()).ok()?, value.to_vec()));
    }
    Some(headers)
}

/// Whether the encoded headers hold `name` (lower case), with exactly `value` when one is given. Damaged bytes hold
/// nothing.
pub fn has_header(mut bytes: &[u8], name: &[u8], value: Option<&[u8]>) -> bool {
    while !bytes.is_empty() {
        let (Some(stored_name), Some(stored_value)) = (take(&mut bytes), take(&mut bytes)) else {
            return false;
        };
        if stored_name == name && value.is_none_or(|wanted| wanted == stored_value) {
            return true;
        }
    }
    false
}

fn put(out: &mut Vec<u8>, part: &[u8]) {
    // Header blocks are bounded far below 4 GiB by the server's header limits.
    let length = u32::try_from(part.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(part);
}

fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (length, rest) = bytes.split_first_chunk::<4>()?;
    let length = usize::try_from(u32::from_le_bytes(*length)).ok()?;
    if rest.len() < length {
        return None;
    }
    let (part, rest) = rest.split_at(length);
    *bytes = rest;
    Some(part)
}

#[cfg(test)]
mod tests {
    use super::*;

    use hyper::header::{HeaderName, HeaderValue};

    fn header_map(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_bytes(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn round_trips_every_byte_and_repeat() {
        let headers = header_map(&[("x-a", b"1"), ("x-a", &[b'a', 0xff, b'\t', 0x80]), ("empty", b"")]);
        let expected = vec![
            ("x-a".to_string(), b"1".to_vec()),
            ("x-a".to_string(), vec![b'a', 0xff, b'\t', 0x80]),
            ("empty".to_string(), Vec::new()),
        ];
        assert_eq!(decode(&encode(&headers)), Some(expected));
    }

    #[test]
    fn truncated_input_is_refused() {
        let encoded = encode(&header_map(&[("name", b"value")]));
        assert_eq!(decode(&encoded[..encoded.len() - 1]), None);
    }
}
