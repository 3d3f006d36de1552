//! Replay: `POST /_/api/requests/{id}/replay` sends one stored request again, now, and answers the recorded
//! attempt; `POST /_/api/replay?FILTERS` queues every matching request, in capture order, in its target's outbox
//! queue and answers how many. A body may change what is sent: `{url, headers, body, resign}` (the bulk form takes
//! `url` and `resign`). The target defaults to the request's endpoint's forward URL.

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::response::{Body, json};
use crate::filter::Filter;
use crate::forward::{Failure, check_target, plan_for};
use crate::record::{Attempt, AttemptKind, AttemptOutcome, DeliveryPlan, ForwardState, ReplayEdits};

/// The most requests one bulk replay queues.
pub const MAX_BULK: usize = 10_000;

/// A replay's changes, as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Replay {
    /// Where to send it, instead of the endpoint's forward URL.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: Option<Vec<(String, String)>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    resign: bool,
}

/// Whether a path is the replay API's.
pub fn is_replay_path(path: &str) -> bool {
    path == "/_/api/replay"
        || path
            .strip_prefix("/_/api/requests/")
            .and_then(|rest| rest.strip_suffix("/replay"))
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// Serves the replay API.
pub async fn route(state: &AppState, request: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    if request.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed {
            method: request.method().to_string(),
            allow: "POST",
        });
    }
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let replay = read_replay(request).await?;
    match path
        .strip_prefix("/_/api/requests/")
        .and_then(|rest| rest.strip_suffix("/replay"))
    {
        Some(id) => one(state, super::api::parse_id(id)?, replay).await,
        None => bulk(state, &query, replay).await,
    }
}

async fn read_replay(request: Request<Incoming>) -> Result<Replay, ApiError> {
    let value = super::endpoints_api::read_json_or_empty(request).await?;
    serde_json::from_value(value).map_err(|error| ApiError::Invalid {
        message: error.to_string(),
        pointer: String::new(),
    })
}

/// Where a request goes: the replay's URL, or its endpoint's forwarding; `None` when it has neither.
fn plan(state: &AppState, endpoint: Option<&str>, replay: &Replay) -> Result<Option<DeliveryPlan>, ApiError> {
    let forwarding = endpoint
        .and_then(|name| state.endpoints.by_name(name))
        .and_then(|endpoint| endpoint.forward.clone());
    let mut plan = match (&replay.url, &forwarding) {
        (Some(url), _) => {
            check_target(state.forwarder.rules(), url).map_err(|error| ApiError::Invalid {
                message: error.to_string(),
                pointer: "/url".to_owned(),
            })?;
            let mut plan = forwarding
                .as_ref()
                .map(|forwarding| plan_for(forwarding, AttemptKind::Replay))
                .unwrap_or_else(|| DeliveryPlan {
                    target: String::new(),
                    keep_path: false,
                    preserve_host: false,
                    timeout_ms: 10_000,
                    retries: 10,
                    kind: AttemptKind::Replay,
                    edits: None,
                });
            plan.target = url.trim().to_owned();
            plan.keep_path = false;
            plan
        }
        (None, Some(forwarding)) => plan_for(forwarding, AttemptKind::Replay),
        (None, None) => return Ok(None),
    };
    if replay.headers.is_some() || replay.body.is_some() || replay.resign {
        plan.edits = Some(ReplayEdits {
            headers: replay.headers.clone(),
            body: replay.body.clone(),
            resign: replay.resign,
        });
    }
    Ok(Some(plan))
}

async fn one(state: &AppState, id: i64, replay: Replay) -> Result<Response<Body>, ApiError> {
    let request = state
        .store
        .stored_request(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no request with id {id}")))?;
    let plan = plan(state, request.endpoint.as_deref(), &replay)?.ok_or_else(|| ApiError::Invalid {
        message: "no target: give url, or a forward URL to the request's endpoint".to_owned(),
        pointer: "/url".to_owned(),
    })?;
    let attempted = state.forwarder.attempt(&request, &plan).await;
    if let Err(Failure::Refused(why)) = &attempted.result {
        return Err(ApiError::Invalid {
            message: why.clone(),
            pointer: String::new(),
        });
    }
    let forward = match &attempted.result {
        Ok(answered) if (200..300).contains(&answered.status) => ForwardState::Ok,
        _ => ForwardState::Failed,
    };
    let attempt = &attempted.attempt;
    let shown = Attempt::new(
        attempt.at_ms,
        attempt.url.clone(),
        attempt.kind,
        attempt.status,
        &attempt.headers,
        &attempt.body,
        attempt.body_size,
        attempt.duration_ms,
        attempt.error.clone(),
    );
    state
        .store
        .record_attempt(AttemptOutcome {
            attempt: attempted.attempt,
            delivery: None,
            forward,
            response: None,
        })
        .await?;
    Ok(json(StatusCode::OK, &shown))
}

async fn bulk(state: &AppState, query: &str, replay: Replay) -> Result<Response<Body>, ApiError> {
    if replay.headers.is_some() || replay.body.is_some() {
        return Err(ApiError::Invalid {
            message: "a replay of many requests takes url and resign only".to_owned(),
            pointer: String::new(),
        });
    }
    let filter = Filter::from_query(query)?;
    let mut plans = Vec::new();
    let mut skipped = 0usize;
    super::api::each_match(state, &filter, MAX_BULK, |summary| {
        match plan(state, summary.endpoint.as_deref(), &replay)? {
            Some(plan) => plans.push((summary.id, plan)),
            None => skipped += 1,
        }
        Ok(())
    })
    .await?;
    let mut targets: Vec<String> = plans.iter().map(|(_, plan)| plan.target.clone()).collect();
    targets.sort();
    targets.dedup();
    let queued = state.store.queue_deliveries(plans).await?;
    for target in &targets {
        state.forwarder.wake(target);
    }
    Ok(json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "queued": queued, "skipped": skipped }),
    ))
}
