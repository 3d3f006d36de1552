//! A reference for the live-stream scenario of `bench/run.sh`: a server that does the least it can for
//! `sse_probe`, and answers each capture at once. It stores nothing and checks nothing. Each `POST` gets the next id,
//! its event (shaped and sized like hookscope's) is appended to a log in memory, and it is answered 200. A thread of
//! its own writes every viewer of `GET /_/events`, in the order they joined, everything logged since its last
//! write, straight to the socket with no HTTP library between (no chunked framing, no task per viewer). Both
//! threads share the server's one CPU, so the kernel's scheduler decides when a 2xx goes out: as soon as the
//! capture is read and the runtime's thread gets the CPU, not after a round of writes.
//!
//! What it shows: how long a round of writes to the probe's thousand viewers takes on this host when nothing but
//! the writes costs anything. Its "request sent -> event" figures compare with hookscope's directly; its figures
//! that start at the 2xx do not, since they favour a server that answers later.
//!
//! Usage: `cargo run --release --example stream_floor -- 127.0.0.1:9302`

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How soon the writing thread looks again at viewers whose sockets were full, when nothing new arrives.
const RETRY_FULL: Duration = Duration::from_millis(1);

#[derive(Default)]
struct Shared {
    /// Every event so far, rendered, and viewers whose response head is written, waiting to join the loop.
    news: Mutex<News>,
    /// How many events the log holds, readable without the lock.
    logged: AtomicUsize,
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
    /// How many events of the log it has been given.
    sent: usize,
    /// Bytes given to it that its socket has not taken yet.
    unsent: BytesMut,
    closed: bool,
}

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9302".into())
        .parse()
        .map_err(std::io::Error::other)?;
    let shared = Arc::new(Shared::default());
    let writer_shared = shared.clone();
    std::thread::Builder::new()
        .name("fan-out".into())
        .spawn(move || fan_out(&writer_shared))?;
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
        // Captures are handled on this one runtime thread, one at a time, so nothing else appends meanwhile.
        let id = shared.logged.load(Ordering::Acquire) + 1;
        let event = render(id);
        {
            let mut news = lock(&shared.news);
            news.log.push(event);
            shared.logged.store(news.log.len(), Ordering::Release);
        }
        shared.changed.notify_one();
        let body = format!(r#"{{"id":{id},"duplicate_of":null}}"#);
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(answer.as_bytes()).await?;
    }
}

/// The loop: each round gives every viewer, in the order they joined, what was logged since it was last given
/// anything (as of its turn, not of the round's start), and writes what its socket takes. It sleeps when a round
/// found nothing new, for a millisecond at most while some socket was full.
fn fan_out(shared: &Shared) {
    let mut viewers: Vec<Viewer> = Vec::new();
    // The log as this thread last saw it; the events are shared, not copied.
    let mut log: Vec<Bytes> = Vec::new();
    loop {
        {
            let mut news = lock(&shared.news);
            if news.log.len() == log.len() && news.joining.is_empty() {
                news = if viewers.iter().any(|viewer| !viewer.unsent.is_empty()) {
                    shared
                        .changed
                        .wait_timeout(news, RETRY_FULL)
                        .map_or_else(|poisoned| poisoned.into_inner().0, |(news, _)| news)
                } else {
                    shared
                        .changed
                        .wait(news)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                };
            }
            log.extend_from_slice(&news.log[log.len()..]);
            let now = log.len();
            viewers.extend(news.joining.drain(..).map(|stream| Viewer {
                stream,
                // A new viewer starts from now, as hookscope's does without `after`.
                sent: now,
                unsent: BytesMut::new(),
                closed: false,
            }));
        }
        for viewer in &mut viewers {
            if shared.logged.load(Ordering::Acquire) > log.len() {
                let news = lock(&shared.news);
                log.extend_from_slice(&news.log[log.len()..]);
            }
            for event in &log[viewer.sent..] {
                viewer.unsent.extend_from_slice(event);
            }
            viewer.sent = log.len();
            if viewer.unsent.is_empty() {
                continue;
            }
            match viewer.stream.write(&viewer.unsent) {
                Ok(taken) => viewer.unsent.advance(taken),
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => viewer.closed = true,
            }
        }
        viewers.retain(|viewer| !viewer.closed);
    }
}

/// An event shaped like hookscope's `request` event for the probe's 1 KiB channel_event capture.
fn render(id: usize) -> Bytes {
    Bytes::from(format!(
        "event: request\nid: {id}\ndata: {{\"id\":{id},\"received_at\":\"2026-11-24T12:00:00.000Z\",\"method\":\"POST\",\
         \"path\":\"/hooks/sse\",\"query\":\"\",\"content_type\":\"application/json\",\"body_size\":1069,\
         \"body_kind\":\"json\",\"envelope\":\"channel_event\",\"valid\":true,\"event\":\"invoices.created\",\
         \"error_count\":0,\"warning_count\":0,\"idempotency_key\":\"6f1c2a9e-8b4d-4e1f-9a7c-3d5e2b1f0a9c\",\
         \"duplicate_of\":null}}\n\n"
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
