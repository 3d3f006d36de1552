//! The `hookscope` binary: parse the command line, start, print where to look, run until Ctrl-C or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use hookscope::cli::{Cli, ClientCommand, Run};
use hookscope::config::Config;
use hookscope::startup::Application;
use hookscope::store::Location;
use tracing_subscriber::EnvFilter;

/// jemalloc rather than the system allocator for Rust's allocations: every capture allocates and frees dozens of
/// small blocks (body, headers, parsed JSON), and glibc's allocator spent about 6 % of the core in malloc, free
/// and consolidation at full load. (SQLite, a C library, still uses libc's malloc.) jemalloc captured 0–18 % more requests per second (median 5 %, five paired runs
/// of 5 to 8 s) for 0.5 MB more idle memory; see docs/performance.md.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let args = match Cli::parse().into_run() {
        Run::Serve(args) => args,
        Run::Client(command) => return run_client(command),
    };
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("hookscope: {error}");
            return ExitCode::from(2);
        }
    };
    // Log lines are written by a thread of their own through a bounded queue (tracing-appender's default of
    // 128,000 lines); when it falls behind, lines are dropped rather than capture being slowed. The guard flushes
    // what is queued when main returns.
    let (log_writer, _log_guard) = tracing_appender::non_blocking(std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        // Colours only for a person at a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(log_writer)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hookscope: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(config))
}

/// Runs a client command (`tail`, `wait`, ...) on a runtime of its own thread.
fn run_client(command: ClientCommand) -> ExitCode {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(hookscope::client::run(command)),
        Err(error) => {
            eprintln!("hookscope: cannot start the async runtime: {error}");
            ExitCode::from(2)
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let database = match &config.store.location {
        Location::File(path) => path.display().to_string(),
        Location::Temporary => "a temporary database (removed at exit)".to_owned(),
    };
    let configuration = config.file.as_ref().map(|file| {
        let count = file.endpoints.len();
        format!(
            "{} ({count} endpoint{})",
            file.path.display(),
            if count == 1 { "" } else { "s" }
        )
    });
    let retention = match config.store.keep {
        Some(keep) => format!(
            "the newest {} requests are kept, older ones evicted (--keep)",
            group_thousands(keep)
        ),
        None => "every request is kept (--keep 0)".to_owned(),
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("hookscope: {error}");
            return ExitCode::FAILURE;
        }
    };
    let stop = stop_signal();
    print_banner(
        app.local_addr(),
        app.advertised_origin().as_deref(),
        &database,
        &retention,
        configuration.as_deref(),
        app.access_token().as_deref(),
    );
    app.run_until(stop).await;
    ExitCode::SUCCESS
}

/// Where to look and a ready-to-paste first webhook. `advertised` is where providers reach hookscope when that is
/// not the listen address (a tunnel's URL, or the LAN address when listening on all of them).
fn print_banner(
    addr: SocketAddr,
    advertised: Option<&str>,
    database: &str,
    retention: &str,
    configuration: Option<&str>,
    token: Option<&str>,
) {
    let local = base_url(addr);
    let base = advertised.unwrap_or(&local);
    println!("hookscope is listening on {local}");
    if let Some(advertised) = advertised {
        println!("  send to:   {advertised}  (the address providers use)");
    }
    match token {
        Some(token) => println!(
            "  inspector: {base}/?token={token}  (this URL carries the access token the inspector and API need)"
        ),
        None => println!("  inspector: {base}/"),
    }
    println!("  database:  {database}");
    println!("  retention: {retention}");
    if let Some(configuration) = configuration {
        println!("  config:    {configuration}");
    }
    println!("Send a first webhook:");
    println!("  {}", hookscope::http::sample_curl(base));
}

/// `100000` as `100,000`.
fn group_thousands(number: u64) -> String {
    let digits = number.to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// The URL a person on this machine opens: an unspecified address (0.0.0.0, ::) is reached via loopback.
fn base_url(addr: SocketAddr) -> String {
    let host = match addr {
        SocketAddr::V4(v4) if v4.ip().is_unspecified() => "127.0.0.1".to_owned(),
        SocketAddr::V4(v4) => v4.ip().to_string(),
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => "[::1]".to_owned(),
        SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
    };
    format!("http://{host}:{}", addr.port())
}

/// A future that completes on Ctrl-C or SIGTERM. The handlers are installed here, before the banner tells anyone
/// hookscope is up, so a signal sent right after the banner stops it cleanly instead of killing it.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => std::future::pending::<()>().await,
            }
            tracing::info!("stopping: finishing in-flight requests");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("stopping: finishing in-flight requests");
    }
}
