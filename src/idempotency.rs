//! Which idempotency key a request carries. Body and header keys share one key space, so a provider that moves
//! its key from the body to a header is still recognised as repeating itself.

/// Headers that carry an idempotency key, in order of preference after the body's own key.
/// `webhook-id` is the Standard Webhooks header.
pub const KEY_HEADERS: &[&str] = &["idempotency-key", "webhook-id"];

/// How the key headers are named where a key's source is shown.
const KEY_HEADER_NAMES: &[&str] = &["Idempotency-Key", "webhook-id"];

/// The request's idempotency key as raw bytes: the body's key when the envelope has one, else the first non-empty
/// value of the first key header present. Raw bytes, so that header values differing only in non-UTF-8 bytes stay
/// different keys.
pub fn request_key<'a>(
    body_key: Option<&'a str>,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])> + Clone,
) -> Option<Vec<u8>> {
    request_key_with_source(body_key.map(|key| (key, "body")), headers).map(|(key, _)| key)
}

/// The request's idempotency key and where it came from: the profile's own key (`(key, source)`, from its body or
/// a header of its provider) wins over the generic ones; then the first non-empty key header, in the order of
/// [`KEY_HEADERS`] (`header Idempotency-Key`).
pub fn request_key_with_source<'a>(
    own: Option<(&'a str, &'a str)>,
    headers: impl IntoIterator<Item = (&'a str, &'a [u8])> + Clone,
) -> Option<(Vec<u8>, String)> {
    if let Some((key, source)) = own.filter(|(key, _)| !key.is_empty()) {
        return Some((key.as_bytes().to_vec(), source.to_owned()));
    }
    KEY_HEADERS.iter().zip(KEY_HEADER_NAMES).find_map(|(wanted, shown)| {
        headers
            .clone()
            .into_iter()
            .find(|(name, value)| name.eq_ignore_ascii_case(wanted) && !value.is_empty())
            .map(|(_, value)| (value.to_vec(), format!("header {shown}")))
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
