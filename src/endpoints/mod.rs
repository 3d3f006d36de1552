//! Endpoints: named expectations about the requests under a path pattern, and how hookscope answers them. Pure
//! logic: which endpoint a request belongs to (the most specific match), and which answer it gets (the endpoint's
//! steps in turn). Each endpoint's position in its steps is kept in memory: it starts again at each start.

pub mod forward;
pub mod pattern;
pub mod spec;
pub mod steps;
pub mod template;
pub mod verify;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use pattern::PathPattern;
use steps::{Step, step_at};

use crate::signatures::{Explanation, Verification};

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

/// The most signature explanations an endpoint keeps.
pub const MAX_EXPLANATIONS: usize = 1000;

/// One endpoint.
#[derive(Debug)]
pub struct Endpoint {
    /// Assigned when it joins the set: stored for API endpoints, kept by name for the file's.
    pub id: i64,
    /// Unique; 1 to 64 of `A-Z a-z 0-9 . _ -`.
    pub name: String,
    pub comment: String,
    pub path: PathPattern,
    /// `false`: every request under it is still captured, and answered 410 Gone.
    pub active: bool,
    /// The profile its bodies must follow, by name.
    pub profile: Option<String>,
    /// The environment its requests should name.
    pub environment: Option<String>,
    pub require_header: Option<RequiredHeader>,
    /// The events subscribed to; empty for all.
    pub events: Vec<String>,
    pub steps: Vec<Step>,
    pub sequence: Sequence,
    pub chaos: Option<Chaos>,
    /// How its requests' signatures are checked.
    pub verify: Option<Verification>,
    /// Where its requests are delivered.
    pub forward: Option<forward::Forwarding>,
    pub source: Source,
    /// Signature explanations already computed, by capture id: each costs many HMACs, and a page asks again
    /// whenever the detail is opened. Dropped with the endpoint, whose secrets they were computed with.
    explanations: Mutex<HashMap<i64, Arc<Explanation>>>,
    /// How many requests have taken a step so far (all of them, or those without a key under `sequence: key`).
    position: AtomicU64,
    /// Under `sequence: key`, each key's position, by a 64-bit hash of the key: a sender chooses keys, and may make
    /// them megabytes long. Two keys sharing a hash would only share a position.
    key_positions: Mutex<HashMap<u64, u64>>,
    /// What it has received since it was defined (or since start).
    stats: Stats,
}

/// What an endpoint received, counted in memory since it was defined or hookscope started.
#[derive(Debug, Default)]
struct Stats {
    /// Milliseconds since the epoch; 0 for never.
    last_received_ms: AtomicI64,
    /// How many requests were answered each status; their sum is how many it received.
    by_status: Mutex<BTreeMap<u16, u64>>,
}

