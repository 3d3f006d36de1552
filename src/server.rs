//! The accept loop: one task per connection, HTTP/1.1 with hyper, a cap on open connections, and a graceful
//! shutdown that stops accepting, ends live streams, and lets in-flight requests finish.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::http::refusals::{Reason, Refusal, Refusals};
use crate::http::{AppState, handle};

/// How long in-flight requests get to finish once shutdown begins; a capture normally answers in milliseconds,
/// so this only matters for a stalled sender, which is then cut off.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown` completes, then drains: live streams end, in-flight requests get
/// [`SHUTDOWN_GRACE`] to finish.
pub async fn run(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    let limits = &state.config.limits;
    let mut builder = http1::Builder::new();
    // Without a timer hyper silently ignores the header timeout. The timer starts whenever the connection waits
    // for a request head, so it bounds slow headers and idle keep-alive alike.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(limits.max_headers.saturating_mul(PARSER_HEADROOM))
        .max_header_size(limits.max_header_bytes.saturating_mul(PARSER_HEADROOM))
        .keep_alive(true);
    let heartbeat = tokio::spawn(keep_a_timer_armed());
    let graceful = GracefulShutdown::new();
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Usually out of file descriptors; back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let refusals = Arc::clone(&state.refusals);
        let state = state.clone();
        let service = service_fn(move |request| {
            let state = state.clone();
            async move { Ok::<_, Infallible>(handle(state, request, remote).await) }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                record_parse_failure(&refusals, remote, &error);
                tracing::debug!(%error, %remote, "connection ended with an error");
            }
            drop(permit);
        });
    }

    drop(listener);
    heartbeat.abort();
    state.shutdown.cancel();
    tokio::select! {
        () = graceful.shutdown() => tracing::debug!("all connections closed"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => tracing::warn!("some connections did not finish in time"),
    }
}

/// How far above hookscope's header limits hyper's own are set. A request over hookscope's limits reaches the service,
/// which answers it with JSON and records it; only one this far over them is cut off by hyper itself (with its own
/// empty 431), and then recorded from the connection's error. The headroom bounds what one request head can cost.
const PARSER_HEADROOM: usize = 4;

/// Records a request that hyper refused before hookscope saw it: a head it could not parse (hyper answers 400) or
/// one far over the header limits (431). Idle and slow connections, closed by the header timeout, are no refusal.
fn record_parse_failure(refusals: &Refusals, remote: std::net::SocketAddr, error: &hyper::Error) {
    let (status, reason) = if error.is_parse_too_large() {
        (431, Reason::HeadersTooLarge)
    } else if error.is_parse() {
        (400, Reason::MalformedRequest)
    } else {
        return;
    };
    refusals.record(Refusal::of_connection(remote, status, reason, error.to_string()));
}

/// How often the heartbeat of [`keep_a_timer_armed`] fires: sooner than any header timeout (whole seconds).
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Keeps one timer always pending in tokio's timer wheel, so arming the header timeout of every request does
/// not wake the runtime's own driver. tokio wakes its driver (a write to an eventfd) whenever a new timer is due
/// sooner than the one the driver last slept towards, and counts "no timer at all" as later than any; at full
/// load the wheel was often empty when the driver last looked (every connection waiting on the store), so 0.45
/// wake-ups per capture went to that eventfd, each a system call and a spurious return from `epoll_wait`. With a
/// timer at most a second away, the 10 s header timeouts are never the soonest: none (perf stat of the
/// worker's `write` calls over 3 s at full load). An idle server pays one wake-up a second.
async fn keep_a_timer_armed() {
    let mut ticks = tokio::time::interval(HEARTBEAT);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
    }
}
