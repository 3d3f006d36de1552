//! The profiles API under `/_/api/profiles`: every profile (the built-ins, read-only, then the custom ones in the
//! order they apply), create (201), read, replace (`PUT`), change (`PATCH`, a JSON merge patch) and delete (204) a
//! custom profile by name. Profiles made here are stored and outlive a restart; the configuration file's are
//! read-only here (409). A field that cannot be used is a 400 naming it by JSON pointer; a schema is inline JSON
//! only (`schema_file` is for the configuration file).

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;

use super::AppState;
use super::endpoints_api::{merge_patch, read_json};
use super::error::ApiError;
use super::response::{Body, empty, json};
use crate::profiles::registry;
use crate::profiles::set::{Defined, ProfileSource};
use crate::profiles::spec::{Origin, ProfileSpec};

/// The most custom profiles.
pub const MAX_PROFILES: usize = 100;

/// A built-in profile as the API shows it.
fn built_in_view(name: &str) -> Value {
    serde_json::json!({ "name": name, "source": "builtin" })
}

/// A custom profile as the API shows it: as written, and where it was defined.
fn custom_view(defined: &Defined) -> Value {
    let mut view = serde_json::to_value(&defined.spec).unwrap_or_else(|_| serde_json::json!({}));
    if let Value::Object(members) = &mut view {
        let source = match defined.source {
            ProfileSource::File => "file",
            ProfileSource::Api => "api",
        };
        members.insert("source".to_owned(), Value::from(source));
    }
    view
}

/// Serves everything under `/_/api/profiles`.
pub async fn route(state: &AppState, request: Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let rest: Vec<&str> = path
        .trim_start_matches("/_/api/profiles")
        .split('/')
        .filter(|segment| !segment.is_empty())
        .collect();
    let not_allowed = |allow: &'static str| ApiError::MethodNotAllowed {
        method: method.to_string(),
        allow,
    };
    match (rest.as_slice(), &method) {
        ([], &Method::GET | &Method::HEAD) => {
            let mut list: Vec<Value> = registry::names().map(built_in_view).collect();
            list.extend(state.profiles.snapshot().iter().map(|defined| custom_view(defined)));
            Ok(json(StatusCode::OK, &serde_json::json!({ "profiles": list })))
        }
        ([], &Method::POST) => {
            let value = read_json(request).await?;
            save(state, None, |_| Ok(value)).await
        }
        ([], _) => Err(not_allowed("GET, HEAD, POST")),
        ([name], _) => {
            let name = (*name).to_owned();
            match method {
                Method::GET | Method::HEAD => {
                    if registry::by_name(&name).is_some() {
                        return Ok(json(StatusCode::OK, &built_in_view(&name)));
                    }
                    let defined = found(state, &name)?;
                    Ok(json(StatusCode::OK, &custom_view(&defined)))
                }
                Method::PUT => {
                    let value = read_json(request).await?;
                    save(state, Some(&name), |_| Ok(value)).await
                }
                Method::PATCH => {
                    let patch = read_json(request).await?;
                    save(state, Some(&name), |current| {
                        let current = current.ok_or_else(|| ApiError::NotFound(format!("no profile named {name}")))?;
                        let mut spec =
                            serde_json::to_value(&current.spec).map_err(|error| ApiError::Internal(error.into()))?;
                        merge_patch(&mut spec, patch);
                        Ok(spec)
                    })
                    .await
                }
                Method::DELETE => delete(state, &name).await,
                _ => Err(not_allowed("GET, HEAD, PUT, PATCH, DELETE")),
            }
        }
        _ => Err(ApiError::NotFound(format!("{path} is not part of the profiles API"))),
    }
}

fn found(state: &AppState, name: &str) -> Result<Arc<Defined>, ApiError> {
    state
        .profiles
        .snapshot()
        .iter()
        .find(|defined| defined.spec.name == name)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("no profile named {name}")))
}

/// Refuses to change a profile that is not the API's to change.
fn writable(name: &str, defined: Option<&Defined>) -> Result<(), ApiError> {
    if registry::by_name(name).is_some() {
        return Err(ApiError::Conflict(format!(
            "{name} is a built-in profile, and read-only"
        )));
    }
    if defined.is_some_and(|defined| defined.source == ProfileSource::File) {
        return Err(ApiError::Conflict(format!(
            "profile {name} comes from the configuration file; change it there"
        )));
    }
    Ok(())
}

/// Creates a profile (`current` is `None`) or replaces the one named `current` by what `make` makes of it.
async fn save(
    state: &AppState,
    current: Option<&str>,
    make: impl FnOnce(Option<&Defined>) -> Result<Value, ApiError>,
) -> Result<Response<Body>, ApiError> {
    let _changing = state.endpoint_changes.lock().await;
    let before = match current {
        Some(name) => {
            writable(name, None)?;
            let defined = found(state, name)?;
            writable(name, Some(&defined))?;
            Some(defined)
        }
        None => None,
    };
    let value = make(before.as_deref())?;
    let spec: ProfileSpec = serde_json::from_value(value).map_err(|error| ApiError::Invalid {
        message: error.to_string(),
        pointer: String::new(),
    })?;
    let profile = spec.build(Origin::Api).map_err(|error| ApiError::Invalid {
        message: error.message,
        pointer: error.pointer,
    })?;
    let taken = state
        .profiles
        .snapshot()
        .iter()
        .any(|defined| defined.spec.name == spec.name && Some(defined.spec.name.as_str()) != current);
    if taken {
        return Err(ApiError::Conflict(format!(
            "another profile is already named {}",
            spec.name
        )));
    }
    if before.is_none() && state.profiles.snapshot().len() >= MAX_PROFILES {
        return Err(ApiError::Invalid {
            message: format!("at most {MAX_PROFILES} custom profiles"),
            pointer: String::new(),
        });
    }
    let text = serde_json::to_string(&spec).map_err(|error| ApiError::Internal(error.into()))?;
    if let Some(old) = current.filter(|old| *old != spec.name) {
        state.store.delete_profile(old.to_owned()).await?;
    }
    state.store.save_profile(spec.name.clone(), text).await?;
    let defined = Arc::new(Defined {
        profile: Arc::new(profile),
        spec,
        source: ProfileSource::Api,
    });
    let view = custom_view(&defined);
    state.profiles.change(
        |list| match current.and_then(|old| list.iter().position(|d| d.spec.name == old)) {
            Some(at) => list[at] = defined,
            None => list.push(defined),
        },
    );
    let status = if current.is_some() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(json(status, &view))
}

async fn delete(state: &AppState, name: &str) -> Result<Response<Body>, ApiError> {
    let _changing = state.endpoint_changes.lock().await;
    writable(name, None)?;
    let defined = found(state, name)?;
    writable(name, Some(&defined))?;
    state.store.delete_profile(name.to_owned()).await?;
    state
        .profiles
        .change(|list| list.retain(|other| other.spec.name != name));
    Ok(empty(StatusCode::NO_CONTENT))
}
