//! Endpoints: named expectations about the requests under a path pattern, and how hookscope answers them. Pure
//! logic: which endpoint a request belongs to (the most specific match), and which answer it gets (the endpoint's
//! steps in turn). Each endpoint's position in its steps is kept in memory: it starts again at each start.

pub mod pattern;
pub mod spec;
pub mod steps;
pub mod template;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use pattern::PathPattern;
use steps::{Step, step_at};

/// Where an endpoint was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The JSON API; stored in the database.
    Api,
    /// The configuration file.
    File,
    /// The `--respond` shorthand.
    Flag,
}

/// A header a request must carry, or be answered 401 (still captured).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredHeader {
    pub name: String,
    pub value: String,
}

/// Whose turn a step is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sequence {
    /// All requests under the endpoint take the steps in turn, in capture order.
    #[default]
    Endpoint,
    /// Each idempotency key has its own position, so each delivery's retries see the steps from the first.
    Key,
}

/// A share of requests answered with a fixed status instead of their step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chaos {
    /// 0 to 1.
    pub rate: f64,
    pub status: u16,
}

/// The most idempotency keys whose position an endpoint with `sequence: key` remembers; past it, they start again
/// (a provider's retries come within minutes, so only a flood of distinct keys loses anything).
pub const MAX_KEY_POSITIONS: usize = 10_000;

/// One endpoint.
#[derive(Debug)]
pub struct Endpoint {
    /// Unique; 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    pub comment: String,
    pub path: PathPattern,
    /// `false`: every request under it is still captured, and answered 410 Gone.
    pub active: bool,
    /// The profile its bodies must follow, by name.
    pub profile: Option<String>,
    pub require_header: Option<RequiredHeader>,
    /// The events subscribed to; empty for all.
    pub events: Vec<String>,
    pub steps: Vec<Step>,
    pub sequence: Sequence,
    pub chaos: Option<Chaos>,
    pub source: Source,
    /// How many requests have taken a step so far (all of them, or those without a key under `sequence: key`).
    position: AtomicU64,
    /// Under `sequence: key`, each key's position.
    key_positions: Mutex<HashMap<Vec<u8>, u64>>,
}

/// What an endpoint's answer depends on, of the request.
pub struct RequestFacts<'a> {
    /// `(name, value)` pairs as received.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The idempotency key, if any.
    pub key: Option<&'a [u8]>,
}

impl Endpoint {
    /// An active endpoint with only a path and steps, as the `--respond` shorthand makes.
    pub fn new(name: String, path: PathPattern, steps: Vec<Step>, source: Source) -> Endpoint {
        Endpoint {
            name,
            comment: String::new(),
            path,
            active: true,
            profile: None,
            require_header: None,
            events: Vec::new(),
            steps,
            sequence: Sequence::Endpoint,
            chaos: None,
            source,
            position: AtomicU64::new(0),
            key_positions: Mutex::new(HashMap::new()),
        }
    }

    /// The answer for this request, in this order: an inactive endpoint's 410, a missing required header's 401,
    /// chaos, and otherwise the next step (which advances the position).
    pub fn answer(&self, request: &RequestFacts<'_>) -> Answer {
        let fixed = |status: u16, reason: Reason| Answer {
            status,
            reason,
            ..Answer::default_with(status)
        };
        if !self.active {
            return fixed(410, Reason::Inactive);
        }
        if let Some(required) = &self.require_header {
            let present = request
                .headers
                .iter()
                .any(|(name, value)| name.eq_ignore_ascii_case(&required.name) && *value == required.value.as_bytes());
            if !present {
                return fixed(401, Reason::Unauthorized);
            }
        }
        if let Some(chaos) = self.chaos
            && chaos.rate > 0.0
            && (chaos.rate >= 1.0 || random_fraction() < chaos.rate)
        {
            return fixed(chaos.status, Reason::Chaos);
        }
        let position = match (self.sequence, request.key) {
            (Sequence::Key, Some(key)) => {
                // A poisoned lock only means another answer panicked; the positions are still usable.
                let mut positions = self
                    .key_positions
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if positions.len() >= MAX_KEY_POSITIONS && !positions.contains_key(key) {
                    positions.clear();
                }
                let position = positions.entry(key.to_vec()).or_insert(0);
                let current = *position;
                *position += 1;
                current
            }
            _ => self.position.fetch_add(1, Ordering::Relaxed),
        };
        match step_at(&self.steps, position) {
            Some((index, step)) => Answer {
                status: step.status,
                delay: step.delay,
                step: Some(index),
                reason: Reason::Step,
                headers: step.headers.clone(),
                body: step.body.clone(),
            },
            // An endpoint always has a step; should one have none, it answers as if it were not there.
            None => Answer::default_with(200),
        }
    }

