//! A captured request as it goes out again: the same method, query and body bytes, and the headers as stored (names
//! in lower case, values byte-exact, each name's values in the order received), except the hop-by-hop ones, `Host`
//! (the target's unless kept), `Origin` and hookscope's own token cookie; `Content-Length` exact; and
//! `X-Forwarded-For`, `X-Forwarded-Host`, `X-Forwarded-Proto` and `X-Hookscope-Request` added.

use bytes::Bytes;

use super::target::Target;
use crate::config::TOKEN_COOKIE;
use crate::record::StoredRequest;

/// A request ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub method: String,
    /// The whole URL, as recorded.
    pub url: String,
    /// The request line's target: path and query.
    pub path_and_query: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Bytes,
}

/// Headers that belong to one connection, never passed on.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "te",
    "transfer-encoding",
    "upgrade",
    "trailer",
];

/// Where a request goes and what to keep of it.
#[derive(Debug, Clone, Copy)]
pub struct Route<'a> {
    pub target: &'a Target,
    pub keep_path: bool,
    pub preserve_host: bool,
}

/// The request `captured` becomes when sent along `route`.
pub fn outgoing(captured: &StoredRequest, route: Route<'_>) -> Outgoing {
    let path_and_query = route
        .target
        .request_target(&captured.path, &captured.query, route.keep_path);
    let named_by_connection: Vec<String> = captured
        .headers
        .iter()
        .filter(|(name, _)| name == "connection")
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value)
                .split(',')
                .map(|token| token.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    let original_host = captured
        .headers
        .iter()
        .find(|(name, _)| name == "host")
        .map(|(_, value)| value.clone());
    let mut headers: Vec<(String, Vec<u8>)> = Vec::with_capacity(captured.headers.len() + 4);
    let mut has_length = false;
    for (name, value) in &captured.headers {
        let name = name.as_str();
        if HOP_BY_HOP.contains(&name)
            || name.starts_with("proxy-")
            || named_by_connection.iter().any(|named| named == name)
            || name == "origin"
            || name == "x-hookscope-request"
        {
            continue;
        }
        match name {
            "host" => {
                let host = if route.preserve_host {
                    value.clone()
                } else {
                    route.target.authority().into_bytes()
                };
                headers.push(("host".to_owned(), host));
            }
            "cookie" => {
                if let Some(kept) = without_token_cookie(value) {
                    headers.push(("cookie".to_owned(), kept));
                }
            }
            "content-length" => {
                if !has_length {
                    has_length = true;
                    headers.push((
                        "content-length".to_owned(),
                        captured.body.len().to_string().into_bytes(),
                    ));
                }
            }
            _ => headers.push((name.to_owned(), value.clone())),
        }
    }
    if original_host.is_none() {
        headers.insert(0, ("host".to_owned(), route.target.authority().into_bytes()));
    }
    if !has_length && !captured.body.is_empty() {
        headers.push((
            "content-length".to_owned(),
            captured.body.len().to_string().into_bytes(),
        ));
    }
    add_forwarded(&mut headers, captured, original_host);
    Outgoing {
        method: captured.method.clone(),
        url: format!("http://{}{path_and_query}", route.target.authority()),
        path_and_query,
        headers,
        body: captured.body.clone(),
    }
}

/// Appends the sender to `X-Forwarded-For` (as a proxy does), names the original host and protocol unless a proxy
/// in front of hookscope already did, and says which capture this is.
fn add_forwarded(headers: &mut Vec<(String, Vec<u8>)>, captured: &StoredRequest, original_host: Option<Vec<u8>>) {
    let sender = sender_address(&captured.remote_addr);
    match headers.iter_mut().rev().find(|(name, _)| name == "x-forwarded-for") {
        Some((_, value)) => {
            value.extend_from_slice(b", ");
            value.extend_from_slice(sender.as_bytes());
        }
        None => headers.push(("x-forwarded-for".to_owned(), sender.into_bytes())),
    }
    if let Some(host) = original_host
        && !headers.iter().any(|(name, _)| name == "x-forwarded-host")
    {
        headers.push(("x-forwarded-host".to_owned(), host));
    }
    if !headers.iter().any(|(name, _)| name == "x-forwarded-proto") {
        headers.push(("x-forwarded-proto".to_owned(), b"http".to_vec()));
    }
    headers.push(("x-hookscope-request".to_owned(), captured.id.to_string().into_bytes()));
}

