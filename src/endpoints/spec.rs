//! An endpoint as a user writes it, in the configuration file or (later) the API: every field with its default, and
//! the checks that turn it into an [`Endpoint`]. A mistake names its field by JSON pointer (`/respond/0/status`)
//! and never repeats the value (a file may hold a secret).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::forward::ForwardSpec;
use super::pattern::PathPattern;
use super::steps::{ANSWER_STATUSES, MAX_DELAY, MAX_STEPS, Step};
use super::verify::VerifySpec;
use super::{Chaos, Endpoint, RequiredHeader, Sequence, Source};
use crate::names::valid_name;

/// The most bytes of body one step answers with.
pub const MAX_STEP_BODY: usize = 64 * 1024;

/// Headers that say how an answer is framed on the connection, which hookscope sets itself: a step that set them
/// could desynchronise the connection.
pub const FRAMING_HEADERS: [&str; 8] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// The longest comment.
pub const MAX_COMMENT: usize = 1000;

/// An endpoint as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    pub name: String,
    #[serde(default)]
    pub comment: String,
    pub path: String,
    #[serde(default = "active_by_default")]
    pub active: bool,
    #[serde(default)]
    pub profile: Option<String>,
    /// The environment its requests should name (`staging`); one that names another gets a warning.
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub require_header: Option<RequiredHeader>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub respond: Vec<StepSpec>,
    #[serde(default)]
    pub sequence: Sequence,
    #[serde(default)]
    pub chaos: Option<Chaos>,
    /// How its requests' signatures are checked.
    #[serde(default)]
    pub verify: Option<VerifySpec>,
    /// Where its requests are delivered.
    #[serde(default)]
    pub forward: Option<ForwardSpec>,
}

fn active_by_default() -> bool {
    true
}

/// One answer step as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    #[serde(default = "ok_status")]
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default = "once")]
    pub times: u32,
}

fn ok_status() -> u16 {
    200
}

fn once() -> u32 {
    1
}

/// A field that cannot be used: where (a JSON pointer into the endpoint) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct SpecError {
    pub pointer: String,
    pub message: String,
}

pub(super) fn refuse(pointer: impl Into<String>, message: impl Into<String>) -> SpecError {
    SpecError {
        pointer: pointer.into(),
        message: message.into(),
    }
}

impl EndpointSpec {
    /// Checks every field and makes the endpoint.
    pub fn build(&self, source: Source) -> Result<Endpoint, SpecError> {
        if !valid_name(&self.name) {
            return Err(refuse("/name", "a name is 1 to 64 of A-Z a-z 0-9 . _ -"));
        }
        if self.comment.chars().count() > MAX_COMMENT {
            return Err(refuse("/comment", "a comment is at most 1,000 characters"));
        }
        let path = PathPattern::parse(&self.path).map_err(|error| refuse("/path", error.to_string()))?;
        // A custom profile may be defined after the endpoint that names it: whether it exists is checked where the
        // profiles are known (the API, the configuration file), and a capture under a missing one says so.
        if let Some(profile) = &self.profile
            && !valid_name(profile)
        {
            return Err(refuse("/profile", "a profile's name is 1 to 64 of A-Z a-z 0-9 . _ -"));
        }
        if self
            .environment
            .as_ref()
            .is_some_and(|environment| environment.is_empty() || environment.len() > 64)
        {
            return Err(refuse("/environment", "an environment is 1 to 64 bytes"));
        }
        if let Some(required) = &self.require_header {
            if hyper::header::HeaderName::from_bytes(required.name.as_bytes()).is_err() {
                return Err(refuse("/require_header/name", "not a header name"));
            }
            if hyper::header::HeaderValue::from_str(&required.value).is_err() {
                return Err(refuse("/require_header/value", "not a header value"));
            }
        }
        for (index, event) in self.events.iter().enumerate() {
            if event.is_empty() || event.len() > 200 {
                return Err(refuse(format!("/events/{index}"), "an event name is 1 to 200 bytes"));
            }
        }
        if self.respond.len() > MAX_STEPS {
            return Err(refuse("/respond", "at most 100 steps"));
        }
        let mut steps = self
            .respond
            .iter()
            .enumerate()
            .map(|(index, step)| step.build(&format!("/respond/{index}")))
            .collect::<Result<Vec<_>, _>>()?;
        if steps.is_empty() {
            steps.push(Step::default());
        }
        if let Some(chaos) = self.chaos {
            if !(0.0..=1.0).contains(&chaos.rate) {
                return Err(refuse("/chaos/rate", "a rate is from 0 to 1"));
            }
            if !ANSWER_STATUSES.contains(&chaos.status) {
                return Err(refuse("/chaos/status", "a status is from 200 to 599"));
            }
        }
        let verify = self.verify.as_ref().map(|verify| verify.build(source)).transpose()?;
        let forward = self.forward.as_ref().map(ForwardSpec::build).transpose()?;
        let mut endpoint = Endpoint::new(self.name.clone(), path, steps, source);
        endpoint.verify = verify;
        endpoint.forward = forward;
        endpoint.comment = self.comment.clone();
        endpoint.active = self.active;
        endpoint.profile = self.profile.clone();
        endpoint.environment = self.environment.clone();
        endpoint.require_header = self.require_header.clone();
        endpoint.events = self.events.clone();
        endpoint.sequence = self.sequence;
        endpoint.chaos = self.chaos;
        Ok(endpoint)
    }
}

