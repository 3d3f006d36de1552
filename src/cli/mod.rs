//! The command line. The doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use filter_args::FilterArgs;

mod filter_args;

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
    /// Print each captured request as it lands, one line each (or one JSON summary per line with --json), across
    /// reconnects without missing or repeating one. Ctrl-C stops it.
    Tail(TailArgs),
    /// Wait until requests matching the filters land, print each one's detail as a JSON line, and exit 0; exit 1
    /// when the timeout passes first. For gating a CI test on a webhook.
    Wait(WaitArgs),
    /// Send a stored request again: to its endpoint's forward URL or --to; or, with --all, every request the
    /// filters match, in capture order.
    Replay(ReplayArgs),
    /// Delete the requests the filters match (every request without filters).
    Clear(ClearArgs),
    /// Act as a provider: send realistic webhooks of a profile (or a body of your own) at a rate, some broken or
    /// repeated on purpose, signed when asked, retried on 5xx and timeouts, stopping on 410; then a summary.
    Send(SendArgs),
    /// Write the requests the filters match, oldest first: NDJSON (everything recorded, bodies byte-exact), HAR 1.2,
    /// or a bash script of curl commands that sends them again.
    Export(ExportArgs),
    /// Load an NDJSON export into the running hookscope: new ids, checks and duplicates computed afresh; a line
    /// that cannot be read is skipped and named (exit status 1).
    Import(ImportArgs),
}

/// What a client command runs.
pub enum Run {
    Serve(ServeArgs),
    Client(ClientCommand),
}

/// The commands that talk to a running hookscope.
pub enum ClientCommand {
    Tail(TailArgs),
    Wait(WaitArgs),
    Replay(ReplayArgs),
    Clear(ClearArgs),
    Export(ExportArgs),
    Import(ImportArgs),
    Send(SendArgs),
}

impl Cli {
    /// What the command line asks for: serving (with or without the `serve` word), or a client command.
    pub fn into_run(self) -> Run {
        match self.command {
            Some(Command::Serve(args)) => Run::Serve(args),
            None => Run::Serve(self.serve),
            Some(Command::Tail(args)) => Run::Client(ClientCommand::Tail(args)),
            Some(Command::Wait(args)) => Run::Client(ClientCommand::Wait(args)),
            Some(Command::Replay(args)) => Run::Client(ClientCommand::Replay(args)),
            Some(Command::Clear(args)) => Run::Client(ClientCommand::Clear(args)),
            Some(Command::Export(args)) => Run::Client(ClientCommand::Export(args)),
            Some(Command::Send(args)) => Run::Client(ClientCommand::Send(args)),
            Some(Command::Import(args)) => Run::Client(ClientCommand::Import(args)),
        }
    }
}

/// Where a client command finds hookscope.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The running hookscope's address (plain HTTP).
    #[arg(
        long,
        env = "HOOKSCOPE_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub url: String,

    /// The inspector's access token, when it needs one.
    #[arg(long, env = "HOOKSCOPE_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Options of `hookscope tail`.
#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Start after this request id, or `all` for every stored request first; by default only new requests.
    #[arg(long, value_name = "ID|all")]
    pub after: Option<String>,
    /// One JSON summary per line instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `hookscope wait`.
#[derive(Debug, Clone, Args)]
pub struct WaitArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The body's value at a JSON pointer must equal VALUE (read as JSON, or as a string when it is not JSON):
    /// `--match /data/id=42`, `--match '/name="42"'`. Repeat for several.
    #[arg(long = "match", value_name = "POINTER=VALUE")]
    pub matches: Vec<String>,
    /// How many matching requests to wait for.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub count: usize,
    /// How long to wait (30s, 2m, 500ms).
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub timeout: String,
    /// Take requests after this id; `now` (the default) is the newest id when wait starts.
    #[arg(long, default_value = "now", value_name = "ID|now")]
    pub after: String,
}

/// Options of `hookscope replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The request to send again.
    #[arg(value_name = "ID", required_unless_present = "all")]
    pub id: Option<i64>,
    /// Every request the filters match, in capture order (queued in each target's outbox queue).
    #[arg(long, conflicts_with = "id")]
    pub all: bool,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Send it here instead of its endpoint's forward URL.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Sign it afresh with its endpoint's first secret and the current time.
    #[arg(long)]
    pub resign: bool,
}

