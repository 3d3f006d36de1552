//! The inspector page at `/`, rendered with askama. Captured data never passes through the template: the page
//! fetches it from the API and puts it into the DOM as text.

use askama::Template;
use hyper::header::HOST;
use hyper::{HeaderMap, Response, StatusCode};

use super::error::ApiError;
use super::response::{Body, with_body};
use crate::profiles::registry;

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    /// `http://host:port` as the browser reached hookscope, so the sample curl and the booth QR code work from
    /// wherever the page is opened (a booth's LAN address, say). Escaped by askama like every other value.
    origin: &'a str,
    /// A ready-to-paste first webhook.
    curl: String,
    /// The first segment of every asset URL (`/_/static/{version}/…`), so a new binary's assets never come
    /// from the browser cache of an older one.
    version: &'static str,
    /// Every payload profile's name, for the profile filter.
    profiles: Vec<&'static str>,
}

/// `GET /`
pub fn index(headers: &HeaderMap, advertised: Option<&str>) -> Result<Response<Body>, ApiError> {
    let origin = match advertised {
        Some(origin) => origin.to_owned(),
        None => {
            let host = headers
                .get(HOST)
                .and_then(|host| host.to_str().ok())
                .filter(|host| !host.is_empty())
                .unwrap_or("127.0.0.1");
            format!("http://{host}")
        }
    };
    let page = IndexPage {
        curl: sample_curl(&origin),
        origin: &origin,
        version: super::assets::VERSION,
        profiles: registry::names().collect(),
    };
    let html = page.render().map_err(|error| ApiError::Internal(error.into()))?;
    Ok(with_body(StatusCode::OK, "text/html; charset=utf-8", html))
}

/// A curl that sends a valid channel_event to `origin`, with an idempotency key of its own, so that it never
/// collides with a key a user sends next (the README's session, say).
pub fn sample_curl(origin: &str) -> String {
    let key = uuid::Uuid::new_v4();
    format!(
        "curl -X POST {origin}/hooks/demo -H 'Content-Type: application/json' -d '{{\"event\":\"invoices.created\",\
         \"message\":\"Invoice created successfully.\",\"idempotency_key\":\"{key}\",\
         \"environment\":\"staging\",\"data\":{{\"id\":1}}}}'"
    )
}
