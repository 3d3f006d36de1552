//! The page's static files (CSS, JS, icons), embedded in the binary so hookscope works from any directory,
//! offline, with no build step.

use hyper::header::{CACHE_CONTROL, HeaderValue};
use hyper::{Response, StatusCode};
use rust_embed::Embed;

use super::error::ApiError;
use super::response::{Body, with_body};

#[derive(Embed)]
#[folder = "static/"]
struct Static;

/// `GET /_/static/{name}`
pub fn serve(name: &str) -> Result<Response<Body>, ApiError> {
    let file = Static::get(name).ok_or_else(|| ApiError::NotFound(format!("no static file {name:?}")))?;
    let mut response = with_body(StatusCode::OK, content_type(name), file.data.into_owned());
    // Assets change only with the binary; the page links them with the version, so a day of caching is safe.
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(response)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}