/// Options of `hookscope send`.
#[derive(Debug, Clone, Args)]
pub struct SendArgs {
    /// Where to send: a whole URL; by default the running hookscope's /hooks/PROFILE (see --url).
    #[arg(value_name = "URL")]
    pub target: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
    /// The kind of webhook: entity_action, channel_event, array_of_one, standard_webhooks, github, stripe or shopify.
    #[arg(long, default_value = "channel_event", value_name = "PROFILE")]
    pub profile: String,
    /// Send this file's bytes as every body instead (with --header for its content type).
    #[arg(long, value_name = "FILE")]
    pub body: Option<PathBuf>,
    /// How many requests (with --duration: at most).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub count: u64,
    /// Requests started per second; unlimited when not given.
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 1, value_name = "C")]
    pub concurrency: usize,
    /// Stop after this long (30s, 2m), whatever --count says.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Break every K-th request on purpose, each way the profile can break in turn.
    #[arg(long, value_name = "K")]
    pub invalid_every: Option<u64>,
    /// Send every K-th request again as it was (the same idempotency key), as a provider's retry would.
    #[arg(long, value_name = "K")]
    pub duplicate_every: Option<u64>,
    /// An extra header, NAME: VALUE. Repeat for several.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// Sign each request: standard-webhooks, github, stripe, shopify or slack (with --secret).
    #[arg(long, value_name = "SCHEME", requires = "secret")]
    pub sign: Option<String>,
    /// The secret to sign with.
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// Tries after the first on a 5xx or a timeout, with exponential backoff (100 ms doubling).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// The summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `hookscope export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// `ndjson`, `har` or `curl`.
    #[arg(long, default_value = "ndjson", value_name = "FORMAT")]
    pub format: String,
    /// Write here instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// For `curl`: the URL the script sends to (otherwise the script takes it as its first argument).
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
}

/// Options of `hookscope import`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// An NDJSON export.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// Options of `hookscope clear`.
#[derive(Debug, Clone, Args)]
pub struct ClearArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub filter: FilterArgs,
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

    /// How hard a commit pushes to disk before the sender gets its 2xx. `normal`: committed, survives a crash
    /// or kill of hookscope; a power loss may cost the last moments. `full`: also survives power loss, slower.
    #[arg(long, value_enum, default_value_t = SyncLevel::Normal, value_name = "LEVEL")]
    pub sync: SyncLevel,

    /// HTTP status answered to captured requests (for example 410 to test a provider's deactivation).
    #[arg(long, default_value_t = 200, value_name = "CODE")]
    pub status: u16,

    /// Answer the requests under a path pattern with steps in turn, the last repeating: `/hooks/flaky/**=500x2,200`
    /// answers 500 twice, then 200; `200@1500ms` waits 1.5 s first. `*` matches within one segment, `**` any
    /// number of segments. Repeatable; the endpoints are named respond-1, respond-2, ... in order.
    #[arg(long, value_name = "PATTERN=STEPS")]
    pub respond: Vec<String>,

    /// A configuration file of [[endpoint]] tables; ./hookscope.toml is read when present and this is not given.
    #[arg(long, env = "HOOKSCOPE_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Largest the database may grow (for example 2GiB); past it captures are refused with 507 until requests
    /// are deleted. Unlimited when not given.
    #[arg(long, value_name = "SIZE")]
    pub max_db_size: Option<String>,

    /// Seconds a client has to send a request's headers, counted from the connection's start or the previous
    /// response; this also closes idle keep-alive connections.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub header_timeout: u64,

    /// Seconds a request body may take to arrive in total, however slowly it trickles (408 past it).
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub body_timeout: u64,

    /// Most header lines in one request (431 past it).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub max_headers: usize,

    /// Most bytes of request line and headers in one request, at least 8KiB (431 past it).
    #[arg(long, default_value = "32KiB", value_name = "SIZE")]
    pub max_header_bytes: String,

    /// Most connections open at once; further clients wait to be accepted.
    #[arg(long, default_value_t = 2048, value_name = "N")]
    pub max_connections: usize,

    /// Another host name (optionally with :port) under which the inspector and API may be reached, besides
    /// localhost, 127.0.0.1, [::1] and the listen address. Repeat for several.
    #[arg(long, value_name = "NAME")]
    pub allow_host: Vec<String>,

    /// The access token for the inspector and API. Once given it is needed on every address, loopback included;
    /// when listening beyond loopback or with --public-url, a random one is made (and printed) if not given.
    #[arg(long, env = "HOOKSCOPE_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// The address providers send to, when it is not this one: a tunnel's (https://abc.example.dev) or the
    /// machine's LAN address. The page's hook URL, the booth's QR code, copy-as-curl and the banner use it, and
    /// the inspector and API then need the token on every address (a tunnel arrives through loopback).
    #[arg(long, env = "HOOKSCOPE_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// Take a capture's sender from its `Forwarded` or `X-Forwarded-For` header, as a tunnel or proxy in front
    /// of hookscope sets it. Off by default: any sender can write those headers.
    #[arg(long)]
    pub trust_forwarded: bool,

    /// Serve the inspector and API without a token even on a non-loopback address (anyone who can reach the
    /// port can read and delete captures).
    #[arg(long)]
    pub public_inspector: bool,

    /// Deliver every captured request to URL too (an http:// URL, your app), after answering the sender:
    /// an endpoint named forward-to on /** in mirror mode, retried until the app is up.
    #[arg(long, value_name = "URL")]
    pub forward_to: Option<String>,

    /// Also allow forwarding and replaying to HOST[:PORT], besides loopback addresses. Repeat for several; on the
    /// command line only.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub allow_forward: Vec<String>,
}

/// `--sync` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyncLevel {
    Full,
    Normal,
}
