//! The bare baseline for `bench/run.sh`: a hyper 1.x HTTP/1.1 server that reads each request's whole body and
//! answers 200 with a small JSON body shaped like hookscope's capture answer. It does nothing else (no storage, no
//! inspection, no logging), so the ratio hookscope / baseline measures what capturing costs on top of HTTP.
//!
//! It is built like hookscope's server: the same crates, a multi-threaded tokio runtime sized to the CPUs it may
//! use (one under `taskset -c N`), keep-alive on, `TCP_NODELAY` on every connection.
//!
//! Usage: `cargo run --release --example baseline -- 127.0.0.1:9100`

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Same size and shape as hookscope's `{"id": 42, "duplicate_of": null}`.
const ANSWER: &[u8] = br#"{"duplicate_of":null,"id":42}"#;

async fn answer(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let status = match request.into_body().collect().await {
        Ok(collected) => {
            // Touch the bytes so the read cannot be optimised away.
            std::hint::black_box(collected.to_bytes());
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    };
    let mut response = Response::new(Full::new(Bytes::from_static(ANSWER)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        "application/json".parse().expect("static header"),
    );
    Ok(response)
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    println!("baseline listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("baseline: accept failed: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}

fn main() -> std::process::ExitCode {
    let addr: SocketAddr = match std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9100".into())
        .parse()
    {
        Ok(addr) => addr,
        Err(error) => {
            eprintln!("baseline: the first argument must be a listen address like 127.0.0.1:9100 ({error})");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(serve(addr)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("baseline: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