    /// The answer for the next request under this endpoint that says nothing of itself (no headers, no key).
    pub fn next_answer(&self) -> Answer {
        self.answer(&RequestFacts {
            headers: &[],
            key: None,
        })
    }

    /// Starts the steps again from the first.
    pub fn reset(&self) {
        self.position.store(0, Ordering::Relaxed);
        self.key_positions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }
}

/// A number in [0, 1) from the operating system's randomness (chaos needs no more than that, rarely).
fn random_fraction() -> f64 {
    let bits = uuid::Uuid::new_v4().as_u128() >> 75; // 53 random bits
    bits as f64 / (1u64 << 53) as f64
}

/// Why a request got the answer it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The endpoint's step.
    Step,
    /// The endpoint's chaos share.
    Chaos,
    /// The endpoint is inactive: 410 Gone.
    Inactive,
    /// The endpoint's required header was missing: 401.
    Unauthorized,
    /// No endpoint: `--status`.
    Default,
}

impl Reason {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Step => "step",
            Reason::Chaos => "chaos",
            Reason::Inactive => "inactive",
            Reason::Unauthorized => "unauthorized",
            Reason::Default => "default",
        }
    }

    /// The reason with that stored name; unknown names read as the default.
    pub fn from_name(name: &str) -> Reason {
        match name {
            "step" => Reason::Step,
            "chaos" => Reason::Chaos,
            "inactive" => Reason::Inactive,
            "unauthorized" => Reason::Unauthorized,
            _ => Reason::Default,
        }
    }
}

/// The answer a captured request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Waited after the commit, before answering.
    pub delay: Duration,
    /// The index of the endpoint's step that gave it.
    pub step: Option<usize>,
    pub reason: Reason,
    /// The step's headers.
    pub headers: Vec<(String, String)>,
    /// The step's body template; `None` answers the capture's own JSON.
    pub body: Option<String>,
}

impl Answer {
    /// The answer of a request under no endpoint.
    pub fn default_with(status: u16) -> Answer {
        Answer {
            status,
            delay: Duration::ZERO,
            step: None,
            reason: Reason::Default,
            headers: Vec::new(),
            body: None,
        }
    }
}

/// Every endpoint, in the order of their ids (their position here, from 1).
#[derive(Debug, Default)]
pub struct Endpoints {
    list: Vec<Endpoint>,
}

impl Endpoints {
    pub fn new(list: Vec<Endpoint>) -> Endpoints {
        Endpoints { list }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The endpoint a raw path belongs to: the most specific that matches (a pattern without wildcards beats one
    /// with, then the longer literal prefix), and the lowest id of equals.
    pub fn find(&self, path: &str) -> Option<&Endpoint> {
        let mut best: Option<&Endpoint> = None;
        for endpoint in self.list.iter().filter(|endpoint| endpoint.path.matches(path)) {
            let better = best.is_none_or(|best| endpoint.path.specificity(&best.path).is_gt());
            if better {
                best = Some(endpoint);
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(name: &str, path: &str, steps: &str) -> Endpoint {
        Endpoint::new(
            name.into(),
            PathPattern::parse(path).expect("pattern"),
            steps::parse_shorthand(steps).expect("steps"),
            Source::Flag,
        )
    }

    #[test]
    fn a_request_belongs_to_the_most_specific_endpoint_then_the_lowest_id() {
        let endpoints = Endpoints::new(vec![
            endpoint("any", "/**", "200"),
            endpoint("hooks", "/hooks/**", "200"),
            endpoint("acme", "/hooks/acme/**", "200"),
            endpoint("exact", "/hooks/acme/orders", "200"),
            endpoint("acme-again", "/hooks/acme/**", "200"),
        ]);
        let name = |path: &str| endpoints.find(path).map(|endpoint| endpoint.name.as_str());
        assert_eq!(name("/hooks/acme/orders"), Some("exact"));
        assert_eq!(name("/hooks/acme/refunds"), Some("acme"));
        assert_eq!(name("/hooks/other"), Some("hooks"));
        assert_eq!(name("/elsewhere"), Some("any"));
        assert_eq!(
            Endpoints::default().find("/x").map(|endpoint| endpoint.name.clone()),
            None
        );
    }

    #[test]
    fn each_request_takes_the_next_step() {
        let flaky = endpoint("flaky", "/flaky", "500x2,200");
        let answers: Vec<(u16, Option<usize>)> = (0..4)
            .map(|_| flaky.next_answer())
            .map(|answer| (answer.status, answer.step))
            .collect();
        assert_eq!(
            answers,
            [(500, Some(0)), (500, Some(0)), (200, Some(1)), (200, Some(1))]
        );
    }
}
