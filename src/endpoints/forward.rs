//! An endpoint's `forward` as a user writes it (`{url, mode, timeout_ms, retries, keep_path, preserve_host}`),
//! checked into [`Forwarding`]: where its requests are delivered and how.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::spec::{SpecError, refuse};
use crate::forward::target::Target;

/// The longest a target may take to answer.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// The most retries of one delivery.
pub const MAX_RETRIES: u32 = 100;

/// How the sender is answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The sender gets hookscope's own answer; the request is delivered after the commit, retried until it lands.
    #[default]
    Mirror,
    /// The sender waits for the target and gets its answer (502 or 504 when there is none).
    Proxy,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Mirror => "mirror",
            Mode::Proxy => "proxy",
        }
    }
}

/// `forward` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardSpec {
    pub url: String,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default)]
    pub keep_path: bool,
    #[serde(default)]
    pub preserve_host: bool,
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_retries() -> u32 {
    10
}

/// Where an endpoint's requests are delivered, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarding {
    pub target: Target,
    pub mode: Mode,
    pub timeout: Duration,
    /// Tries after the first, in mirror mode.
    pub retries: u32,
    /// Join the request's path to the target's.
    pub keep_path: bool,
    /// Send the request's own `Host` rather than the target's.
    pub preserve_host: bool,
}

impl ForwardSpec {
    /// Checks every field.
    pub fn build(&self) -> Result<Forwarding, SpecError> {
        let target = Target::parse(&self.url).map_err(|error| refuse("/forward/url", error.to_string()))?;
        let timeout = Duration::from_millis(self.timeout_ms);
        if timeout.is_zero() || timeout > MAX_TIMEOUT {
            return Err(refuse("/forward/timeout_ms", "a timeout is from 1 to 60,000 ms"));
        }
        if self.retries > MAX_RETRIES {
            return Err(refuse("/forward/retries", "at most 100 retries"));
        }
        Ok(Forwarding {
            target,
            mode: self.mode,
            timeout,
            retries: self.retries,
            keep_path: self.keep_path,
            preserve_host: self.preserve_host,
        })
    }

    /// The forwarding as written.
    pub fn of(forwarding: &Forwarding) -> ForwardSpec {
        ForwardSpec {
            url: forwarding.target.as_str().to_owned(),
            mode: forwarding.mode,
            timeout_ms: u64::try_from(forwarding.timeout.as_millis()).unwrap_or(u64::MAX),
            retries: forwarding.retries,
            keep_path: forwarding.keep_path,
            preserve_host: forwarding.preserve_host,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_mistakes() {
        let spec: ForwardSpec =
            serde_json::from_value(serde_json::json!({"url": "http://localhost:3000/hooks"})).expect("spec");
        let built = spec.build().expect("valid");
        assert_eq!(
            (built.mode, built.timeout, built.retries),
            (Mode::Mirror, Duration::from_secs(10), 10)
        );
        assert_eq!(ForwardSpec::of(&built), spec);
        for (json, pointer) in [
            (serde_json::json!({"url": "https://x"}), "/forward/url"),
            (
                serde_json::json!({"url": "http://x", "timeout_ms": 60001}),
                "/forward/timeout_ms",
            ),
            (
                serde_json::json!({"url": "http://x", "retries": 101}),
                "/forward/retries",
            ),
        ] {
            let spec: ForwardSpec = serde_json::from_value(json).expect("spec");
            assert_eq!(spec.build().expect_err("refused").pointer, pointer);
        }
    }
}
