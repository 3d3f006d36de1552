//! The floor for the live-stream scenario of `bench/run.sh`: the least a server can do for `sse_probe` on this
//! host. It stores nothing and checks nothing. Each `POST` gets the next id, its event (about the size of
//! hookscope's) is appended to a log in memory, and it is answered 200 at once. One loop writes every viewer of
//! `GET /_/events`, in a fixed order, everything logged since its last write, straight to the socket with no HTTP
//! library between (no chunked framing, no task per viewer). The loop is a thread of its own beside the runtime
//! that answers the captures, so the kernel's scheduler, not the loop, decides when a 2xx goes out: a capture is
//! answered as soon as it is read, not after a round of writes.
//!
//! What it answers: how long a round of writes to the probe's thousand viewers takes on this host when nothing
//! but the writes costs anything, and so how low the "2xx -> event at a client" p99 can go for any server here.
//!
//! Usage: `cargo run --release --example stream_floor -- 127.0.0.1:9300`

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Shared {
    /// Every event so far, rendered, and viewers whose response head is written, waiting to join the loop.
    news: Mutex<News>,
    /// Signalled when `news` changes.
    changed: Condvar,
}

#[derive(Default)]
struct News {
    /// The event of id `n` is at index `n - 1`.
    log: Vec<Bytes>,
    joining: Vec<std::net::TcpStream>,
}

struct Viewer {
    stream: std::net::TcpStream,
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
    let shared = Arc::new(Shared::default());
    let loop_shared = shared.clone();
    std::thread::Builder::new()
        .name("fan-out".into())
        .spawn(move || fan_out(&loop_shared))?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(serve(addr, shared))
}

async fn serve(addr: SocketAddr, shared: Arc<Shared>) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
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
            // Still non-blocking: the loop never waits on one viewer.
            let stream = stream.into_std()?;
            lock(&shared.news).joining.push(stream);
            shared.changed.notify_one();
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
            let mut news = lock(&shared.news);
            let id = news.log.len() + 1;
            news.log.push(render(id));
            id
        };
        shared.changed.notify_one();
        let body = format!(r#"{{"id":{id},"duplicate_of":null}}"#);
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).await?;
    }
}

/// The loop: each round writes every viewer, in the order they joined, what was logged since its last write. It
/// sleeps only when a whole round found nothing new.
fn fan_out(shared: &Shared) {
    let mut viewers: Vec<Viewer> = Vec::new();
    let mut frame = BytesMut::new();
    let mut seen = 0;
    loop {
        {
            let mut news = lock(&shared.news);
            while news.log.len() == seen && news.joining.is_empty() {
                news = shared
                    .changed
                    .wait(news)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            seen = news.log.len();
            let now = news.log.len();
            viewers.extend(news.joining.drain(..).map(|stream| Viewer {
                stream,
                // A new viewer starts from now, as hookscope's does without `after`.
                sent: now,
                unsent: BytesMut::new(),
            }));
        }
        let mut index = 0;
        while index < viewers.len() {
            let viewer = &mut viewers[index];
            frame.clear();
            frame.extend_from_slice(&viewer.unsent);
            viewer.unsent.clear();
            {
                let news = lock(&shared.news);
                for event in &news.log[viewer.sent..] {
                    frame.extend_from_slice(event);
                }
                viewer.sent = news.log.len();
            }
            if !frame.is_empty() {
                match viewer.stream.write(&frame) {
                    Ok(done) => viewer.unsent.extend_from_slice(&frame[done..]),
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                        viewer.unsent.extend_from_slice(&frame);
                    }
                    Err(_) => {
                        viewers.swap_remove(index);
                        continue;
                    }
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
