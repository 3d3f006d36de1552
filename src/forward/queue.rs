//! One target's queue: its pending deliveries in order of capture, one at a time. A delivery waiting out its
//! backoff holds back the later ones, so an app that was down gets every delivery in order once it is up. It runs
//! as one task (no thread) until shutdown, reading the outbox for its next delivery each time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::{Attempted, Failure, Forwarder, SHUTDOWN_GRACE, backoff};
use crate::record::{AttemptOutcome, Delivery, ForwardState, Settled, now_ms};

/// How long the queue waits before reading the outbox again after the store failed.
const STORE_RETRY: Duration = Duration::from_secs(1);

pub(super) async fn run(forwarder: Forwarder, target: String, notify: Arc<Notify>) {
    let shutdown = forwarder.shutdown().clone();
    loop {
        // Registered before reading, so a delivery stored meanwhile still wakes the queue.
        let woken = notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let next = match forwarder.store().next_delivery(target.clone()).await {
            Ok(next) => next,
            Err(error) => {
                if shutdown.is_cancelled() {
                    return;
                }
                tracing::warn!(%error, "the outbox could not be read; trying again in a second");
                tokio::time::sleep(STORE_RETRY).await;
                continue;
            }
        };
        let Some(delivery) = next else {
            tokio::select! {
                () = &mut woken => continue,
                () = shutdown.cancelled() => return,
            }
        };
        let wait = delivery.next_at_ms.saturating_sub(now_ms());
        if wait > 0 {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))) => {}
                // A deleted head leaves the queue: read again.
                () = &mut woken => {}
                () = shutdown.cancelled() => return,
            }
            continue;
        }
        if shutdown.is_cancelled() {
            return;
        }
        if !deliver(&forwarder, &delivery).await {
            return;
        }
    }
}

/// Tries a delivery once and records the outcome; `false` when shutdown cut the try short (it stays pending).
async fn deliver(forwarder: &Forwarder, delivery: &Delivery) -> bool {
    let request = match forwarder.store().stored_request(delivery.request_id).await {
        Ok(Some(request)) => request,
        // Deleted or evicted meanwhile: its delivery goes too, and the queue moves on.
        Ok(None) => {
            if let Err(error) = forwarder.store().drop_delivery(delivery.id).await {
                tracing::warn!(%error, "a delivery of a request no longer stored could not be dropped");
                tokio::time::sleep(STORE_RETRY).await;
            }
            return true;
        }
        Err(error) => {
            tracing::warn!(%error, "a request to deliver could not be read; trying again in a second");
            tokio::time::sleep(STORE_RETRY).await;
            return true;
        }
    };
    let shutdown = forwarder.shutdown().clone();
    let grace = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    let attempted = tokio::select! {
        attempted = forwarder.attempt(&request, &delivery.plan) => attempted,
        () = grace => return false,
    };
    let tries = delivery.tries + 1;
    let settled = settle(&attempted, tries, delivery.plan.retries);
    let outcome = AttemptOutcome {
        attempt: attempted.attempt,
        delivery: Some((delivery.id, tries, settled)),
        forward: match settled {
            Settled::Done(state) => state,
            Settled::Retry { .. } => ForwardState::Pending,
        },
        response: None,
    };
    if let Err(error) = forwarder.store().record_attempt(outcome).await {
        // Not recorded: the delivery stays pending and is tried again (at least once).
        tracing::warn!(%error, "a delivery attempt could not be recorded");
        tokio::time::sleep(STORE_RETRY).await;
    }
    true
}

/// What becomes of a delivery after its `tries`-th try: done on a 2xx, and on an answer that trying again would not
/// change; retried on no answer or a 5xx while tries are left.
fn settle(attempted: &Attempted, tries: u32, retries: u32) -> Settled {
    let retry = || {
        if tries <= retries {
            let at_ms = now_ms().saturating_add(i64::try_from(backoff(tries).as_millis()).unwrap_or(i64::MAX));
            Settled::Retry { at_ms }
        } else {
            Settled::Done(ForwardState::Failed)
        }
    };
    match &attempted.result {
        Ok(answered) if (200..300).contains(&answered.status) => Settled::Done(ForwardState::Ok),
        Ok(answered) if answered.status >= 500 => retry(),
        Ok(_) => Settled::Done(ForwardState::Failed),
        Err(Failure::Unreachable(_)) => retry(),
        Err(Failure::Refused(_)) => Settled::Done(ForwardState::Failed),
    }
}
