//! Secrets: as written (a value, or `env:NAME` in the configuration file), masked wherever they are shown, and
//! turned into the key a scheme signs with. A secret's `Debug` form is its mask, so no log line can hold it whole.

use base64::Engine;

/// The character a masked secret carries in place of what it hides.
pub const MASK_MARK: char = '…';

/// Prefixes that say what kind of secret follows, kept visible in a mask.
const KNOWN_PREFIXES: [&str; 3] = ["whsec_", "whpk_", "whsk_"];

/// One configured secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// As the user wrote it: the value itself, or `env:NAME`.
    written: String,
    /// The value signatures are checked with.
    value: String,
}

impl Secret {
    /// A secret written as its value.
    pub fn plain(value: impl Into<String>) -> Secret {
        let value = value.into();
        Secret {
            written: value.clone(),
            value,
        }
    }

    /// A secret read from the environment variable named by `written` (`env:NAME`).
    pub fn from_environment(written: impl Into<String>, value: impl Into<String>) -> Secret {
        Secret {
            written: written.into(),
            value: value.into(),
        }
    }

    /// The value signatures are checked with.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// As the user wrote it (a secret value, or `env:NAME`): stored, never shown.
    pub fn written(&self) -> &str {
        &self.written
    }

    /// The form shown in the API, the page and explanations: `env:NAME` as written, and otherwise the value's
    /// known prefix and last four characters (`whsec_…a1b2`), or only `…` when the value is too short to spare any.
    pub fn masked(&self) -> String {
        if self.written.starts_with("env:") {
            return self.written.clone();
        }
        mask(&self.value)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&self.masked())
    }
}

/// The masked form of a secret value.
pub fn mask(value: &str) -> String {
    let prefix = KNOWN_PREFIXES
        .iter()
        .find(|prefix| value.starts_with(**prefix))
        .copied()
        .unwrap_or("");
    let rest: Vec<char> = value[prefix.len()..].chars().collect();
    // Four characters of a short secret would be a large share of it.
    let tail: String = if rest.len() >= 12 {
        rest[rest.len() - 4..].iter().collect()
    } else {
        String::new()
    };
    format!("{prefix}{MASK_MARK}{tail}")
}

/// How a scheme turns a secret's text into key bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyForm {
    /// The text's UTF-8 bytes as they are (GitHub, Stripe's whole `whsec_...` string, Shopify, Slack, Twilio).
    Bytes,
    /// Standard Webhooks: `whsec_` and base64 (an HMAC key), `whpk_` and base64 (an Ed25519 public key), or
    /// `whsk_` and base64 (an Ed25519 private key, whose public half verifies).
    StandardWebhooks,
}

/// What a signature is checked with.
#[derive(Clone)]
pub enum Key {
    Hmac(Vec<u8>),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A secret that cannot be made into a key, in one sentence that never repeats it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub &'static str);

impl KeyForm {
    /// The key `text` gives in this form.
    pub fn key(self, text: &str) -> Result<Key, KeyError> {
        match self {
            KeyForm::Bytes => Ok(Key::Hmac(text.as_bytes().to_vec())),
            KeyForm::StandardWebhooks => standard_webhooks_key(text),
        }
    }
}

fn standard_webhooks_key(text: &str) -> Result<Key, KeyError> {
    if let Some(encoded) = text.strip_prefix("whpk_") {
        let bytes = decode_32(encoded).ok_or(KeyError("a whpk_ key is whpk_ and 32 bytes in base64"))?;
        return ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Key::Ed25519)
            .map_err(|_| KeyError("the whpk_ key is not an Ed25519 public key"));
    }
    if let Some(encoded) = text.strip_prefix("whsk_") {
        let bytes = decode_32(encoded).ok_or(KeyError("a whsk_ key is whsk_ and 32 bytes in base64"))?;
        return Ok(Key::Ed25519(
            ed25519_dalek::SigningKey::from_bytes(&bytes).verifying_key(),
        ));
    }
    let encoded = text.strip_prefix("whsec_").unwrap_or(text);
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map(Key::Hmac)
        .map_err(|_| KeyError("a Standard Webhooks secret is whsec_ followed by base64"))
}

/// The Ed25519 private key of a `whsk_` secret, for signing.
pub fn ed25519_signing_key(text: &str) -> Option<ed25519_dalek::SigningKey> {
    let bytes = decode_32(text.strip_prefix("whsk_")?)?;
    Some(ed25519_dalek::SigningKey::from_bytes(&bytes))
}

fn decode_32(encoded: &str) -> Option<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    <[u8; 32]>::try_from(bytes.as_slice()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_keeps_the_kind_and_the_last_four_characters_of_a_long_secret() {
        assert_eq!(mask("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "whsec_…LaSw");
        assert_eq!(mask("It's a Secret to Everybody"), "…body");
        assert_eq!(mask("short"), "…");
        assert_eq!(mask("whsec_short"), "whsec_…");
        assert_eq!(
            Secret::from_environment("env:STRIPE_SECRET", "whsec_x").masked(),
            "env:STRIPE_SECRET"
        );
        assert_eq!(format!("{:?}", Secret::plain("It's a Secret to Everybody")), "…body");
    }

    #[test]
    fn standard_webhooks_keys_are_base64_after_their_prefix() {
        assert!(matches!(KeyForm::StandardWebhooks.key("whsec_aGVsbG8="), Ok(Key::Hmac(bytes)) if bytes == b"hello"));
        assert!(matches!(KeyForm::StandardWebhooks.key("aGVsbG8="), Ok(Key::Hmac(bytes)) if bytes == b"hello"));
        assert!(KeyForm::StandardWebhooks.key("whsec_not base64!").is_err());
        assert!(KeyForm::StandardWebhooks.key("whpk_aGVsbG8=").is_err());
        let private = format!("whsk_{}", base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
        assert!(matches!(KeyForm::StandardWebhooks.key(&private), Ok(Key::Ed25519(_))));
        assert!(matches!(KeyForm::Bytes.key("whsec_aGVsbG8="), Ok(Key::Hmac(bytes)) if bytes == b"whsec_aGVsbG8="));
    }
}
