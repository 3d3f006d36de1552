//! The settled configuration: the command line and the configuration file ([`file`]) turned into checked, typed
//! values. Every mistake becomes one sentence for the user.

pub mod file;
pub mod watch;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use file::{ConfigFile, FileError};
use hyper::StatusCode;

use crate::cli::{ServeArgs, SyncLevel};
use crate::endpoints::forward::{ForwardSpec, Forwarding, Mode};
use crate::endpoints::pattern::PathPattern;
use crate::endpoints::steps::{Step, parse_shorthand};
use crate::forward::target::Allowed;
use crate::store::{Durability, Location, StoreOptions};

/// The cookie that carries the access token after `?token=` was used once.
pub const TOKEN_COOKIE: &str = "hookscope_token";

/// Everything hookscope needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub store: StoreOptions,
    pub limits: Limits,
    pub access: Access,
    /// The status captured requests are answered with.
    pub response_status: StatusCode,
    /// The address providers send to (`https://abc.example.dev`, no trailing slash), when it is not the listen
    /// address.
    pub public_url: Option<String>,
    /// Take a capture's sender from `Forwarded` / `X-Forwarded-For`.
    pub trust_forwarded: bool,
    /// The `--respond` endpoints, in flag order: their path patterns and answer steps.
    pub respond: Vec<(PathPattern, Vec<Step>)>,
    /// The configuration file read at start, if any.
    pub file: Option<ConfigFile>,
    /// `--forward-to`: where every request is also delivered.
    pub forward_to: Option<Forwarding>,
    /// `--allow-forward`: targets allowed besides loopback.
    pub allow_forward: Vec<Allowed>,
}

/// Bounds on what one sender may cost the server. See `docs/security.md` for why each number.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body stored; a body of exactly this size is accepted. 10 MiB holds any webhook the seed providers
    /// send many times over while keeping a burst of large uploads far from exhausting memory.
    pub max_body: u64,
    /// How long a body may take to arrive in total, however it trickles in; a sender slower than this is
    /// answered 408. 30 s lets a 10 MiB upload crawl at 350 KB/s and still caps what a slow-drip sender holds.
    pub body_timeout: Duration,
    /// How long a client has for a request's headers, from the connection's start or the previous response.
    /// Real clients send headers in one packet; 10 s is generous for them and short for a slowloris.
    pub header_timeout: Duration,
    /// Most header lines. Providers send 10 to 30; 100 leaves room for proxies' additions.
    pub max_headers: usize,
    /// Most bytes of request line plus headers. 32 KiB fits long signatures and cookies.
    pub max_header_bytes: usize,
    /// Most open connections: enough for 1,000 live-stream viewers plus a load of senders, far below the
    /// file-descriptor limit of a default system.
    pub max_connections: usize,
}

/// hyper refuses header limits below its minimum read buffer.
pub const MIN_HEADER_BYTES: usize = 8 * 1024;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: 10 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            max_headers: 100,
            max_header_bytes: 32 * 1024,
            max_connections: 2048,
        }
    }
}

/// Who may use the inspector and the API (capture is open to anyone who can reach the port).
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Host names, besides loopback and the listen address, under which the inspector answers.
    pub allowed_hosts: Vec<String>,
    /// Required for the inspector and API when set.
    pub token: Option<String>,
}

