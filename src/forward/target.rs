//! Where forwarded and replayed requests may go. A target is the user's choice, never a sender's: a URL from the
//! file, the command line or the access-controlled API, over plain HTTP. Only loopback addresses are allowed
//! (`127.0.0.0/8`, `::1`, `localhost`), and those given with `--allow-forward`, never hookscope's own listening
//! address (a loop, and a way into `/_/`). The rule is applied to the addresses a name resolves to, on every
//! attempt, and the connection goes to the address that passed.

use std::net::{IpAddr, SocketAddr};

/// A target URL, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// As written.
    text: String,
    /// The host as written, without brackets; lower case.
    host: String,
    port: u16,
    /// The URL's path (at least `/`).
    path: String,
    /// The URL's own query, without `?`; empty when there is none.
    query: String,
}

/// A target or an `--allow-forward` entry that cannot be used, or an address the rule refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("a target is an http:// URL with a host (https targets are not supported: forward to your app over http)")]
    NotHttp,
    #[error("{0} is not a host[:port]")]
    BadAllowed(String),
    #[error(
        "{host} resolves to {address}, which is not allowed: only loopback addresses are, and those given with --allow-forward"
    )]
    NotAllowed { host: String, address: IpAddr },
    #[error("{address} is hookscope's own listening address: forwarding there would loop")]
    Own { address: SocketAddr },
    #[error("{host} could not be resolved: {reason}")]
    Unresolved { host: String, reason: String },
}

impl Target {
    /// Reads `http://host[:port][/path][?query]`.
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let uri: hyper::Uri = text.trim().parse().map_err(|_| TargetError::NotHttp)?;
        if uri.scheme_str() != Some("http") {
            return Err(TargetError::NotHttp);
        }
        let authority = uri.authority().ok_or(TargetError::NotHttp)?;
        if authority.as_str().contains('@') {
            return Err(TargetError::NotHttp);
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err(TargetError::NotHttp);
        }
        Ok(Target {
            text: text.trim().to_owned(),
            host,
            port: authority.port_u16().unwrap_or(80),
            path: if uri.path().is_empty() {
                "/".to_owned()
            } else {
                uri.path().to_owned()
            },
            query: uri.query().unwrap_or_default().to_owned(),
        })
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The `Host` header for this target: the host, and the port unless it is 80.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The request target (path and query) a captured request goes to: exactly this URL's path, or with `keep_path`
    /// this path joined with the request's (unless the request's path has `..` segments); then this URL's query and
    /// the request's.
    pub fn request_target(&self, request_path: &str, request_query: &str, keep_path: bool) -> String {
        let path = if keep_path && !has_dot_dot(request_path) && request_path.starts_with('/') {
            format!("{}{request_path}", self.path.trim_end_matches('/'))
        } else {
            self.path.clone()
        };
        let query: Vec<&str> = [self.query.as_str(), request_query]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect();
        if query.is_empty() {
            path
        } else {
            format!("{path}?{}", query.join("&"))
        }
    }

    /// The whole URL a captured request goes to.
    pub fn url_for(&self, request_path: &str, request_query: &str, keep_path: bool) -> String {
        format!(
            "http://{}{}",
            self.authority(),
            self.request_target(request_path, request_query, keep_path)
        )
    }
}

/// Whether a raw path has a `..` segment, percent-encoded or not.
fn has_dot_dot(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == ".."
    })
}

/// One `--allow-forward` entry: a host (name or address), and a port or any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    host: String,
    port: Option<u16>,
}

impl Allowed {
    /// Reads `HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT`.
    pub fn parse(text: &str) -> Result<Allowed, TargetError> {
        let bad = || TargetError::BadAllowed(text.to_owned());
        let text_lower = text.trim().to_ascii_lowercase();
        let (host, port) = if let Some(rest) = text_lower.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(port.parse().map_err(|_| bad())?),
                None if after.is_empty() => None,
                None => return Err(bad()),
            };
            (host.to_owned(), port)
        } else if text_lower.matches(':').count() > 1 {
            (text_lower.clone(), None)
        } else {
            match text_lower.split_once(':') {
                Some((host, port)) => (host.to_owned(), Some(port.parse().map_err(|_| bad())?)),
                None => (text_lower.clone(), None),
            }
        };
        let valid_host = !host.is_empty()
            && (host.parse::<IpAddr>().is_ok()
                || host
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'_')));
        if !valid_host {
            return Err(bad());
        }
        Ok(Allowed { host, port })
    }

    fn admits(&self, host: &str, address: SocketAddr) -> bool {
        let host_matches =
            self.host == host || self.host.parse::<IpAddr>().is_ok_and(|allowed| allowed == address.ip());
        host_matches && self.port.is_none_or(|port| port == address.port())
    }
}

