//! The floor for the live-stream scenario of `bench/run.sh`: the least a server can do for `sse_probe` on this
//! host. It stores nothing and checks nothing. Each `POST` gets the next id, its event (about the size of
//! hookscope's) is appended to a log in memory, and it is answered 200 at once. One loop writes every viewer of
//! `GET /_/events`, in a fixed order, everything logged since its last write, straight to the socket with no HTTP
//! library between (no chunked framing, no task per viewer). The loop yields to the posters every few writes, so
//! a 2xx is not held behind a round of writes.
//!
//! What it answers: how long a round of writes to the probe's thousand viewers takes on this host when nothing
//! but the writes costs anything, and so how low the "2xx -> event at a client" p99 can go for any server here.
//!
//! Usage: `cargo run --release --example stream_floor -- 127.0.0.1:9300`

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Writes between yields to the posters, unless `FLOOR_WRITES_PER_YIELD` says otherwise.
const WRITES_PER_YIELD: usize = 8;

#[derive(Default)]
struct Shared {
    /// Every event so far, rendered; the event of id `n` is at index `n - 1`.
    log: Mutex<Vec<Bytes>>,
    /// Viewers whose response head is written, waiting to join the loop.
    joining: Mutex<Vec<TcpStream>>,
    news: Notify,
}

struct Viewer {
    stream: TcpStream,
    /// How many events of the log it has been sent.
    sent: usize,
    /// Bytes a full socket did not take; written before anything newer.
    unsent: BytesMut,
}

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9300".into())
        .parse()
        .map_err(std::io::Error::other)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(serve(addr))
}

async fn serve(addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let shared = Arc::new(Shared::default());
    tokio::spawn(fan_out(shared.clone()));
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(connection(stream, shared.clone()));
    }
}

/// Reads requests off one connection: a `GET /_/events` hands the socket to the loop, anything else is a capture.
async fn connection(mut stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let mut buffer = BytesMut::with_capacity(16 * 1024);
    loop {
        let (head_end, length) = loop {
            if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                break (end + 4, content_length(&buffer[..end]));
            }
            if stream.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        };
        if buffer.starts_with(b"GET /_/events") {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n\r\n")
                .await?;
            lock(&shared.joining).push(stream);
            shared.news.notify_one();
            return Ok(());
        }
        while buffer.len() < head_end + length {
            if stream.read_buf(&mut buffer).await? == 0 {
                return Ok(());
            }
        }
        let request = buffer.split_to(head_end + length);
        if request.starts_with(b"GET /_/health") {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
                .await?;
            continue;
        }
        let id = {
            let mut log = lock(&shared.log);
            let id = log.len() + 1;
            log.push(render(id));
            id
        };
        shared.news.notify_one();
        let body = format!(r#"{{"id":{id},"duplicate_of":null}}"#);
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).await?;
    }
}

/// The loop: each round writes every viewer, in the order they joined, what was logged since its last write.
async fn fan_out(shared: Arc<Shared>) {
    let mut viewers: Vec<Viewer> = Vec::new();
    let mut frame = BytesMut::new();
    let writes_per_yield = std::env::var("FLOOR_WRITES_PER_YIELD")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|&value: &usize| value > 0)
        .unwrap_or(WRITES_PER_YIELD);
    loop {
        shared.news.notified().await;
        viewers.extend(lock(&shared.joining).drain(..).map(|stream| Viewer {
            stream,
            sent: 0,
            unsent: BytesMut::new(),
        }));
        let mut written = 0;
        let mut index = 0;
        while index < viewers.len() {
            let viewer = &mut viewers[index];
            frame.clear();
            frame.extend_from_slice(&viewer.unsent);
            viewer.unsent.clear();
            {
                let log = lock(&shared.log);
                // A new viewer starts from now, as hookscope's does without `after`.
                if viewer.sent == 0 {
                    viewer.sent = log.len();
                }
                for event in &log[viewer.sent..] {
                    frame.extend_from_slice(event);
                }
                viewer.sent = log.len();
            }
            if !frame.is_empty() {
                match viewer.stream.try_write(&frame) {
                    Ok(done) => viewer.unsent.extend_from_slice(&frame[done..]),
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                        viewer.unsent.extend_from_slice(&frame);
                    }
                    Err(_) => {
                        viewers.swap_remove(index);
                        continue;
                    }
                }
                written += 1;
                if written % writes_per_yield == 0 {
                    tokio::task::yield_now().await;
                }
            }
            index += 1;
        }
    }
}

/// An event shaped like hookscope's `request` event for a 1 KiB channel_event capture (about 390 bytes).
fn render(id: usize) -> Bytes {
    Bytes::from(format!(
        "event: request\nid: {id}\ndata: {{\"id\":{id},\"received_at\":\"2026-11-24T12:00:00.000Z\",\"method\":\"POST\",\
         \"path\":\"/hooks/sse\",\"query\":\"\",\"content_type\":\"application/json\",\"body_size\":1024,\
         \"envelope\":\"channel_event\",\"event\":\"invoices.created\",\"channel\":\"invoices\",\"valid\":true,\
         \"error_count\":0,\"idempotency_key\":\"6f1c2a9e-8b4d-4e1f-9a7c-3d5e2b1f0a9c\",\"duplicate_of\":null,\
         \"remote_addr\":\"127.0.0.1:40000\",\"answer_status\":200}}\n\n"
    ))
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
