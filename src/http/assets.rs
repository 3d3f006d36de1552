//! The page's static files (CSS, JS modules, icons), embedded in the binary so hookscope works from any directory,
//! offline, with no build step.

use hyper::header::{CACHE_CONTROL, HeaderValue};
use hyper::{Response, StatusCode};
use rust_embed::Embed;

use super::error::ApiError;
use super::response::{Body, with_body};

#[derive(Embed)]
#[folder = "static/"]
struct Static;

/// The path segment every asset URL carries: `/_/static/{VERSION}/js/app.js`. The page's script is a set of ES
/// modules that import each other by relative URL, which cannot carry a `?v=` query; under a versioned prefix
/// every import inherits the version, so each binary's files have URLs of their own and a day of caching can
/// never mix an upgraded page with older cached modules. Other versions are not served: an old URL must not
/// get (and cache) new content.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GET /_/static/{version}/{path…}`, `path` being the file's segments under `static/`.
pub fn serve(version: &str, path: &[&str]) -> Result<Response<Body>, ApiError> {
    let name = path.join("/");
    let not_found = || ApiError::NotFound(format!("no static file {name:?} in version {version:?}"));
    // Files come from the embedded map, never the file system, but dot segments and empty ones are refused
    // anyway rather than left to the lookup.
    let plain = |segment: &&str| !segment.is_empty() && *segment != "." && *segment != "..";
    if version != VERSION || path.is_empty() || !path.iter().all(plain) {
        return Err(not_found());
    }
    let file = Static::get(&name).ok_or_else(not_found)?;
    let mut response = with_body(StatusCode::OK, content_type(&name), file.data.into_owned());
    // Assets change only with the binary and their URLs carry its version, so a day of caching is safe.
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

#[cfg(test)]
mod tests {
    use hyper::header::CONTENT_TYPE;

    use super::*;

    #[test]
    fn modules_in_a_folder_are_served_under_the_version() {
        let response = serve(VERSION, &["js", "app.js"]).expect("the entry module");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=86400");
        assert!(serve(VERSION, &["app.css"]).is_ok());
    }

    #[test]
    fn other_versions_dot_segments_and_empty_segments_are_not_found() {
        for (version, path) in [
            ("0.0.0-other", &["js", "app.js"][..]),
            ("", &["js", "app.js"][..]),
            (VERSION, &[][..]),
            (VERSION, &["js"][..]),
            (VERSION, &["js", ""][..]),
            (VERSION, &["", "js", "app.js"][..]),
            (VERSION, &["js", "..", "app.css"][..]),
            (VERSION, &["js", ".", "app.js"][..]),
            (VERSION, &["..", "Cargo.toml"][..]),
        ] {
            assert!(
                matches!(serve(version, path), Err(ApiError::NotFound(_))),
                "{version:?} {path:?}"
            );
        }
    }
}
