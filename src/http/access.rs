//! Who may use the inspector and the API. Capture accepts any Host (it is an endpoint for strangers); the page
//! and everything under `/_/` answer only under allowed host names, so a DNS-rebinding page cannot read or clear
//! captures; they need the access token when hookscope listens beyond loopback; and requests that change
//! something are refused when they come from another site.

use std::net::{IpAddr, SocketAddr};

use hyper::header::{AUTHORIZATION, COOKIE, HOST, HeaderValue, LOCATION, ORIGIN, SET_COOKIE};
use hyper::{HeaderMap, Method, Response, StatusCode, Uri};

use super::error::ApiError;
use super::response::{Body, empty};
use crate::config::{Access, TOKEN_COOKIE};

/// Checks an inspector request. `Ok(None)`: go on; `Ok(Some(response))`: answer with it (the redirect that
/// moves a `?token=` into a cookie); `Err`: refused.
pub fn check(
    access: &Access,
    listen: SocketAddr,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Option<Response<Body>>, ApiError> {
    let host = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or_default();
    if !host_allowed(host, listen, &access.allowed_hosts) {
        return Err(ApiError::Forbidden(format!(
            "the inspector does not answer under the host name {host:?}; start hookscope with --allow-host NAME to allow it"
        )));
    }
    if let Some(token) = &access.token {
        if let Some(given) = query_token(uri) {
            if !same_secret(&given, token) {
                return Err(ApiError::Unauthorized("that access token is wrong".into()));
            }
            return Ok(Some(redirect_with_cookie(uri, token)));
        }
        if !presented_token(headers).is_some_and(|given| same_secret(&given, token)) {
            return Err(ApiError::Unauthorized(
                "an access token is needed: open the URL hookscope printed at start, or send Authorization: Bearer TOKEN"
                    .into(),
            ));
        }
    }
    let changes_something = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if changes_something && is_cross_site(headers, host) {
        return Err(ApiError::Forbidden(
            "requests from other sites may not change hookscope's data".into(),
        ));
    }
    Ok(None)
}

/// Whether `host` (a Host header: name, optional port) may reach the inspector.
pub fn host_allowed(host: &str, listen: SocketAddr, allowed: &[String]) -> bool {
    let host = host.trim().to_ascii_lowercase();
    if host.is_empty() {
        return false;
    }
    let name = host_name(&host);
    if matches!(name, "localhost" | "127.0.0.1" | "[::1]") {
        return true;
    }
    let literal = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    if let Some(ip) = literal {
        // Listening on every address makes each of this machine's addresses the listen address. An IP literal
        // cannot be a rebinding attack, which needs the attacker's own host name.
        if ip == listen.ip() || listen.ip().is_unspecified() {
            return true;
        }
    }
    allowed.iter().any(|allowed| {
        let allowed = allowed.trim().to_ascii_lowercase();
        allowed == host || allowed == name
    })
}

/// The name part of a Host value: `example.com` of `example.com:8080`, `[::1]` of `[::1]:80`.
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Cross-site: an `Origin` other than the request's own (`null` included), or a `Sec-Fetch-Site` other than
/// `same-origin` / `none`.
pub fn is_cross_site(headers: &HeaderMap, host: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return true;
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("null").to_ascii_lowercase();
        let own = host.to_ascii_lowercase();
        return origin != format!("http://{own}") && origin != format!("https://{own}");
    }
    false
}

fn query_token(uri: &Uri) -> Option<String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
}

/// The token from `Authorization: Bearer` or the cookie.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    {
        return Some(bearer.trim().to_owned());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(TOKEN_COOKIE)?
                .strip_prefix('=')
                .map(str::to_owned)
        })
}

/// Compares secrets in time independent of where they first differ.
fn same_secret(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// `303` to the same URL without `token`, setting the cookie that carries it from now on.
fn redirect_with_cookie(uri: &Uri, token: &str) -> Response<Body> {
    let rest: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(name, _)| name != "token")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let mut location = uri.path().to_owned();
    if !rest.is_empty() {
        location.push('?');
        location.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(rest)
                .finish(),
        );
    }
    let mut response = empty(StatusCode::SEE_OTHER);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&location) {
        headers.insert(LOCATION, value);
    }
    let cookie = format!("{TOKEN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        headers.insert(SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen(addr: &str) -> SocketAddr {
        addr.parse().expect("address")
    }

    #[test]
    fn loopback_names_are_allowed_with_or_without_port() {
        let at = listen("127.0.0.1:8080");
        for host in [
            "localhost",
            "localhost:8080",
            "127.0.0.1",
            "127.0.0.1:9",
            "[::1]",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(host_allowed(host, at, &[]), "{host}");
        }
    }

    #[test]
    fn rebinding_names_are_refused() {
        let at = listen("127.0.0.1:8080");
        for host in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "",
        ] {
            assert!(!host_allowed(host, at, &[]), "{host}");
        }
    }

    #[test]
    fn listen_address_and_allowed_hosts_are_allowed() {
        assert!(host_allowed("192.168.1.5:8080", listen("192.168.1.5:8080"), &[]));
        assert!(!host_allowed("192.168.1.6:8080", listen("192.168.1.5:8080"), &[]));
        assert!(host_allowed("10.0.0.7:8080", listen("0.0.0.0:8080"), &[]));
        let allowed = vec!["hooks.test".to_owned(), "other.test:9000".to_owned()];
        assert!(host_allowed("hooks.test:8080", listen("127.0.0.1:8080"), &allowed));
        assert!(host_allowed("other.test:9000", listen("127.0.0.1:8080"), &allowed));
        assert!(!host_allowed("other.test:9001", listen("127.0.0.1:8080"), &allowed));
    }

    #[test]
    fn cross_site_is_judged_by_origin_and_fetch_metadata() {
        let mut headers = HeaderMap::new();
        assert!(!is_cross_site(&headers, "127.0.0.1:8080"), "curl sends neither");
        headers.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(!is_cross_site(&headers, "127.0.0.1:8080"));
        headers.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(is_cross_site(&headers, "127.0.0.1:8080"));
        headers.insert(ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(is_cross_site(&headers, "127.0.0.1:8080"));
        let mut headers = HeaderMap::new();
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(is_cross_site(&headers, "127.0.0.1:8080"));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(!is_cross_site(&headers, "127.0.0.1:8080"));
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
    }
}
