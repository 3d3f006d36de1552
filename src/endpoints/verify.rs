//! An endpoint's `verify` as a user writes it (scheme, secrets, tolerance, public URL, and for `hmac` how the
//! sender signs), checked into a [`Verification`]. No message here repeats a secret: a mistake names its field.

use serde::{Deserialize, Serialize};

use super::Source;
use super::spec::{SpecError, refuse};
use crate::signatures::custom::{Custom, Template};
use crate::signatures::mac::Algorithm;
use crate::signatures::reading::Encoding;
use crate::signatures::secret::{MASK_MARK, Secret};
use crate::signatures::{DEFAULT_TOLERANCE_S, MAX_SECRETS, Scheme, SchemeChoice, Verification};

/// The longest tolerance: a year.
const MAX_TOLERANCE_S: u64 = 365 * 24 * 3600;

/// The longest secret.
const MAX_SECRET_LEN: usize = 4096;

/// `verify` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// `auto`, or a scheme's name.
    #[serde(default = "auto")]
    pub scheme: String,
    pub secrets: Vec<String>,
    #[serde(default = "default_tolerance")]
    pub tolerance_s: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// `hmac` only: the header holding the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// `hmac` only: text before the signature (`sha256=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `hmac` only: `sha1`, `sha256` (the default) or `sha512`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// `hmac` only: `hex` (the default) or `base64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// `hmac` only: what is signed (`{{body}}`, the default, or for example `{{timestamp}}.{{body}}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// `hmac` only: the header `{{timestamp}}` stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
}

fn auto() -> String {
    "auto".to_owned()
}

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE_S
}

impl VerifySpec {
    /// Checks every field and makes the verification; `env:NAME` secrets are read from the environment, in the
    /// configuration file only.
    pub fn build(&self, source: Source) -> Result<Verification, SpecError> {
        let scheme = match self.scheme.as_str() {
            "auto" => SchemeChoice::Auto,
            name => SchemeChoice::Fixed(Scheme::from_name(name).ok_or_else(|| {
                let names: Vec<&str> = Scheme::ALL.iter().map(|scheme| scheme.as_str()).collect();
                refuse(
                    "/verify/scheme",
                    format!("no such scheme; auto or one of {}", names.join(", ")),
                )
            })?),
        };
        if self.secrets.is_empty() || self.secrets.len() > MAX_SECRETS {
            return Err(refuse("/verify/secrets", "1 to 10 secrets"));
        }
        let secrets = self
            .secrets
            .iter()
            .enumerate()
            .map(|(index, written)| secret(written, source, scheme, &format!("/verify/secrets/{index}")))
            .collect::<Result<Vec<_>, _>>()?;
        if !(1..=MAX_TOLERANCE_S).contains(&self.tolerance_s) {
            return Err(refuse("/verify/tolerance_s", "a tolerance is from 1 s to a year"));
        }
        let public_url = self
            .public_url
            .as_deref()
            .map(|url| {
                let url = url.trim().trim_end_matches('/');
                let usable =
                    (url.starts_with("http://") || url.starts_with("https://")) && !url.contains(char::is_whitespace);
                usable
                    .then(|| url.to_owned())
                    .ok_or_else(|| refuse("/verify/public_url", "a public URL starts with http:// or https://"))
            })
            .transpose()?;
        let custom = if scheme == SchemeChoice::Fixed(Scheme::Hmac) {
            Some(self.custom()?)
        } else {
            for (field, given) in [
                ("header", &self.header),
                ("prefix", &self.prefix),
                ("algorithm", &self.algorithm),
                ("encoding", &self.encoding),
                ("template", &self.template),
                ("timestamp_header", &self.timestamp_header),
            ] {
                if given.is_some() {
                    return Err(refuse(
                        format!("/verify/{field}"),
                        "only the hmac scheme takes this field",
                    ));
                }
            }
            None
        };
        Ok(Verification {
            scheme,
            secrets,
            tolerance_s: self.tolerance_s,
            public_url,
            custom,
        })
    }

