//! The endpoints API under `/_/api/endpoints`: list, create (201), read, replace (`PUT`), change (`PATCH`, a JSON
//! merge patch), delete (204), and `POST /{id}/reset` to start an endpoint's steps again. Endpoints made here are
//! stored and outlive a restart; those of the configuration file and of `--respond` are read-only here (409). A
//! field that cannot be used is a 400 naming it by JSON pointer.

use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use super::response::{Body, empty, json};
use crate::endpoints::spec::EndpointSpec;
use crate::endpoints::{Endpoint, MAX_ENDPOINTS, Source, StatsView};
use crate::forward::target::TargetRules;
use crate::profiles::Profiles;
use crate::signatures::Verification;

/// The largest request body the API reads: a hundred steps of 64 KiB bodies, and room for the rest.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// An endpoint as the API shows it.
#[derive(Serialize)]
struct View {
    id: i64,
    #[serde(flatten)]
    spec: EndpointSpec,
    source: Source,
    stats: StatsView,
}

fn view(endpoint: &Endpoint) -> View {
    View {
        id: endpoint.id,
        spec: endpoint.shown_spec(),
        source: endpoint.source,
        stats: endpoint.stats(),
    }
}

/// Serves everything under `/_/api/endpoints`.
pub async fn route(state: &AppState, request: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let rest: Vec<&str> = path
        .trim_start_matches("/_/api/endpoints")
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let not_allowed = |allow: &'static str| ApiError::MethodNotAllowed {
        method: method.to_string(),
        allow,
    };
    match (rest.as_slice(), &method) {
        ([], &Method::GET | &Method::HEAD) => {
            let list: Vec<View> = state
                .endpoints
                .snapshot()
                .iter()
                .map(|endpoint| view(endpoint))
                .collect();
            Ok(json(StatusCode::OK, &serde_json::json!({ "endpoints": list })))
        }
        ([], &Method::POST) => create(state, read_json(request).await?).await,
        ([], _) => Err(not_allowed("GET, HEAD, POST")),
        ([id], _) => match method {
            Method::GET | Method::HEAD => Ok(json(StatusCode::OK, &view(&*found(state, id)?))),
            Method::PUT => {
                let body = read_json(request).await?;
                replace(state, id, |_| Ok(body)).await
            }
            Method::PATCH => {
                let patch = read_json(request).await?;
                replace(state, id, |current| {
                    let mut spec =
                        serde_json::to_value(current.spec()).map_err(|error| ApiError::Internal(error.into()))?;
                    merge_patch(&mut spec, patch);
                    Ok(spec)
                })
                .await
            }
            Method::DELETE => delete(state, id).await,
            _ => Err(not_allowed("GET, HEAD, PUT, PATCH, DELETE")),
        },
        ([id, "reset"], &Method::POST) => {
            found(state, id)?.reset();
            Ok(empty(StatusCode::NO_CONTENT))
        }
        ([_, "reset"], _) => Err(not_allowed("POST")),
        _ => Err(ApiError::NotFound(format!("{path} is not part of the endpoints API"))),
    }
}

fn found(state: &AppState, id: &str) -> Result<Arc<Endpoint>, ApiError> {
    let id = super::api::parse_id(id)?;
    state
        .endpoints
        .get(id)
        .ok_or_else(|| ApiError::NotFound(format!("no endpoint with id {id}")))
}

/// Reads a JSON body; an empty body reads as `{}`.
pub(super) async fn read_json_or_empty(request: Request<Incoming>) -> Result<Value, ApiError> {
    let bytes = read_bytes(request).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(serde_json::Map::new()));
    }
    parse_json(&bytes)
}

async fn read_bytes(request: Request<Incoming>) -> Result<bytes::Bytes, ApiError> {
    Ok(Limited::new(request.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "the body is larger than {MAX_BODY} bytes, or could not be read"
            ))
        })?
        .to_bytes())
}

fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| ApiError::Invalid {
        message: format!("the body is not JSON: {error}"),
        pointer: String::new(),
    })
}

pub(super) async fn read_json(request: Request<Incoming>) -> Result<Value, ApiError> {
    parse_json(&read_bytes(request).await?)
}

/// Reads and checks an endpoint as sent; a secret sent back masked keeps the one of `current` it masks.
fn checked(
    value: Value,
    current: Option<&Verification>,
    rules: &TargetRules,
    profiles: &Profiles,
) -> Result<(EndpointSpec, Endpoint), ApiError> {
    let mut spec: EndpointSpec = serde_json::from_value(value).map_err(|error| ApiError::Invalid {
        message: error.to_string(),
        pointer: String::new(),
    })?;
    if let (Some(verify), Some(current)) = (spec.verify.as_mut(), current) {
        verify.unmask(current);
    }
    let endpoint = spec.build(Source::Api).map_err(|error| ApiError::Invalid {
        message: error.message,
        pointer: error.pointer,
    })?;
    if let Some(name) = &endpoint.profile
        && profiles.by_name(name).is_none()
    {
        return Err(ApiError::Invalid {
            message: format!("no such profile; one of {}", profiles.names().join(", ")),
            pointer: "/profile".to_owned(),
        });
    }
    if let Some(forwarding) = &endpoint.forward {
        rules
            .check_literal(&forwarding.target)
            .map_err(|error| ApiError::Invalid {
                message: error.to_string(),
                pointer: "/forward/url".to_owned(),
            })?;
    }
    Ok((spec, endpoint))
}

