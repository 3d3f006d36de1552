//! Answer steps: what an endpoint answers, in turn. Each step is used `times` times, then the next; the last one
//! repeats for ever. So "500 twice, then 200" is `500x2,200`, the shorthand `--respond` takes (a delay as
//! `200@1500ms`).

use std::time::Duration;

/// The most a step may delay its answer: long enough to test a provider's timeout, short enough that a delayed
/// answer cannot hold a connection for long.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// The statuses hookscope answers a capture with, wherever one is chosen (`--status`, a step, chaos): a 1xx is not a
/// final answer.
pub const ANSWER_STATUSES: std::ops::Range<u16> = 200..600;

/// One answer, used `times` times in a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 200 to 599.
    pub status: u16,
    /// Headers of the answer, besides the ones hookscope always sets.
    pub headers: Vec<(String, String)>,
    /// The answer's body, a template (see `template.rs`); `None` answers the capture's own JSON.
    pub body: Option<String>,
    /// How long to wait, after the capture is committed, before answering.
    pub delay: Duration,
    /// At least 1.
    pub times: u32,
}

impl Default for Step {
    fn default() -> Step {
        Step {
            status: 200,
            headers: Vec::new(),
            body: None,
            delay: Duration::ZERO,
            times: 1,
        }
    }
}

/// A step list that cannot be used; reads as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepsError {
    #[error("no steps: give at least one status, such as 200")]
    Empty,
    #[error("{0:?} is not a step; write STATUS, STATUSxTIMES or STATUS@DELAYms (500x2,200@1500ms)")]
    Shape(String),
    #[error("status {0} is not one hookscope answers with; use 200 to 599")]
    Status(u16),
    #[error("a step is used at least once; {0:?} says otherwise")]
    Times(String),
    #[error("a delay is at most 30,000 ms; {0:?} is longer")]
    Delay(String),
    #[error("at most 100 steps")]
    TooMany,
}

/// The most steps one endpoint has.
pub const MAX_STEPS: usize = 100;

/// Reads the shorthand: comma-separated `STATUS[xTIMES][@DELAYms]`.
pub fn parse_shorthand(text: &str) -> Result<Vec<Step>, StepsError> {
    let steps = text
        .split(',')
        .map(str::trim)
        .filter(|step| !step.is_empty())
        .map(parse_step)
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err(StepsError::Empty);
    }
    if steps.len() > MAX_STEPS {
        return Err(StepsError::TooMany);
    }
    Ok(steps)
}

fn parse_step(text: &str) -> Result<Step, StepsError> {
    let shape = || StepsError::Shape(text.to_owned());
    let (head, delay) = match text.split_once('@') {
        Some((head, delay)) => {
            let millis = delay.strip_suffix("ms").unwrap_or(delay).trim();
            let millis: u64 = millis.parse().map_err(|_| shape())?;
            let delay = Duration::from_millis(millis);
            if delay > MAX_DELAY {
                return Err(StepsError::Delay(text.to_owned()));
            }
            (head, delay)
        }
        None => (text, Duration::ZERO),
    };
    let (status, times) = match head.split_once(['x', 'X']) {
        Some((status, times)) => (status, times.trim().parse::<u32>().map_err(|_| shape())?),
        None => (head, 1),
    };
    let status: u16 = status.trim().parse().map_err(|_| shape())?;
    if !ANSWER_STATUSES.contains(&status) {
        return Err(StepsError::Status(status));
    }
    if times == 0 {
        return Err(StepsError::Times(text.to_owned()));
    }
    Ok(Step {
        status,
        delay,
        times,
        ..Step::default()
    })
}

/// The step for the request at `position` (0 for the first) of a sequence: each step in turn, `times` times, the
/// last repeating. Returns its index and the step.
pub fn step_at(steps: &[Step], position: u64) -> Option<(usize, &Step)> {
    let mut left = position;
    for (index, step) in steps.iter().enumerate() {
        let times = u64::from(step.times.max(1));
        if left < times {
            return Some((index, step));
        }
        left -= times;
    }
    steps.last().map(|last| (steps.len() - 1, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shorthand_reads_statuses_counts_and_delays() {
        let steps = parse_shorthand("500x2, 200@1500ms").expect("valid");
        assert_eq!(
            steps,
            [
                Step {
                    status: 500,
                    times: 2,
                    ..Step::default()
                },
                Step {
                    delay: Duration::from_millis(1500),
                    ..Step::default()
                }
            ]
        );
        assert_eq!(parse_shorthand("410").expect("valid")[0].status, 410);
    }

    #[test]
    fn steps_that_cannot_be_used_are_refused_in_one_sentence() {
        assert_eq!(parse_shorthand(""), Err(StepsError::Empty));
        assert_eq!(parse_shorthand("99"), Err(StepsError::Status(99)));
        assert_eq!(parse_shorthand("600"), Err(StepsError::Status(600)));
        assert!(matches!(parse_shorthand("500x0"), Err(StepsError::Times(_))));
        assert!(matches!(parse_shorthand("200@30001ms"), Err(StepsError::Delay(_))));
        assert!(matches!(parse_shorthand("ok"), Err(StepsError::Shape(_))));
        let many = vec!["200"; MAX_STEPS + 1].join(",");
        assert_eq!(parse_shorthand(&many), Err(StepsError::TooMany));
    }

    #[test]
    fn steps_are_taken_in_turn_and_the_last_repeats() {
        let steps = parse_shorthand("500x2,429,200").expect("valid");
        let statuses: Vec<u16> = (0..6)
            .map(|position| step_at(&steps, position).expect("a step").1.status)
            .collect();
        assert_eq!(statuses, [500, 500, 429, 200, 200, 200]);
        assert_eq!(step_at(&steps, u64::MAX).map(|(index, _)| index), Some(2));
    }
}
