//! The JSON API under `/_/api/`: list with filters and paging, one request in full, its raw body, deletes, and
//! totals.

use std::collections::HashMap;
use std::sync::Arc;

use hyper::header::{CONTENT_DISPOSITION, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use super::AppState;
use super::error::ApiError;
use super::response::{Body, empty, json, with_body};
use crate::filter::Filter;
use crate::readable::{applies, readable};
use crate::record::{Detail, Summary};
use crate::signatures::reading::OwnedMessage;
use crate::signatures::{Explanation, explain};
use crate::store::{ListQuery, PageStart};

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
    let mut detail = state.store.get(id).await?.ok_or_else(|| not_found(id))?;
    explain_signature(state, &mut detail).await?;
    if !applies(&detail.headers) {
        return Ok(json(StatusCode::OK, &detail));
    }
    // Decompressing up to the body limit is work for a blocking thread, off the tasks serving other connections.
    let limit = usize::try_from(state.config.limits.max_body).unwrap_or(usize::MAX);
    let detail = tokio::task::spawn_blocking(move || {
        let readable = readable(&detail.headers, &detail.body_bytes(), limit);
        detail.decoded = readable.decoded;
        detail.form = readable.form;
        detail
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))?;
    Ok(json(StatusCode::OK, &detail))
}

/// Adds to a signed capture's detail why its signature is what it is, under its endpoint's verification as it is
/// now: computed once per endpoint and capture, on a blocking thread (it may hash a large body many times).
async fn explain_signature(state: &AppState, detail: &mut Detail) -> Result<(), ApiError> {
    if detail.signature_check.is_none() {
        return Ok(());
    }
    let id = detail.summary.id;
    let endpoint = detail
        .summary
        .endpoint
        .as_deref()
        .and_then(|name| state.endpoints.by_name(name));
    if let Some(kept) = endpoint.as_ref().and_then(|endpoint| endpoint.explanation(id)) {
        if let Some(check) = detail.signature_check.as_mut() {
            check.explanation = Some(Explanation::clone(&kept));
        }
        return Ok(());
    }
    let received_at_ms = chrono::DateTime::parse_from_rfc3339(&detail.summary.received_at)
        .map(|time| time.timestamp_millis())
        .unwrap_or_default();
    let message = OwnedMessage {
        headers: detail
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
            .collect(),
        body: detail.body_bytes().into(),
        path: detail.summary.path.clone(),
        query: detail.summary.query.clone(),
        received_at_ms,
    };
    let public_url = state.config.public_url.clone();
    let explanation = tokio::task::spawn_blocking(move || {
        let verification = endpoint.as_ref().and_then(|endpoint| endpoint.verify.as_ref());
        let explanation = Arc::new(message.with(|message| explain(verification, message, public_url.as_deref())));
        if let Some(endpoint) = &endpoint {
            endpoint.keep_explanation(id, Arc::clone(&explanation));
        }
        explanation
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))?;
    if let Some(check) = detail.signature_check.as_mut() {
        check.explanation = Some(Explanation::clone(&explanation));
    }
    Ok(())
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
/// `DELETE /_/api/requests[?FILTERS]`: every request (204), or those the filters match (200 with how many).
pub async fn clear(state: &AppState, raw_query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let filter = Filter::from_query(raw_query.unwrap_or_default())?;
    if filter.is_empty() {
        state.store.clear().await?;
        return Ok(empty(StatusCode::NO_CONTENT));
    }
    let mut ids = Vec::new();
    each_match(state, &filter, usize::MAX, |summary| {
        ids.push(summary.id);
        Ok(())
    })
    .await?;
    let deleted = state.store.delete_many(ids).await?;
    Ok(json(StatusCode::OK, &serde_json::json!({ "deleted": deleted })))
}

/// Visits every request `filter` matches, oldest first, a page at a time, up to `most` of them.
pub async fn each_match(
    state: &AppState,
    filter: &Filter,
    most: usize,
    mut visit: impl FnMut(&Summary) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let mut seen = 0usize;
    let mut from = PageStart::After(0);
    while seen < most {
        let page = state
            .store
            .list(ListQuery {
                filter: filter.clone(),
                limit: MAX_LIMIT.min(most - seen),
                from,
            })
            .await?;
        let Some(last) = page.requests.last() else { break };
        from = PageStart::After(last.id);
        seen += page.requests.len();
        page.requests.iter().try_for_each(&mut visit)?;
    }
    Ok(())
}

/// `GET /_/api/stats`
pub async fn stats(state: &AppState) -> Result<Response<Body>, ApiError> {
    /// The store's totals, and the requests refused since start, which are no captures and live outside it.
    #[derive(serde::Serialize)]
    struct WithRefusals {
        #[serde(flatten)]
        stats: crate::store::Stats,
        refused: std::collections::BTreeMap<super::refusals::Reason, u64>,
    }
    let stats = state.store.stats().await?;
    let refused = state.refusals.counts();
    Ok(json(StatusCode::OK, &WithRefusals { stats, refused }))
}

/// `GET /_/api/refused[?limit=N]`: the counts by reason and the newest refusals (all that are kept, 1,000, unless
/// `limit` asks for fewer; `limit=0` for the counts alone).
pub fn refused(state: &AppState, raw_query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let limit = match form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes()).find(|(name, _)| name == "limit")
    {
        None => super::refusals::KEPT,
        Some((_, value)) => value
            .parse::<usize>()
            .ok()
            .filter(|limit| *limit <= super::refusals::KEPT)
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit={value:?} is not allowed; expected a whole number from 0 to {}",
                    super::refusals::KEPT
                ))
            })?,
    };
    Ok(json(StatusCode::OK, &state.refusals.report(limit)))
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

/// Parses the list parameters: the filter's, `limit` and `before`. A value a parameter does not take is a 400
/// naming it.
pub fn parse_list_query(raw: &str) -> Result<ListQuery, ApiError> {
    let filter = Filter::from_query(raw)?;
    let params: HashMap<String, String> = form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let bad = |name: &str, expected: &str| {
        ApiError::BadRequest(format!(
            "{name}={:?} is not allowed; expected {expected}",
            params.get(name).map(String::as_str).unwrap_or_default()
        ))
    };
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(value) => value
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| bad("limit", &format!("a whole number from 1 to {MAX_LIMIT}")))?,
    };
    let from = match params.get("before").map(String::as_str) {
        None | Some("") => PageStart::Newest,
        Some(value) => PageStart::Before(
            value
                .parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| bad("before", "a request id"))?,
        ),
    };
    Ok(ListQuery { filter, limit, from })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_parameters() {
        let query = parse_list_query("").expect("empty query is fine");
        assert_eq!(query.limit, DEFAULT_LIMIT);
        assert_eq!(query.from, PageStart::Newest);
        assert!(query.filter.is_empty());
    }

    #[test]
    fn unknown_values_are_refused() {
        for raw in [
            "valid=maybe",
            "envelope=bo%20gus",
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
    fn paging_is_decoded_beside_the_filter() {
        let query = parse_list_query("limit=7&before=40&valid=false").expect("valid query");
        assert_eq!(query.limit, 7);
        assert_eq!(query.from, PageStart::Before(40));
        assert_eq!(query.filter.valid, Some(false));
    }
}