    fn custom(&self) -> Result<Custom, SpecError> {
        let header = self.header.as_deref().ok_or_else(|| {
            refuse(
                "/verify/header",
                "the hmac scheme needs the header that holds the signature",
            )
        })?;
        if hyper::header::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(refuse("/verify/header", "not a header name"));
        }
        let algorithm = match self.algorithm.as_deref() {
            None => Algorithm::Sha256,
            Some(name) => {
                Algorithm::from_name(name).ok_or_else(|| refuse("/verify/algorithm", "sha1, sha256 or sha512"))?
            }
        };
        let encoding = match self.encoding.as_deref() {
            None | Some("hex") => Encoding::Hex,
            Some("base64") => Encoding::Base64,
            Some(_) => return Err(refuse("/verify/encoding", "hex or base64")),
        };
        let template = Template::parse(self.template.as_deref().unwrap_or(Template::BODY))
            .map_err(|message| refuse("/verify/template", message))?;
        let timestamp_header = self.timestamp_header.clone();
        if let Some(name) = &timestamp_header
            && hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err()
        {
            return Err(refuse("/verify/timestamp_header", "not a header name"));
        }
        if template.uses_timestamp() && timestamp_header.is_none() {
            return Err(refuse(
                "/verify/timestamp_header",
                "a template with {{timestamp}} needs the header it comes from",
            ));
        }
        Ok(Custom {
            header: header.to_ascii_lowercase(),
            prefix: self.prefix.clone().unwrap_or_default(),
            algorithm,
            encoding,
            template,
            timestamp_header: timestamp_header.map(|name| name.to_ascii_lowercase()),
        })
    }

    /// The verification as it would be written, its secrets whole (as stored, never as shown).
    pub fn of(verification: &Verification) -> VerifySpec {
        let custom = verification.custom.as_ref();
        VerifySpec {
            scheme: match verification.scheme {
                SchemeChoice::Auto => auto(),
                SchemeChoice::Fixed(scheme) => scheme.as_str().to_owned(),
            },
            secrets: verification
                .secrets
                .iter()
                .map(|secret| secret.written().to_owned())
                .collect(),
            tolerance_s: verification.tolerance_s,
            public_url: verification.public_url.clone(),
            header: custom.map(|custom| custom.header.clone()),
            prefix: custom.map(|custom| custom.prefix.clone()),
            algorithm: custom.map(|custom| custom.algorithm.as_str().to_owned()),
            encoding: custom.map(|custom| custom.encoding.as_str().to_owned()),
            template: custom.map(|custom| custom.template.as_str().to_owned()),
            timestamp_header: custom.and_then(|custom| custom.timestamp_header.clone()),
        }
    }

    /// The same with each secret masked: what the API shows.
    pub fn masked(mut self, verification: &Verification) -> VerifySpec {
        self.secrets = verification.secrets.iter().map(Secret::masked).collect();
        self
    }

    /// Puts back, for each secret sent in its masked form, the secret of `current` that masks like it, so that
    /// a client can send back what it read and change something else: the one at the same place first, else the
    /// only unused one that masks alike. A mask that matches several is left as sent, and refused.
    pub fn unmask(&mut self, current: &Verification) {
        let mut used = vec![false; current.secrets.len()];
        for (index, sent) in self.secrets.iter_mut().enumerate() {
            if !sent.contains(MASK_MARK) {
                continue;
            }
            let same_place = current
                .secrets
                .get(index)
                .filter(|secret| !used[index] && secret.masked() == *sent)
                .map(|_| index);
            let chosen = same_place.or_else(|| {
                let mut alike =
                    (0..current.secrets.len()).filter(|at| !used[*at] && current.secrets[*at].masked() == *sent);
                match (alike.next(), alike.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            });
            if let Some(at) = chosen {
                used[at] = true;
                *sent = current.secrets[at].written().to_owned();
            }
        }
    }
}

