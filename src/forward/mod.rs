//! Forwarding and replay: hookscope between the provider and the app being written. A mirror-mode delivery is
//! stored in the outbox with its request and delivered after the commit by its target's queue (first in, first
//! out, retried with backoff, resumed after a restart); a proxy-mode request waits for the target's answer; a
//! replay sends a stored request again, as captured or edited, re-signed when asked. Every attempt is recorded
//! beside its request.

pub mod client;
pub mod outgoing;
mod queue;
pub mod replay;
pub mod target;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use client::{Answered, Client, SendError};
use target::{Target, TargetError, TargetRules};

use crate::endpoints::Endpoints;
use crate::record::{AttemptKind, DeliveryPlan, NewAttempt, StoredRequest, now_ms};
use crate::store::{Store, StoreError};

/// How long shutdown waits for deliveries in flight; the rest stay in the outbox for the next start.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The first retry's delay; each later one doubles it, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The longest wait between two tries of one delivery.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Delivers requests to their targets; cheap to clone.
#[derive(Clone)]
pub struct Forwarder {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    endpoints: Arc<Endpoints>,
    rules: TargetRules,
    client: Client,
    /// Each target's queue, woken when a delivery for it is stored.
    queues: Mutex<HashMap<String, Arc<Notify>>>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

/// One try: what was sent where, and what came back or why nothing did.
pub struct Attempted {
    pub attempt: NewAttempt,
    pub result: Result<Answered, Failure>,
}

/// Why an attempt got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The target may answer later: refused, unreachable, too slow, or not speaking HTTP.
    #[error("{0}")]
    Unreachable(SendError),
    /// Trying again would not help: the target is not allowed, or the request cannot be made.
    #[error("{0}")]
    Refused(String),
}

impl Failure {
    /// Whether the status a proxied sender gets is a timeout's (504) rather than a bad gateway's (502).
    pub fn is_timeout(&self) -> bool {
        matches!(self, Failure::Unreachable(SendError::Timeout(_)))
    }
}

impl From<TargetError> for Failure {
    fn from(error: TargetError) -> Failure {
        Failure::Refused(error.to_string())
    }
}

impl Forwarder {
    pub fn new(store: Store, endpoints: Arc<Endpoints>, rules: TargetRules, shutdown: CancellationToken) -> Forwarder {
        Forwarder {
            inner: Arc::new(Inner {
                store,
                endpoints,
                rules,
                client: Client::default(),
                queues: Mutex::new(HashMap::new()),
                shutdown,
                tasks: TaskTracker::new(),
            }),
        }
    }

    /// The rule every target passes.
    pub fn rules(&self) -> &TargetRules {
        &self.inner.rules
    }

    /// Starts the queue of every target with deliveries left in the outbox.
    pub async fn resume(&self) -> Result<(), StoreError> {
        for target in self.inner.store.pending_targets().await? {
            self.wake(&target);
        }
        Ok(())
    }

    /// Tells `target`'s queue that a delivery for it is stored, starting the queue if it has none.
    pub fn wake(&self, target: &str) {
        let mut queues = self
            .inner
            .queues
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(notify) = queues.get(target) {
            notify.notify_one();
            return;
        }
        let notify = Arc::new(Notify::new());
        queues.insert(target.to_owned(), Arc::clone(&notify));
        drop(queues);
        let forwarder = self.clone();
        let target = target.to_owned();
        self.inner
            .tasks
            .spawn(async move { queue::run(forwarder, target, notify).await });
    }

    /// Waits for the queues to stop (shutdown was signalled), at most a little more than [`SHUTDOWN_GRACE`].
    pub async fn stopped(&self) {
        self.inner.tasks.close();
        let _ = tokio::time::timeout(SHUTDOWN_GRACE + Duration::from_secs(1), self.inner.tasks.wait()).await;
    }

    /// Sends `request` once as `plan` says, edited and re-signed when it asks.
    pub async fn attempt(&self, request: &StoredRequest, plan: &DeliveryPlan) -> Attempted {
        let started = Instant::now();
        let at_ms = now_ms();
        let prepared = replay::prepare(request, plan, &self.inner.endpoints);
        let (url, result) = match prepared {
            Ok((target, outgoing)) => {
                let result = match self.inner.rules.resolve(&target).await {
                    Ok(address) => self
                        .inner
                        .client
                        .send(address, &outgoing, Duration::from_millis(plan.timeout_ms))
                        .await
                        .map_err(Failure::Unreachable),
                    Err(error) => Err(error.into()),
                };
                (outgoing.url, result)
            }
            Err(failure) => (plan.target.clone(), Err(failure)),
        };
        let mut attempt = NewAttempt {
            request_id: request.id,
            at_ms,
            url,
            kind: plan.kind,
            status: None,
            headers: Vec::new(),
            body: bytes::Bytes::new(),
            body_size: 0,
            duration_ms: client::elapsed_ms(started),
            error: None,
        };
        match &result {
            Ok(answered) => {
                attempt.status = Some(answered.status);
                attempt.headers = answered.headers.clone();
                attempt.body = answered.body.clone();
                attempt.body_size = answered.body_size;
                attempt.error = answered
                    .truncated
                    .then(|| format!("the answer's body was cut at {} bytes", client::MAX_ANSWER_BODY));
            }
            Err(failure) => attempt.error = Some(failure.to_string()),
        }
        Attempted { attempt, result }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }
}

/// The delay before try `tries + 1` of a delivery: 1 s after the first, doubling, at most 5 minutes.
pub fn backoff(tries: u32) -> Duration {
    let doublings = tries.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2u32.pow(doublings)).min(MAX_BACKOFF)
}

/// A plan for delivering a request to `target` as an endpoint's forwarding says.
pub fn plan_for(forwarding: &crate::endpoints::forward::Forwarding, kind: AttemptKind) -> DeliveryPlan {
    DeliveryPlan {
        target: forwarding.target.as_str().to_owned(),
        keep_path: forwarding.keep_path,
        preserve_host: forwarding.preserve_host,
        timeout_ms: u64::try_from(forwarding.timeout.as_millis()).unwrap_or(u64::MAX),
        retries: forwarding.retries,
        kind,
        edits: None,
    }
}

/// Whether a target URL is one hookscope may send to, judged before any name is resolved.
pub fn check_target(rules: &TargetRules, url: &str) -> Result<Target, TargetError> {
    let target = Target::parse(url)?;
    rules.check_literal(&target)?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_one_second_doubling_to_five_minutes() {
        let waits: Vec<u64> = (1..=11).map(|tries| backoff(tries).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }
}