fn name_taken(state: &AppState, name: &str, except: Option<i64>) -> Result<(), ApiError> {
    if crate::endpoints::is_flag_name(name) {
        return Err(ApiError::Invalid {
            message: "the names respond-1, respond-2, ... belong to --respond".to_owned(),
            pointer: "/name".to_owned(),
        });
    }
    let taken = state
        .endpoints
        .snapshot()
        .iter()
        .any(|endpoint| endpoint.name == name && Some(endpoint.id) != except);
    if taken {
        return Err(ApiError::Conflict(format!("another endpoint is already named {name}")));
    }
    Ok(())
}

async fn create(state: &AppState, value: Value) -> Result<Response<Body>, ApiError> {
    // One change at a time, so that two creates cannot both take a name.
    let _changing = state.endpoint_changes.lock().await;
    if state.endpoints.snapshot().len() >= MAX_ENDPOINTS {
        return Err(ApiError::Invalid {
            message: format!("at most {MAX_ENDPOINTS} endpoints"),
            pointer: String::new(),
        });
    }
    let (spec, mut endpoint) = checked(value, None, state.forwarder.rules(), &state.profiles)?;
    name_taken(state, &spec.name, None)?;
    endpoint.id = state.endpoints.allocate_id();
    let text = serde_json::to_string(&endpoint.spec()).map_err(|error| ApiError::Internal(error.into()))?;
    state.store.save_endpoint(endpoint.id, spec.name.clone(), text).await?;
    let endpoint = Arc::new(endpoint);
    state.endpoints.change(|list| list.push(Arc::clone(&endpoint)));
    Ok(json(StatusCode::CREATED, &view(&endpoint)))
}

/// Refuses to change an endpoint that is not the API's to change, saying where to change it.
fn writable(state: &AppState, endpoint: &Endpoint) -> Result<(), ApiError> {
    match endpoint.source {
        Source::Api => Ok(()),
        Source::File => Err(ApiError::Conflict(format!(
            "endpoint {} comes from the configuration file {}; change it there",
            endpoint.name,
            state
                .config
                .file
                .as_ref()
                .map_or_else(|| "hookscope.toml".to_owned(), |file| file.path.display().to_string())
        ))),
        Source::Flag => Err(ApiError::Conflict(format!(
            "endpoint {} comes from --respond on the command line; change it there",
            endpoint.name
        ))),
    }
}

/// Replaces endpoint `id` by what `make` makes of it as it is once the change may go ahead (so that a change
/// finishing meanwhile is neither lost nor undone).
async fn replace(
    state: &AppState,
    id: &str,
    make: impl FnOnce(&Endpoint) -> Result<Value, ApiError>,
) -> Result<Response<Body>, ApiError> {
    let _changing = state.endpoint_changes.lock().await;
    let current = found(state, id)?;
    writable(state, &current)?;
    let (spec, mut endpoint) = checked(
        make(&current)?,
        current.verify.as_ref(),
        state.forwarder.rules(),
        &state.profiles,
    )?;
    name_taken(state, &spec.name, Some(current.id))?;
    endpoint.id = current.id;
    let text = serde_json::to_string(&endpoint.spec()).map_err(|error| ApiError::Internal(error.into()))?;
    state.store.save_endpoint(endpoint.id, spec.name.clone(), text).await?;
    // A new endpoint in its place: its steps start again.
    let endpoint = Arc::new(endpoint);
    state.endpoints.change(|list| {
        list.retain(|other| other.id != endpoint.id);
        list.push(Arc::clone(&endpoint));
    });
    Ok(json(StatusCode::OK, &view(&endpoint)))
}

async fn delete(state: &AppState, id: &str) -> Result<Response<Body>, ApiError> {
    let _changing = state.endpoint_changes.lock().await;
    let endpoint = found(state, id)?;
    writable(state, &endpoint)?;
    state.store.delete_endpoint(endpoint.id).await?;
    state
        .endpoints
        .change(|list| list.retain(|other| other.id != endpoint.id));
    Ok(empty(StatusCode::NO_CONTENT))
}

/// Applies a JSON merge patch (RFC 7396): members set to `null` are removed, objects merge, anything else replaces.
pub(super) fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(members) => {
            if !target.is_object() {
                *target = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(object) = target {
                for (name, value) in members {
                    if value.is_null() {
                        object.remove(&name);
                    } else {
                        merge_patch(object.entry(name).or_insert(Value::Null), value);
                    }
                }
            }
        }
        other => *target = other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_patch_merges_objects_removes_nulls_and_replaces_the_rest() {
        let mut target = serde_json::json!({"a": {"b": 1, "c": 2}, "d": [1], "e": true});
        merge_patch(
            &mut target,
            serde_json::json!({"a": {"b": null, "x": 3}, "d": [2], "e": null}),
        );
        assert_eq!(target, serde_json::json!({"a": {"c": 2, "x": 3}, "d": [2]}));
    }
}