/// One secret as written, checked.
fn secret(written: &str, source: Source, scheme: SchemeChoice, pointer: &str) -> Result<Secret, SpecError> {
    if written.contains(MASK_MARK) {
        return Err(refuse(
            pointer,
            "a masked secret (with …) keeps one the endpoint has: this endpoint has none that masks like it, or several",
        ));
    }
    let secret = match written.strip_prefix("env:") {
        Some(name) if source == Source::File => {
            let value = std::env::var(name)
                .map_err(|_| refuse(pointer, format!("the environment variable {name} is not set")))?;
            Secret::from_environment(written, value)
        }
        Some(_) => {
            return Err(refuse(
                pointer,
                "env: secrets are read from the environment only in the configuration file",
            ));
        }
        None => Secret::plain(written),
    };
    if secret.value().is_empty() || secret.value().len() > MAX_SECRET_LEN {
        return Err(refuse(pointer, "a secret is 1 to 4,096 bytes"));
    }
    if let SchemeChoice::Fixed(scheme) = scheme {
        scheme
            .key_form()
            .key(secret.value())
            .map_err(|error| refuse(pointer, error.0))?;
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> VerifySpec {
        serde_json::from_value(json).expect("a verify spec")
    }

    #[test]
    fn each_mistake_names_its_field_and_never_the_secret() {
        let cases = [
            (
                serde_json::json!({"scheme": "nope", "secrets": ["a"]}),
                "/verify/scheme",
            ),
            (serde_json::json!({"secrets": []}), "/verify/secrets"),
            (serde_json::json!({"secrets": [""]}), "/verify/secrets/0"),
            (
                serde_json::json!({"scheme": "standard-webhooks", "secrets": ["whsec_not base64!"]}),
                "/verify/secrets/0",
            ),
            (
                serde_json::json!({"secrets": ["a"], "tolerance_s": 0}),
                "/verify/tolerance_s",
            ),
            (
                serde_json::json!({"secrets": ["a"], "public_url": "ftp://x"}),
                "/verify/public_url",
            ),
            (
                serde_json::json!({"scheme": "hmac", "secrets": ["a"]}),
                "/verify/header",
            ),
            (
                serde_json::json!({"scheme": "hmac", "secrets": ["a"], "header": "x-s", "algorithm": "md5"}),
                "/verify/algorithm",
            ),
            (
                serde_json::json!({"scheme": "hmac", "secrets": ["a"], "header": "x-s", "template": "{{timestamp}}{{body}}"}),
                "/verify/timestamp_header",
            ),
            (
                serde_json::json!({"scheme": "github", "secrets": ["a"], "header": "x-s"}),
                "/verify/header",
            ),
            (serde_json::json!({"secrets": ["whsec_…LaSw"]}), "/verify/secrets/0"),
        ];
        for (json, pointer) in cases {
            let error = spec(json.clone()).build(Source::Api).expect_err("refused");
            assert_eq!(error.pointer, pointer, "{json}");
            assert!(!error.message.contains("not base64!"), "{error}");
        }
    }

    #[test]
    fn env_secrets_are_read_in_the_file_and_refused_in_the_api() {
        // SAFETY: no other test reads or writes this variable.
        unsafe { std::env::set_var("HOOKSCOPE_TEST_VERIFY_SECRET", "s3cret-from-the-environment") };
        let written = spec(serde_json::json!({"secrets": ["env:HOOKSCOPE_TEST_VERIFY_SECRET"]}));
        let built = written.build(Source::File).expect("read");
        assert_eq!(built.secrets[0].value(), "s3cret-from-the-environment");
        assert_eq!(built.secrets[0].masked(), "env:HOOKSCOPE_TEST_VERIFY_SECRET");
        assert_eq!(VerifySpec::of(&built), written);
        let refused = written.build(Source::Api).expect_err("refused");
        assert!(refused.message.contains("configuration file"), "{refused}");
        let unset = spec(serde_json::json!({"secrets": ["env:HOOKSCOPE_TEST_VERIFY_UNSET"]}));
        let error = unset.build(Source::File).expect_err("refused");
        assert_eq!(
            error.message,
            "the environment variable HOOKSCOPE_TEST_VERIFY_UNSET is not set"
        );
    }

    #[test]
    fn a_masked_secret_sent_back_keeps_the_stored_one() {
        let current =
            spec(serde_json::json!({"secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "second-secret-value"]}))
                .build(Source::Api)
                .expect("valid");
        let shown = VerifySpec::of(&current).masked(&current);
        assert_eq!(shown.secrets, ["whsec_…LaSw", "…alue"]);
        let mut sent = shown;
        sent.secrets.push("a-new-one".into());
        sent.unmask(&current);
        assert_eq!(
            sent.secrets,
            [
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "second-secret-value",
                "a-new-one"
            ]
        );
    }
}
