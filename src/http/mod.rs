//! The HTTP side: one entry point that routes a request to capture, the JSON API, or the inspector page.
//! Everything under `/_/` belongs to hookscope; everything else (but the page at `/`) is captured.

mod access;
mod api;
mod assets;
mod capture;
pub mod capture_log;
mod endpoints_api;
mod error;
mod export;
mod import;
pub mod origin;
mod page;
mod profiles_api;
mod proxy;
mod qr;
pub mod refusals;
mod replay_api;
pub mod response;

use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio_util::sync::CancellationToken;

pub use error::ApiError;
pub use page::sample_curl;
use refusals::{Reason, Refusal};
use response::{Body, harden, json};

use crate::config::{Config, Limits};
use crate::live::{self, Hub};
use crate::store::Store;

/// What every handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// Where live viewers subscribe.
    pub live: Hub,
    pub config: Arc<Config>,
    /// Cancelled when the server begins to shut down, so long-lived responses (the live stream) end and let
    /// their connections close.
    pub shutdown: CancellationToken,
    /// Which captures get a log line of their own.
    pub capture_log: Arc<capture_log::CaptureLog>,
    /// The requests refused since start.
    pub refusals: Arc<refusals::Refusals>,
    /// The endpoints, and where each is in its answer steps.
    pub endpoints: Arc<crate::endpoints::Endpoints>,
    /// Held while the endpoints API changes the set, so that two changes cannot both take one name.
    pub endpoint_changes: Arc<tokio::sync::Mutex<()>>,
    /// The custom profiles (the built-ins are static).
    pub profiles: Arc<crate::profiles::Profiles>,
    /// Delivers requests to their endpoints' targets, and replays them.
    pub forwarder: crate::forward::Forwarder,
    /// The origin the page shows for hooks (see `origin.rs`); `None`: the Host the browser used.
    pub advertised_origin: Option<Arc<str>>,
}

/// Serves one request.
pub async fn handle(state: AppState, request: Request<Incoming>, remote: SocketAddr) -> Response<Body> {
    if let Some((reason, message)) = over_header_limits(&state.config.limits, &request) {
        state.refusals.record(Refusal::of_request(
            remote,
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.as_u16(),
            reason,
            message.clone(),
            request.method(),
            request.uri().path(),
            request.headers(),
        ));
        return ApiError::HeadersTooLarge(message).into_response();
    }
    let path = request.uri().path();
    let is_page = path == "/" && matches!(*request.method(), Method::GET | Method::HEAD);
    if !is_page && !path.starts_with("/_/") {
        return capture::capture(&state, request, remote)
            .await
            .unwrap_or_else(ApiError::into_response);
    }
    let config = &state.config;
    let checked = access::check(
        &config.access,
        config.listen,
        request.method(),
        request.uri(),
        request.headers(),
    );
    let mut response = match checked {
        Ok(Some(early)) => early,
        Ok(None) if is_endpoints_api(request.uri().path()) => endpoints_api::route(&state, request)
            .await
            .unwrap_or_else(ApiError::into_response),
        Ok(None) if is_api_under(request.uri().path(), "/_/api/profiles") => profiles_api::route(&state, request)
            .await
            .unwrap_or_else(ApiError::into_response),
        Ok(None) if request.uri().path() == "/_/api/import" && request.method() == Method::POST => {
            import::import(&state, request)
                .await
                .unwrap_or_else(ApiError::into_response)
        }
        Ok(None) if replay_api::is_replay_path(request.uri().path()) => replay_api::route(&state, request)
            .await
            .unwrap_or_else(ApiError::into_response),
        Ok(None) => route_inspector(&state, &request)
            .await
            .unwrap_or_else(ApiError::into_response),
        Err(refused) => refused.into_response(),
    };
    harden(&mut response);
    response
}

