//! The command line. The doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// hookscope: a local webhook receiver and inspector.
///
/// Every request sent to it (any method, any path outside /_/) is stored in SQLite, checked against known
/// webhook envelopes and flagged when its idempotency key was seen before. Open the printed URL to watch
/// requests arrive live.
#[derive(Debug, Parser)]
#[command(name = "hookscope", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,
}

/// What to do; `serve` when nothing is said.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Receive and inspect webhooks (the default).
    Serve(ServeArgs),
}

impl Cli {
    /// The serve arguments, whether given with or without the `serve` word.
    pub fn into_serve_args(self) -> ServeArgs {
        match self.command {
            Some(Command::Serve(args)) => args,
            None => self.serve,
        }
    }
}

/// Options of `hookscope serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on: HOST:PORT, or a bare PORT on 127.0.0.1. Port 0 picks a free port.
    #[arg(
        long,
        env = "HOOKSCOPE_LISTEN",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub listen: String,

    /// SQLite database file, created if missing; `:memory:` for a throwaway database removed at exit.
    #[arg(long, env = "HOOKSCOPE_DB", default_value = "hookscope.db", value_name = "PATH")]
    pub db: PathBuf,

    /// Largest body accepted, in bytes or with a unit (512KiB, 10MiB); larger bodies get 413.
    #[arg(long, default_value = "10MiB", value_name = "SIZE")]
    pub max_body: String,

    /// Keep only the newest N requests, evicting the oldest; 0 keeps everything.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub keep: u64,

    /// How hard a commit pushes to disk before the sender gets its 2xx: `full` survives power loss, `normal`
    /// survives a crash of hookscope but may lose the last moments on power loss.
    #[arg(long, value_enum, default_value_t = SyncLevel::Full, value_name = "LEVEL")]
    pub sync: SyncLevel,

    /// HTTP status answered to captured requests (for example 410 to test a provider's deactivation).
    #[arg(long, default_value_t = 200, value_name = "CODE")]
    pub status: u16,
}

/// `--sync` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncLevel {
    Full,
    Normal,
}
