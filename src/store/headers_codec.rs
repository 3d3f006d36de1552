//! How a request's headers are kept in one BLOB: length-prefixed name and value pairs, so that every byte of every
//! value survives, repeated headers and their order included.

/// Encodes `(name, value)` pairs as `[u32 LE length][name][u32 LE length][value]...`.
pub fn encode(headers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let size = headers.iter().map(|(name, value)| 8 + name.len() + value.len()).sum();
    let mut out = Vec::with_capacity(size);
    for (name, value) in headers {
        put(&mut out, name.as_bytes());
        put(&mut out, value);
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

    #[test]
    fn round_trips_every_byte_and_repeat() {
        let headers = vec![
            ("x-a".to_string(), b"1".to_vec()),
            ("x-a".to_string(), vec![0, 0xff, b'\r', b'\n']),
            ("empty".to_string(), Vec::new()),
        ];
        assert_eq!(decode(&encode(&headers)), Some(headers));
    }

    #[test]
    fn truncated_input_is_refused() {
        let encoded = encode(&[("name".to_string(), b"value".to_vec())]);
        assert_eq!(decode(&encoded[..encoded.len() - 1]), None);
    }
}
