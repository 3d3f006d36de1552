//! Endpoints: named expectations about the requests under a path pattern, and how hookscope answers them. Pure
//! logic: which endpoint a request belongs to (the most specific match), and which answer it gets (the endpoint's
//! steps in turn). Each endpoint's position in its steps is kept in memory: it starts again at each start.

pub mod pattern;
pub mod steps;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use pattern::PathPattern;
use steps::{Step, step_at};

/// Where an endpoint was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The `--respond` shorthand.
    Flag,
}

/// One endpoint.
#[derive(Debug)]
pub struct Endpoint {
    /// Unique; `respond-1`, `respond-2`, ... for the shorthand flag.
    pub name: String,
    pub path: PathPattern,
    pub steps: Vec<Step>,
    pub source: Source,
    /// How many requests have taken a step so far.
    position: AtomicU64,
}

impl Endpoint {
    pub fn new(name: String, path: PathPattern, steps: Vec<Step>, source: Source) -> Endpoint {
        Endpoint {
            name,
            path,
            steps,
            source,
            position: AtomicU64::new(0),
        }
    }

    /// The answer for the next request under this endpoint, advancing its position.
    pub fn next_answer(&self) -> Answer {
        let position = self.position.fetch_add(1, Ordering::Relaxed);
        match step_at(&self.steps, position) {
            Some((index, step)) => Answer {
                status: step.status,
                delay: step.delay,
                step: Some(index),
                reason: Reason::Step,
            },
            // An endpoint always has a step; should one have none, it answers as if it were not there.
            None => Answer::default_with(200),
        }
    }
}

/// Why a request got the answer it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The endpoint's step.
    Step,
    /// No endpoint: `--status`.
    Default,
}

impl Reason {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Step => "step",
            Reason::Default => "default",
        }
    }

    /// The reason with that stored name; unknown names read as the default.
    pub fn from_name(name: &str) -> Reason {
        match name {
            "step" => Reason::Step,
            _ => Reason::Default,
        }
    }
}

/// The answer a captured request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Waited after the commit, before answering.
    pub delay: Duration,
    /// The index of the endpoint's step that gave it.
    pub step: Option<usize>,
    pub reason: Reason,
}

impl Answer {
    /// The answer of a request under no endpoint.
    pub fn default_with(status: u16) -> Answer {
        Answer {
            status,
            delay: Duration::ZERO,
            step: None,
            reason: Reason::Default,
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
