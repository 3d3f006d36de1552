//! The JSON API under `/_/api/`: list with filters and paging, one request in full, its raw body, deletes, and
//! totals.

use std::collections::HashMap;

use hyper::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use super::AppState;
use super::error::ApiError;
use super::response::{Body, empty, json, with_body};
use crate::profiles::registry;
use crate::store::{EnvelopeFilter, ListQuery};

/// Page size when none is asked for.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page; bigger pages would make one API call hold a reader for long.
pub const MAX_LIMIT: usize = 500;

/// `GET /_/api/requests`
pub async fn list(state: &AppState, raw_query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let query = parse_list_query(raw_query.unwrap_or_default())?;
    let page = state.store.list(query).await?;
    Ok(json(StatusCode::OK, &page))
}

/// `GET /_/api/requests/{id}`
pub async fn detail(state: &AppState, id: i64) -> Result<Response<Body>, ApiError> {
    let detail = state.store.get(id).await?.ok_or_else(|| not_found(id))?;
    Ok(json(StatusCode::OK, &detail))
}

/// `GET /_/api/requests/{id}/body`: the raw bytes as a download that a browser never renders as a page.
pub async fn raw_body(state: &AppState, id: i64) -> Result<Response<Body>, ApiError> {
    let body = state.store.body(id).await?.ok_or_else(|| not_found(id))?;
    let mut response = with_body(StatusCode::OK, "application/octet-stream", body.bytes);
    let headers = response.headers_mut();
    // The sender's content type is offered as a hint only; `nosniff` and the attachment disposition keep a
    // browser from acting on it, and `sandbox` disarms the page even if one opens it.
    if let Some(value) = body.content_type.and_then(|ct| HeaderValue::from_str(&ct).ok()) {
        headers.insert(CONTENT_TYPE, value);
    }
    let disposition = format!("attachment; filename=\"request-{id}.body\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    headers.insert("content-security-policy", HeaderValue::from_static("sandbox"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    Ok(response)
}

/// `DELETE /_/api/requests/{id}`
pub async fn delete(state: &AppState, id: i64) -> Result<Response<Body>, ApiError> {
    if state.store.delete(id).await? {
        Ok(empty(StatusCode::NO_CONTENT))
    } else {
        Err(not_found(id))
    }
}

/// `DELETE /_/api/requests`
pub async fn clear(state: &AppState) -> Result<Response<Body>, ApiError> {
    state.store.clear().await?;
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `GET /_/api/stats`
pub async fn stats(state: &AppState) -> Result<Response<Body>, ApiError> {
    let stats = state.store.stats().await?;
    Ok(json(StatusCode::OK, &stats))
}

/// Parses a request id from a path segment.
pub fn parse_id(segment: &str) -> Result<i64, ApiError> {
    segment
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::BadRequest(format!("{segment:?} is not a request id (a positive integer)")))
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("no request with id {id}"))
}

/// Parses the list parameters; an unknown parameter value is a 400 naming it.
pub fn parse_list_query(raw: &str) -> Result<ListQuery, ApiError> {
    let params: HashMap<String, String> = form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let bad = |name: &str, expected: &str| {
        ApiError::BadRequest(format!(
            "{name}={:?} is not allowed; expected {expected}",
            params.get(name).map(String::as_str).unwrap_or_default()
        ))
    };
    let boolean = |name: &str| -> Result<Option<bool>, ApiError> {
        match params.get(name).map(String::as_str) {
            None | Some("") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(bad(name, "true or false")),
        }
    };
    let text = |name: &str| params.get(name).filter(|value| !value.is_empty()).cloned();

    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(value) => value
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| bad("limit", &format!("a whole number from 1 to {MAX_LIMIT}")))?,
    };
    let before = match params.get("before").map(String::as_str) {
        None | Some("") => None,
        Some(value) => Some(
            value
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| bad("before", "a request id"))?,
        ),
    };
    let envelope = match params.get("envelope").map(String::as_str) {
        None | Some("") => None,
        Some("none") => Some(EnvelopeFilter::None),
        Some(name) => match registry::by_name(name) {
            Some(profile) => Some(EnvelopeFilter::Is(profile.name().to_owned())),
            None => {
                let names: Vec<&str> = registry::names().chain(["none"]).collect();
                return Err(bad("envelope", &format!("one of {}", names.join(", "))));
            }
        },
    };
    Ok(ListQuery {
        limit,
        before,
        method: text("method").map(|method| method.to_ascii_uppercase()),
        path_prefix: text("path"),
        envelope,
        valid: boolean("valid")?,
        duplicate: boolean("duplicate")?,
        event: text("event"),
        text: text("q"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_parameters() {
        let query = parse_list_query("").expect("empty query is fine");
        assert_eq!(query.limit, DEFAULT_LIMIT);
        assert!(query.before.is_none() && query.valid.is_none() && query.envelope.is_none());
    }

    #[test]
    fn unknown_values_are_refused() {
        for raw in [
            "valid=maybe",
            "envelope=bogus",
            "limit=0",
            "limit=501",
            "limit=x",
            "before=-1",
            "duplicate=1",
        ] {
            assert!(parse_list_query(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn filters_are_decoded() {
        let query =
            parse_list_query("method=post&path=%2Fhooks&envelope=none&valid=false&duplicate=true&event=user.new&q=A+b")
                .expect("valid query");
        assert_eq!(query.method.as_deref(), Some("POST"));
        assert_eq!(query.path_prefix.as_deref(), Some("/hooks"));
        assert_eq!(query.envelope, Some(EnvelopeFilter::None));
        assert_eq!(query.valid, Some(false));
        assert_eq!(query.duplicate, Some(true));
        assert_eq!(query.event.as_deref(), Some("user.new"));
        assert_eq!(query.text.as_deref(), Some("A b"));
    }
}