/// Routes the page and everything under `/_/`.
async fn route_inspector(state: &AppState, request: &Request<Incoming>) -> Result<Response<Body>, ApiError> {
    let method = request.method().clone();
    let path = request.uri().path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let reading = matches!(method, Method::GET | Method::HEAD);
    let not_allowed = |allow: &'static str| ApiError::MethodNotAllowed {
        method: method.to_string(),
        allow,
    };
    match segments.as_slice() {
        [""] => page::index(request.headers(), state.advertised_origin.as_deref()),
        ["_", "events"] if reading => {
            let subscription = live::parse_subscription(request.headers(), request.uri().query())
                .map_err(|refused| ApiError::BadRequest(refused.to_string()))?;
            Ok(live::response(&state.live, subscription, &state.shutdown))
        }
        ["_", "events"] => Err(not_allowed("GET, HEAD")),
        ["_", "static", version, path @ ..] if reading => assets::serve(version, path),
        ["_", "qr.svg"] if reading => qr::render(request.uri().query()),
        ["_", "health"] if reading => Ok(json(StatusCode::OK, &serde_json::json!({ "status": "ok" }))),
        ["_", "health"] => Err(not_allowed("GET, HEAD")),
        ["_", "api", "requests"] => match method {
            Method::GET | Method::HEAD => api::list(state, request.uri().query()).await,
            Method::DELETE => api::clear(state, request.uri().query()).await,
            _ => Err(not_allowed("GET, HEAD, DELETE")),
        },
        ["_", "api", "requests", id] => {
            let id = api::parse_id(id)?;
            match method {
                Method::GET | Method::HEAD => api::detail(state, id).await,
                Method::DELETE => api::delete(state, id).await,
                _ => Err(not_allowed("GET, HEAD, DELETE")),
            }
        }
        ["_", "api", "requests", id, "body"] if reading => api::raw_body(state, api::parse_id(id)?).await,
        ["_", "api", "requests", _, "body"] => Err(not_allowed("GET, HEAD")),
        ["_", "api", "export"] if reading => export::export(state, request.uri().query()),
        ["_", "api", "export"] => Err(not_allowed("GET, HEAD")),
        ["_", "api", "stats"] if reading => api::stats(state).await,
        ["_", "api", "refused"] if reading => api::refused(state, request.uri().query()),
        ["_", "api", "refused"] => Err(not_allowed("GET, HEAD")),
        ["_", "api", "stats"] => Err(not_allowed("GET, HEAD")),
        _ => Err(ApiError::NotFound(format!(
            "{path} is not part of hookscope's API; paths under /_/ are reserved and never captured"
        ))),
    }
}

/// Whether a request's head is over hookscope's header limits, and the sentence that says how. hyper's own limits sit
/// above these (see `server.rs`), so that hookscope answers such a request itself, with JSON, and records it.
fn over_header_limits(limits: &Limits, request: &Request<Incoming>) -> Option<(Reason, String)> {
    let headers = request.headers();
    if headers.len() > limits.max_headers {
        return Some((
            Reason::TooManyHeaders,
            format!(
                "{} header lines are more than the limit of {} (--max-headers)",
                headers.len(),
                limits.max_headers
            ),
        ));
    }
    // The request line, then each `name: value` line with its CRLF.
    let uri = request.uri();
    let target = uri
        .authority()
        .map_or(0, |authority| authority.as_str().len() + "http://".len())
        + uri.path_and_query().map_or(1, |target| target.as_str().len());
    let request_line = request.method().as_str().len() + target + " HTTP/1.1\r\n ".len();
    let head: usize = request_line
        + headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum::<usize>();
    (head > limits.max_header_bytes).then(|| {
        (
            Reason::HeadersTooLarge,
            format!(
                "the request line and headers take {head} bytes, more than the limit of {} (--max-header-bytes)",
                limits.max_header_bytes
            ),
        )
    })
}

/// Whether a path is the endpoints API's: `/_/api/endpoints` or below it.
fn is_endpoints_api(path: &str) -> bool {
    is_api_under(path, "/_/api/endpoints")
}

/// Whether a path is `base` or below it.
fn is_api_under(path: &str, base: &str) -> bool {
    path.strip_prefix(base)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