/// The address part of a stored sender (`127.0.0.1:5000`, `[::1]:5000`, or an address a proxy named).
fn sender_address(remote: &str) -> String {
    match remote.parse::<std::net::SocketAddr>() {
        Ok(address) => address.ip().to_string(),
        Err(_) => remote.to_owned(),
    }
}

/// A `Cookie` value without hookscope's token cookie; `None` when nothing else is left.
fn without_token_cookie(value: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(value);
    if !text.contains(TOKEN_COOKIE) {
        return Some(value.to_vec());
    }
    let kept: Vec<&str> = text
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split('=').next().map(str::trim) != Some(TOKEN_COOKIE))
        .collect();
    (!kept.is_empty()).then(|| kept.join("; ").into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(headers: &[(&str, &[u8])]) -> StoredRequest {
        StoredRequest {
            id: 42,
            method: "POST".into(),
            path: "/hooks/a".into(),
            query: "x=1".into(),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), value.to_vec()))
                .collect(),
            body: Bytes::from_static(b"{\"a\":1}"),
            remote_addr: "192.0.2.9:5000".into(),
            received_at_ms: 0,
            endpoint: None,
        }
    }

    fn names(outgoing: &Outgoing) -> Vec<&str> {
        outgoing.headers.iter().map(|(name, _)| name.as_str()).collect()
    }

    #[test]
    fn hop_by_hop_host_origin_and_the_token_cookie_stay_behind_and_the_rest_keeps_its_order() {
        let target = Target::parse("http://127.0.0.1:3000/app").expect("target");
        let request = captured(&[
            ("host", b"abc.example.dev"),
            ("x-b", b"2"),
            ("connection", b"keep-alive, x-private"),
            ("x-private", b"p"),
            ("keep-alive", b"timeout=5"),
            ("proxy-authorization", b"secret"),
            ("origin", b"https://evil.example"),
            ("cookie", b"a=1; hookscope_token=t0k; b=2"),
            ("x-a", b"\xff1"),
            ("x-a", b"2"),
            ("transfer-encoding", b"chunked"),
            ("x-hookscope-request", b"forged"),
        ]);
        let out = outgoing(
            &request,
            Route {
                target: &target,
                keep_path: false,
                preserve_host: false,
            },
        );
        assert_eq!(
            names(&out),
            [
                "host",
                "x-b",
                "cookie",
                "x-a",
                "x-a",
                "content-length",
                "x-forwarded-for",
                "x-forwarded-host",
                "x-forwarded-proto",
                "x-hookscope-request"
            ]
        );
        let value = |name: &str| {
            out.headers
                .iter()
                .filter(|(header, _)| header == name)
                .map(|(_, value)| value.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(value("host"), [b"127.0.0.1:3000".to_vec()]);
        assert_eq!(value("cookie"), [b"a=1; b=2".to_vec()]);
        assert_eq!(value("x-a"), [b"\xff1".to_vec(), b"2".to_vec()]);
        assert_eq!(value("content-length"), [b"7".to_vec()]);
        assert_eq!(value("x-forwarded-for"), [b"192.0.2.9".to_vec()]);
        assert_eq!(value("x-forwarded-host"), [b"abc.example.dev".to_vec()]);
        assert_eq!(value("x-hookscope-request"), [b"42".to_vec()]);
        assert_eq!(out.url, "http://127.0.0.1:3000/app?x=1");
    }

    #[test]
    fn the_host_can_be_kept_and_a_proxys_forwarding_headers_are_extended_not_replaced() {
        let target = Target::parse("http://localhost:3000").expect("target");
        let request = captured(&[
            ("host", b"abc.example.dev"),
            ("x-forwarded-for", b"203.0.113.7"),
            ("x-forwarded-proto", b"https"),
            ("content-length", b"7"),
        ]);
        let out = outgoing(
            &request,
            Route {
                target: &target,
                keep_path: true,
                preserve_host: true,
            },
        );
        assert_eq!(out.headers[0], ("host".to_owned(), b"abc.example.dev".to_vec()));
        assert!(
            out.headers
                .contains(&("x-forwarded-for".to_owned(), b"203.0.113.7, 192.0.2.9".to_vec()))
        );
        assert!(
            out.headers
                .contains(&("x-forwarded-proto".to_owned(), b"https".to_vec()))
        );
        assert_eq!(out.path_and_query, "/hooks/a?x=1");
    }
}
