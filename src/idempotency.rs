//! Which idempotency key a request carries. Body and header keys share one key space, so a provider that moves
//! its key from the body to a header is still recognised as repeating itself.

/// Headers that carry an idempotency key, in order of preference after the body's own key.
/// `webhook-id` is the Standard Webhooks header.
pub const KEY_HEADERS: &[&str] = &["idempotency-key", "webhook-id"];

/// The request's idempotency key as raw bytes: the body's key when the envelope has one, else the first non-empty
/// value of the first key header present. Raw bytes, so that header values differing only in non-UTF-8 bytes stay
/// different keys.
pub fn request_key<'a>(
    body_key: Option<&'a str>,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])> + Clone,
) -> Option<Vec<u8>> {
    if let Some(key) = body_key.filter(|key| !key.is_empty()) {
        return Some(key.as_bytes().to_vec());
    }
    KEY_HEADERS.iter().find_map(|wanted| {
        headers
            .clone()
            .into_iter()
            .find(|(name, value)| name.eq_ignore_ascii_case(wanted) && !value.is_empty())
            .map(|(_, value)| value.to_vec())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_key_wins_over_headers() {
        let headers = [("idempotency-key", &b"h"[..])];
        assert_eq!(request_key(Some("b"), headers), Some(b"b".to_vec()));
    }

    #[test]
    fn idempotency_key_header_wins_over_webhook_id() {
        let headers = [("webhook-id", &b"w"[..]), ("Idempotency-Key", &b"i"[..])];
        assert_eq!(request_key(None, headers), Some(b"i".to_vec()));
    }

    #[test]
    fn webhook_id_is_the_last_resort() {
        assert_eq!(request_key(Some(""), [("webhook-id", &b"w"[..])]), Some(b"w".to_vec()));
        assert_eq!(request_key(None, [("x-other", &b"w"[..])]), None);
    }

    #[test]
    fn empty_header_values_are_no_key() {
        assert_eq!(request_key(None, [("idempotency-key", &b""[..])]), None);
    }
}