impl StepSpec {
    fn build(&self, at: &str) -> Result<Step, SpecError> {
        if !ANSWER_STATUSES.contains(&self.status) {
            return Err(refuse(format!("{at}/status"), "a status is from 200 to 599"));
        }
        if self.times == 0 {
            return Err(refuse(format!("{at}/times"), "a step is used at least once"));
        }
        let delay = Duration::from_millis(self.delay_ms);
        if delay > MAX_DELAY {
            return Err(refuse(format!("{at}/delay_ms"), "a delay is at most 30,000 ms"));
        }
        if self.body.as_ref().is_some_and(|body| body.len() > MAX_STEP_BODY) {
            return Err(refuse(format!("{at}/body"), "a body is at most 64 KiB"));
        }
        let mut headers = Vec::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let pointer = format!("{at}/headers/{}", name.replace('~', "~0").replace('/', "~1"));
            if name.eq_ignore_ascii_case("set-cookie") {
                return Err(refuse(
                    pointer,
                    "Set-Cookie is refused: answers come from the inspector's own origin",
                ));
            }
            if FRAMING_HEADERS.iter().any(|framing| name.eq_ignore_ascii_case(framing)) {
                return Err(refuse(
                    pointer,
                    "hookscope frames its answers itself: this header cannot be set",
                ));
            }
            if hyper::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(refuse(pointer, "not a header name"));
            }
            if hyper::header::HeaderValue::from_str(value).is_err() {
                return Err(refuse(pointer, "not a header value"));
            }
            headers.push((name.clone(), value.clone()));
        }
        Ok(Step {
            status: self.status,
            headers,
            body: self.body.clone(),
            delay,
            times: self.times,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> EndpointSpec {
        serde_json::from_value(json).expect("an endpoint")
    }

    #[test]
    fn defaults_fill_what_is_not_written() {
        let endpoint = spec(serde_json::json!({"name": "acme", "path": "/hooks/acme/**"}))
            .build(Source::File)
            .expect("valid");
        assert!(endpoint.active);
        assert_eq!(endpoint.steps, [Step::default()]);
        assert_eq!(endpoint.sequence, Sequence::Endpoint);
    }

    #[test]
    fn each_mistake_names_its_field() {
        let cases = [
            (serde_json::json!({"name": "bad name", "path": "/x"}), "/name"),
            (serde_json::json!({"name": "a", "path": "x"}), "/path"),
            (
                serde_json::json!({"name": "a", "path": "/x", "profile": "no pe"}),
                "/profile",
            ),
            (
                serde_json::json!({"name": "a", "path": "/x", "respond": [{"status": 99}]}),
                "/respond/0/status",
            ),
            (
                serde_json::json!({"name": "a", "path": "/x", "respond": [{}, {"times": 0}]}),
                "/respond/1/times",
            ),
            (
                serde_json::json!({"name": "a", "path": "/x", "respond": [{"delay_ms": 30001}]}),
                "/respond/0/delay_ms",
            ),
            (
                serde_json::json!({"name": "a", "path": "/x", "respond": [{"headers": {"Set-Cookie": "s=1"}}]}),
                "/respond/0/headers/Set-Cookie",
            ),
            (
                serde_json::json!({"name": "a", "path": "/x", "respond": [{"headers": {"Content-Length": "2"}}]}),
                "/respond/0/headers/Content-Length",
            ),
            (
                serde_json::json!({"name": "a", "path": "/x", "chaos": {"rate": 2.0, "status": 500}}),
                "/chaos/rate",
            ),
            (
                serde_json::json!({"name": "a", "path": "/x", "require_header": {"name": "bad name", "value": "v"}}),
                "/require_header/name",
            ),
        ];
        for (json, pointer) in cases {
            let error = spec(json.clone()).build(Source::Api).expect_err("refused");
            assert_eq!(error.pointer, pointer, "{json}");
        }
        let unknown = serde_json::from_value::<EndpointSpec>(serde_json::json!({"name": "a", "path": "/x", "nope": 1}));
        assert!(unknown.is_err(), "unknown fields are refused");
    }
}