/// A configuration mistake.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--listen {0:?} is not an address; use HOST:PORT such as 127.0.0.1:8080, or a bare port")]
    Listen(String),
    #[error("{flag} {value:?} is not a size; use bytes or a unit, such as 1048576, 512KiB or 10MiB")]
    Size { flag: &'static str, value: String },
    #[error("--max-header-bytes must be at least 8KiB")]
    HeaderBytes,
    #[error("{flag} must be at least 1")]
    Zero { flag: &'static str },
    #[error("--status {0} is not a status hookscope can answer with; use a code from 200 to 599")]
    Status(u16),
    #[error("--public-url {0:?} is not a URL; use http:// or https://, a host, and an optional port and path")]
    PublicUrl(String),
    #[error("--respond {value:?}: {reason}")]
    Respond { value: String, reason: String },
    #[error("{0}")]
    File(#[from] FileError),
    #[error("{path}: an endpoint is named {name}, as a --respond endpoint is; rename it")]
    NameTaken { path: String, name: String },
    #[error("--token must not be empty")]
    EmptyToken,
    #[error("--forward-to {value:?}: {reason}")]
    ForwardTo { value: String, reason: String },
    #[error("--allow-forward {0:?} is not a HOST or HOST:PORT")]
    AllowForward(String),
}

impl Config {
    /// Settings that work but may not do what was meant, each as one sentence for the start-up log.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.access.token.is_none() && !self.listen.ip().is_loopback() {
            warnings.push(format!(
                "--public-inspector: anyone who can reach {} can read every captured request, headers and bodies \
                 included, and delete them",
                self.listen
            ));
        }
        warnings
    }

    /// Checks and converts the command line.
    pub fn from_args(args: ServeArgs) -> Result<Config, ConfigError> {
        let listen = parse_listen(&args.listen).ok_or_else(|| ConfigError::Listen(args.listen.clone()))?;
        let size = |flag: &'static str, value: &str| {
            parse_size::parse_size(value).map_err(|_| ConfigError::Size {
                flag,
                value: value.to_owned(),
            })
        };
        let max_body = size("--max-body", &args.max_body)?;
        let max_header_bytes =
            usize::try_from(size("--max-header-bytes", &args.max_header_bytes)?).unwrap_or(usize::MAX);
        if max_header_bytes < MIN_HEADER_BYTES {
            return Err(ConfigError::HeaderBytes);
        }
        let max_db_bytes = args
            .max_db_size
            .as_deref()
            .map(|value| size("--max-db-size", value))
            .transpose()?;
        for (flag, value) in [
            ("--max-body", max_body),
            ("--header-timeout", args.header_timeout),
            ("--body-timeout", args.body_timeout),
            ("--max-headers", u64::try_from(args.max_headers).unwrap_or(u64::MAX)),
            (
                "--max-connections",
                u64::try_from(args.max_connections).unwrap_or(u64::MAX),
            ),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero { flag });
            }
        }
        let response_status = StatusCode::from_u16(args.status)
            .ok()
            .filter(|status| crate::endpoints::steps::ANSWER_STATUSES.contains(&status.as_u16()))
            .ok_or(ConfigError::Status(args.status))?;
        if args.token.as_deref() == Some("") {
            return Err(ConfigError::EmptyToken);
        }
        let public_url = args.public_url.as_deref().map(parse_public_url).transpose()?;
        let respond = args
            .respond
            .iter()
            .map(|value| parse_respond(value))
            .collect::<Result<Vec<_>, _>>()?;
        let file_path = args.config.clone().or_else(|| {
            let default = PathBuf::from(file::DEFAULT_FILE);
            default.is_file().then_some(default)
        });
        let file = file_path.as_deref().map(file::load).transpose()?;
        let forward_to = args
            .forward_to
            .as_deref()
            .map(|url| {
                ForwardSpec {
                    url: url.to_owned(),
                    mode: Mode::Mirror,
                    timeout_ms: 10_000,
                    retries: 10,
                    keep_path: false,
                    preserve_host: false,
                }
                .build()
                .map_err(|error| ConfigError::ForwardTo {
                    value: url.to_owned(),
                    reason: error.message,
                })
            })
            .transpose()?;
        let allow_forward = args
            .allow_forward
            .iter()
            .map(|entry| Allowed::parse(entry).map_err(|_| ConfigError::AllowForward(entry.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(file) = &file {
            let flag_names: Vec<String> = (1..=respond.len()).map(crate::endpoints::flag_name).collect();
            if let Some(taken) = file.endpoints.iter().find(|spec| flag_names.contains(&spec.name)) {
                return Err(ConfigError::NameTaken {
                    path: file.path.display().to_string(),
                    name: taken.name.clone(),
                });
            }
        }
        // A token given is applied wherever hookscope listens (loopback too: a tunnel reaches a loopback address);
        // beyond loopback, or behind a public URL, one is made up when none is given, unless the inspector is made
        // public.
        let needs_token = !listen.ip().is_loopback() || public_url.is_some();
        let token = match (args.public_inspector, args.token) {
            (true, _) => None,
            (false, Some(token)) => Some(token),
            (false, None) => needs_token.then(|| uuid::Uuid::new_v4().simple().to_string()),
        };
        // The page answers under the public URL's host too: the tunnel passes it on.
        let mut allowed_hosts = args.allow_host;
        if let Some(host) = public_url.as_deref().and_then(public_host) {
            allowed_hosts.push(host);
        }
        let location = if args.db.as_os_str() == ":memory:" {
            Location::Temporary
        } else {
            Location::File(args.db)
        };
        Ok(Config {
            listen,
            store: StoreOptions {
                location,
                durability: match args.sync {
                    SyncLevel::Full => Durability::Full,
                    SyncLevel::Normal => Durability::Normal,
                },
                keep: (args.keep > 0).then_some(args.keep),
                max_bytes: max_db_bytes,
            },
            limits: Limits {
                max_body,
                body_timeout: Duration::from_secs(args.body_timeout),
                header_timeout: Duration::from_secs(args.header_timeout),
                max_headers: args.max_headers,
                max_header_bytes,
                max_connections: args.max_connections,
            },
            access: Access { allowed_hosts, token },
            response_status,
            public_url,
            trust_forwarded: args.trust_forwarded,
            respond,
            file,
            forward_to,
            allow_forward,
        })
    }

    /// A configuration for tests and embedding: port 0 on loopback, a throwaway database.
    pub fn ephemeral() -> Config {
        Config {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            store: StoreOptions {
                location: Location::Temporary,
                durability: Durability::Normal,
                keep: None,
                max_bytes: None,
            },
            limits: Limits::default(),
            access: Access::default(),
            response_status: StatusCode::OK,
            public_url: None,
            trust_forwarded: false,
            respond: Vec::new(),
            file: None,
            forward_to: None,
            allow_forward: Vec::new(),
        }
    }
}

/// `HOST:PORT`, `localhost:PORT`, `[::1]:PORT` or a bare `PORT` (on 127.0.0.1).
fn parse_listen(text: &str) -> Option<SocketAddr> {
    if let Ok(port) = text.parse::<u16>() {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Some(port) = text.strip_prefix("localhost:") {
        return Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port.parse().ok()?));
    }
    text.parse().ok()
}