/// An endpoint's counts, as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsView {
    pub received: u64,
    /// RFC 3339, or `null` before the first request.
    pub last_received_at: Option<String>,
    /// How many requests were answered each status.
    pub by_status: BTreeMap<u16, u64>,
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
            id: 0,
            name,
            comment: String::new(),
            path,
            active: true,
            profile: None,
            environment: None,
            require_header: None,
            events: Vec::new(),
            steps,
            sequence: Sequence::Endpoint,
            chaos: None,
            verify: None,
            forward: None,
            source,
            explanations: Mutex::new(HashMap::new()),
            position: AtomicU64::new(0),
            key_positions: Mutex::new(HashMap::new()),
            stats: Stats::default(),
        }
    }

    /// The endpoint as it would be written: what the API shows and stores.
    pub fn spec(&self) -> spec::EndpointSpec {
        spec::EndpointSpec {
            name: self.name.clone(),
            comment: self.comment.clone(),
            path: self.path.as_str().to_owned(),
            active: self.active,
            profile: self.profile.clone(),
            environment: self.environment.clone(),
            require_header: self.require_header.clone(),
            events: self.events.clone(),
            respond: self
                .steps
                .iter()
                .map(|step| spec::StepSpec {
                    status: step.status,
                    headers: step.headers.iter().cloned().collect(),
                    body: step.body.clone(),
                    delay_ms: u64::try_from(step.delay.as_millis()).unwrap_or(u64::MAX),
                    times: step.times,
                })
                .collect(),
            sequence: self.sequence,
            chaos: self.chaos,
            verify: self.verify.as_ref().map(verify::VerifySpec::of),
            forward: self.forward.as_ref().map(forward::ForwardSpec::of),
        }
    }

    /// The endpoint as the API shows it: as written, its secrets masked.
    pub fn shown_spec(&self) -> spec::EndpointSpec {
        let mut shown = self.spec();
        if let (Some(written), Some(verification)) = (shown.verify.take(), &self.verify) {
            shown.verify = Some(written.masked(verification));
        }
        shown
    }

    /// The explanation of capture `id`'s signature, when already computed.
    pub fn explanation(&self, id: i64) -> Option<Arc<Explanation>> {
        self.explanations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&id)
            .cloned()
    }

    /// Keeps the explanation of capture `id`'s signature (forgetting them all past [`MAX_EXPLANATIONS`]).
    pub fn keep_explanation(&self, id: i64, explanation: Arc<Explanation>) {
        let mut kept = self
            .explanations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if kept.len() >= MAX_EXPLANATIONS {
            kept.clear();
        }
        kept.insert(id, explanation);
    }

    /// Counts a request it received at `at_ms`, answered `status`.
    pub fn record(&self, status: u16, at_ms: i64) {
        self.stats.last_received_ms.fetch_max(at_ms, Ordering::Relaxed);
        let mut by_status = self
            .stats
            .by_status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *by_status.entry(status).or_default() += 1;
    }

    /// Its counts.
    pub fn stats(&self) -> StatsView {
        let last = self.stats.last_received_ms.load(Ordering::Relaxed);
        let by_status = self
            .stats
            .by_status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        StatsView {
            received: by_status.values().sum(),
            last_received_at: (last > 0).then(|| crate::record::format_timestamp(last)),
            by_status,
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
                let hash = xxhash_rust::xxh3::xxh3_64(key);
                if positions.len() >= MAX_KEY_POSITIONS && !positions.contains_key(&hash) {
                    positions.clear();
                }
                let position = positions.entry(hash).or_insert(0);
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
    /// The endpoint forwards in proxy mode: the target's answer, or 502/504 when it gave none.
    Proxy,
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
            Reason::Proxy => "proxy",
        }
    }

    /// The reason with that stored name; unknown names read as the default.
    pub fn from_name(name: &str) -> Reason {
        match name {
            "step" => Reason::Step,
            "chaos" => Reason::Chaos,
            "inactive" => Reason::Inactive,
            "unauthorized" => Reason::Unauthorized,
            "proxy" => Reason::Proxy,
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
    /// The answer of a request its endpoint proxies, until the target answers (status 0: not answered yet).
    pub fn proxied() -> Answer {
        Answer {
            reason: Reason::Proxy,
            ..Answer::default_with(0)
        }
    }

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

/// The most endpoints hookscope keeps.
pub const MAX_ENDPOINTS: usize = 1000;

/// The name `--respond` gives the endpoint of its `number`th flag (from 1): `respond-1`, `respond-2`, ...
pub fn flag_name(number: usize) -> String {
    format!("respond-{number}")
}

/// The name of the endpoint `--forward-to` makes.
pub const FORWARD_TO_NAME: &str = "forward-to";

/// Whether `name` has the form of the names `--respond` and `--forward-to` give, which belong to them alone.
pub fn is_flag_name(name: &str) -> bool {
    name == FORWARD_TO_NAME
        || name
            .strip_prefix("respond-")
            .is_some_and(|number| !number.is_empty() && number.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Every endpoint, in the order of their ids; changed as a whole (an edit replaces one endpoint, and with it its
/// place in its steps), read as a snapshot by each capture.
#[derive(Debug, Default)]
pub struct Endpoints {
    list: RwLock<Arc<Vec<Arc<Endpoint>>>>,
    /// The id the next endpoint gets.
    next_id: AtomicI64,
}

impl Endpoints {
    /// A set of these endpoints, which carry their ids; the next one gets an id above them all.
    pub fn new(list: Vec<Endpoint>) -> Endpoints {
        let next = list.iter().map(|endpoint| endpoint.id).max().unwrap_or(0) + 1;
        Endpoints {
            list: RwLock::new(Arc::new(list.into_iter().map(Arc::new).collect())),
            next_id: AtomicI64::new(next),
        }
    }

    /// An id for a new endpoint.
    pub fn allocate_id(&self) -> i64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The endpoints as they are now.
    pub fn snapshot(&self) -> Arc<Vec<Arc<Endpoint>>> {
        Arc::clone(&self.list.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Replaces the set by what `change` makes of it (a poisoned lock only means another change panicked).
    pub fn change<T>(&self, change: impl FnOnce(&mut Vec<Arc<Endpoint>>) -> T) -> T {
        let mut list = self.list.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut changed: Vec<Arc<Endpoint>> = list.as_ref().clone();
        let result = change(&mut changed);
        changed.sort_by_key(|endpoint| endpoint.id);
        *list = Arc::new(changed);
        result
    }

    pub fn is_empty(&self) -> bool {
        self.snapshot().is_empty()
    }

    /// The endpoint with that name.
    pub fn by_name(&self, name: &str) -> Option<Arc<Endpoint>> {
        self.snapshot().iter().find(|endpoint| endpoint.name == name).cloned()
    }

    /// The endpoint with that id.
    pub fn get(&self, id: i64) -> Option<Arc<Endpoint>> {
        self.snapshot().iter().find(|endpoint| endpoint.id == id).cloned()
    }

    /// The endpoint a raw path belongs to: the most specific that matches (a pattern without wildcards beats one
    /// with, then the longer literal prefix), and the lowest id of equals.
    pub fn find(&self, path: &str) -> Option<Arc<Endpoint>> {
        let list = self.snapshot();
        let mut best: Option<&Arc<Endpoint>> = None;
        for endpoint in list.iter().filter(|endpoint| endpoint.path.matches(path)) {
            let better = best.is_none_or(|best| endpoint.path.specificity(&best.path).is_gt());
            if better {
                best = Some(endpoint);
            }
        }
        best.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names_are_respond_and_a_number() {
        assert_eq!(flag_name(2), "respond-2");
        assert!(is_flag_name(&flag_name(12)));
        for other in ["respond-", "respond-1a", "respond", "respond-x", "my-respond-1"] {
            assert!(!is_flag_name(other), "{other}");
        }
    }

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
        let list: Vec<Endpoint> = [
            endpoint("any", "/**", "200"),
            endpoint("hooks", "/hooks/**", "200"),
            endpoint("acme", "/hooks/acme/**", "200"),
            endpoint("exact", "/hooks/acme/orders", "200"),
            endpoint("acme-again", "/hooks/acme/**", "200"),
        ]
        .into_iter()
        .enumerate()
        .map(|(index, mut endpoint)| {
            endpoint.id = i64::try_from(index).expect("small") + 1;
            endpoint
        })
        .collect();
        let endpoints = Endpoints::new(list);
        let name = |path: &str| endpoints.find(path).map(|endpoint| endpoint.name.clone());
        assert_eq!(name("/hooks/acme/orders").as_deref(), Some("exact"));
        assert_eq!(name("/hooks/acme/refunds").as_deref(), Some("acme"));
        assert_eq!(name("/hooks/other").as_deref(), Some("hooks"));
        assert_eq!(name("/elsewhere").as_deref(), Some("any"));
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
