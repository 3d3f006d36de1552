//! The settled configuration: the command line turned into checked, typed values. Every mistake becomes one
//! sentence for the user.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use hyper::StatusCode;

use crate::cli::{ServeArgs, SyncLevel};
use crate::store::{Durability, Location, StoreOptions};

/// Everything hookscope needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub store: StoreOptions,
    pub limits: Limits,
    /// The status captured requests are answered with.
    pub response_status: StatusCode,
}

/// Bounds on what one sender may cost the server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest body stored; a body of exactly this size is accepted. 10 MiB holds any webhook the seed providers
    /// send many times over while keeping a burst of large uploads far from exhausting memory.
    pub max_body: u64,
    /// How long a body may take to arrive in total, however it trickles in; a sender slower than this is
    /// answered 408. 30 s lets a 10 MiB upload crawl at 350 KB/s and still caps what a slow-drip sender holds.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body: 10 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// A configuration mistake.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--listen {0:?} is not an address; use HOST:PORT such as 127.0.0.1:8080, or a bare port")]
    Listen(String),
    #[error("--max-body {0:?} is not a size; use bytes or a unit, such as 1048576, 512KiB or 10MiB")]
    MaxBody(String),
    #[error("--status {0} is not a status hookscope can answer with; use a code from 200 to 599")]
    Status(u16),
}

impl Config {
    /// Checks and converts the command line.
    pub fn from_args(args: ServeArgs) -> Result<Config, ConfigError> {
        let listen = parse_listen(&args.listen).ok_or_else(|| ConfigError::Listen(args.listen.clone()))?;
        let max_body =
            parse_size::parse_size(&args.max_body).map_err(|_| ConfigError::MaxBody(args.max_body.clone()))?;
        let response_status = StatusCode::from_u16(args.status)
            .ok()
            .filter(|status| (200..600).contains(&status.as_u16()))
            .ok_or(ConfigError::Status(args.status))?;
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
            },
            limits: Limits {
                max_body,
                ..Limits::default()
            },
            response_status,
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
            },
            limits: Limits::default(),
            response_status: StatusCode::OK,
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

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size::parse_size("512KiB").ok(), Some(512 * 1024));
        assert_eq!(parse_size::parse_size("10MiB").ok(), Some(10 * 1024 * 1024));
        assert_eq!(parse_size::parse_size("1048576").ok(), Some(1_048_576));
    }
}