/// `PATTERN=STEPS`, split at the last `=` (a pattern may hold one; steps never do).
fn parse_respond(value: &str) -> Result<(PathPattern, Vec<Step>), ConfigError> {
    let refused = |reason: String| ConfigError::Respond {
        value: value.to_owned(),
        reason,
    };
    let (pattern, steps) = value
        .rsplit_once('=')
        .ok_or_else(|| refused("write PATTERN=STEPS, such as /hooks/flaky/**=500x2,200".to_owned()))?;
    let pattern = PathPattern::parse(pattern.trim()).map_err(|error| refused(error.to_string()))?;
    let steps = parse_shorthand(steps).map_err(|error| refused(error.to_string()))?;
    Ok((pattern, steps))
}

/// `http(s)://host[:port][/path]`, without a query or fragment, returned without a trailing slash.
fn parse_public_url(text: &str) -> Result<String, ConfigError> {
    let refused = || ConfigError::PublicUrl(text.to_owned());
    let uri: hyper::Uri = text.trim().parse().map_err(|_| refused())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    let has_host = uri.host().is_some_and(|host| !host.is_empty());
    let plain = uri.query().is_none() && !text.contains('#');
    if !(scheme_ok && has_host && plain) {
        return Err(refused());
    }
    Ok(text.trim().trim_end_matches('/').to_owned())
}

/// The host (and port, if any) of a checked public URL, as a Host header names it.
fn public_host(url: &str) -> Option<String> {
    let uri: hyper::Uri = url.parse().ok()?;
    uri.authority()
        .map(|authority| authority.as_str().rsplit('@').next().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_accepts_the_usual_forms() {
        assert_eq!(parse_listen("9000"), "127.0.0.1:9000".parse().ok());
        assert_eq!(parse_listen("localhost:9000"), "127.0.0.1:9000".parse().ok());
        assert_eq!(parse_listen("0.0.0.0:80"), "0.0.0.0:80".parse().ok());
        assert_eq!(parse_listen("[::1]:80"), "[::1]:80".parse().ok());
        assert_eq!(parse_listen("nowhere"), None);
        assert_eq!(parse_listen("127.0.0.1:99999"), None);
    }

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(std::iter::once("hookscope").chain(args.iter().copied()))
            .expect("flags parse");
        Config::from_args(cli.serve)
    }

    #[test]
    fn a_token_given_is_applied_on_loopback_too() {
        let local = config(&["--listen", "127.0.0.1:0", "--token", "abc"]).expect("valid");
        assert_eq!(local.access.token.as_deref(), Some("abc"));
        assert!(
            config(&["--listen", "127.0.0.1:0"])
                .expect("valid")
                .access
                .token
                .is_none()
        );
        assert!(
            config(&["--listen", "0.0.0.0:0"])
                .expect("valid")
                .access
                .token
                .is_some()
        );
    }

    #[test]
    fn a_public_inspector_beyond_loopback_is_warned_about_in_one_sentence() {
        let public = config(&["--listen", "0.0.0.0:0", "--public-inspector"]).expect("valid");
        let warnings = public.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("--public-inspector: anyone who can reach 0.0.0.0:0"),
            "{warnings:?}"
        );
        assert!(
            config(&["--listen", "127.0.0.1:0"])
                .expect("valid")
                .warnings()
                .is_empty()
        );
    }

    #[test]
    fn a_public_url_is_checked_trimmed_allowed_as_a_host_and_guarded_by_a_token() {
        let config = config(&["--listen", "127.0.0.1:0", "--public-url", "https://abc.example.dev/"]).expect("valid");
        assert_eq!(config.public_url.as_deref(), Some("https://abc.example.dev"));
        assert!(
            config.access.token.is_some(),
            "a tunnel arrives on loopback, so the token is needed there"
        );
        assert!(config.access.allowed_hosts.contains(&"abc.example.dev".to_owned()));
        for bad in [
            "abc.example.dev",
            "ftp://x",
            "https://x/?q=1",
            "https://x/#f",
            "http://",
        ] {
            assert!(
                matches!(config_err(&["--public-url", bad]), ConfigError::PublicUrl(_)),
                "{bad}"
            );
        }
    }

    fn config_err(args: &[&str]) -> ConfigError {
        config(args).expect_err("refused")
    }

    #[test]
    fn a_body_limit_of_zero_is_refused() {
        let refused = config(&["--max-body", "0"]).expect_err("refused");
        assert_eq!(refused.to_string(), "--max-body must be at least 1");
    }

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size::parse_size("512KiB").ok(), Some(512 * 1024));
        assert_eq!(parse_size::parse_size("10MiB").ok(), Some(10 * 1024 * 1024));
        assert_eq!(parse_size::parse_size("1048576").ok(), Some(1_048_576));
    }
}