/// The rule every forward and replay passes.
#[derive(Debug, Clone, Default)]
pub struct TargetRules {
    allowed: Vec<Allowed>,
    /// Where hookscope itself listens, once bound.
    own: Option<SocketAddr>,
}

impl TargetRules {
    pub fn new(allowed: Vec<Allowed>, own: Option<SocketAddr>) -> TargetRules {
        TargetRules { allowed, own }
    }

    /// Whether `address`, which `host` resolved to, may be connected to.
    pub fn check(&self, host: &str, address: SocketAddr) -> Result<(), TargetError> {
        if let Some(own) = self.own
            && own.port() == address.port()
            && (own.ip() == address.ip()
                || own.ip().is_unspecified()
                || (own.ip().is_loopback() && address.ip().is_loopback()))
        {
            return Err(TargetError::Own { address });
        }
        if address.ip().is_loopback() || self.allowed.iter().any(|allowed| allowed.admits(host, address)) {
            return Ok(());
        }
        Err(TargetError::NotAllowed {
            host: host.to_owned(),
            address: address.ip(),
        })
    }

    /// Resolves the target's host and returns the first address the rule allows; refused when none is.
    pub async fn resolve(&self, target: &Target) -> Result<SocketAddr, TargetError> {
        let addresses: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, target.port)],
            Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
                .await
                .map_err(|error| TargetError::Unresolved {
                    host: target.host.clone(),
                    reason: error.to_string(),
                })?
                .collect(),
        };
        let mut refused = None;
        for address in addresses {
            match self.check(&target.host, address) {
                Ok(()) => return Ok(address),
                Err(error) => refused = refused.or(Some(error)),
            }
        }
        Err(refused.unwrap_or_else(|| TargetError::Unresolved {
            host: target.host.clone(),
            reason: "no address".to_owned(),
        }))
    }

    /// Refuses at once a target whose host is an address the rule refuses (a name is judged when it is resolved).
    pub fn check_literal(&self, target: &Target) -> Result<(), TargetError> {
        match target.host.parse::<IpAddr>() {
            Ok(ip) => self.check(&target.host, SocketAddr::new(ip, target.port)),
            Err(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(text: &str) -> Target {
        Target::parse(text).expect("target")
    }

    #[test]
    fn a_target_goes_to_its_url_plus_the_query_or_with_keep_path_the_joined_path() {
        let app = target("http://127.0.0.1:3000/webhooks?src=hs");
        assert_eq!(app.request_target("/hooks/a", "x=1", false), "/webhooks?src=hs&x=1");
        assert_eq!(app.request_target("/hooks/a", "", true), "/webhooks/hooks/a?src=hs");
        assert_eq!(
            app.request_target("/hooks/../_/api", "", true),
            "/webhooks?src=hs",
            "a .. is not joined"
        );
        assert_eq!(app.request_target("/hooks/%2E%2e/x", "", true), "/webhooks?src=hs");
        assert_eq!(app.authority(), "127.0.0.1:3000");
        assert_eq!(target("http://localhost").authority(), "localhost");
        assert_eq!(
            target("http://[::1]:8080/").url_for("/a", "", true),
            "http://[::1]:8080/a"
        );
        for bad in [
            "https://localhost/",
            "ftp://x",
            "localhost:3000",
            "http://user@localhost/",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_loopback_and_allowed_hosts_pass_and_never_hookscope_itself() {
        let own: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        let rules = TargetRules::new(
            vec![
                Allowed::parse("app.internal:9000").expect("entry"),
                Allowed::parse("10.0.0.7").expect("entry"),
            ],
            Some(own),
        );
        let at = |text: &str| text.parse::<SocketAddr>().expect("address");
        assert!(rules.check("localhost", at("127.0.0.1:3000")).is_ok());
        assert!(rules.check("::1", at("[::1]:3000")).is_ok());
        assert!(matches!(rules.check("127.0.0.1", own), Err(TargetError::Own { .. })));
        assert!(matches!(
            rules.check("localhost", at("127.0.0.5:8080")),
            Err(TargetError::Own { .. })
        ));
        assert!(matches!(
            rules.check("evil.example", at("10.1.2.3:80")),
            Err(TargetError::NotAllowed { .. })
        ));
        assert!(rules.check("app.internal", at("10.1.2.3:9000")).is_ok());
        assert!(rules.check("app.internal", at("10.1.2.3:9001")).is_err());
        assert!(rules.check("other", at("10.0.0.7:1234")).is_ok());
        assert!(Allowed::parse("bad host").is_err());
        assert!(Allowed::parse("[::2]:99").is_ok());
    }
}
