//! The live-stream probe for `bench/run.sh` (scenario 3). Raw tokio TCP, no HTTP client library, so that a
//! thousand connections stay cheap.
//!
//! Latency mode (default): opens `--clients` connections to `GET /_/events`, then posts 1 KiB channel_event
//! captures at `--rate` requests per second for `--seconds`, and for each capture measures the time from receiving
//! its 2xx to its event (matched on the SSE `id:` field, which equals the capture's `"id"`) arriving: at the first
//! client, at each client (every delivery, the latency a viewer sees), and at every client (the last of them).
//! Each delivery is also timed by the kernel's receive timestamps of the 2xx and of the event (`SO_TIMESTAMPNS`, on
//! Linux), which leaves out most of the probe's own lag, and from when its capture was sent, which does not depend
//! on when the 2xx went out. Prints p50/p99/max of each, the achieved rate, and a `SSEJSON {...}` line.
//!
//! Hold mode (`--hold SECONDS`): opens the clients, prints `READY`, and reads (and counts) events for that long
//! while something else (wrk) drives the load. Prints `SSEJSON {...}` with how many events arrived.
//!
//! Usage: `sse_probe --addr 127.0.0.1:9200 [--clients 1000] [--rate 1000] [--seconds 10] [--posters 8]
//! [--path /hooks/sse] [--hold SECONDS]`

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

struct Args {
    addr: SocketAddr,
    clients: usize,
    rate: f64,
    seconds: f64,
    posters: usize,
    path: String,
    hold: Option<f64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:9200".parse().expect("static address"),
        clients: 1000,
        rate: 1000.0,
        seconds: 10.0,
        posters: 8,
        path: "/hooks/sse".into(),
        hold: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let mut value = || given.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |error: &dyn std::fmt::Display| format!("bad value for {flag}: {error}");
        match flag.as_str() {
            "--addr" => args.addr = value()?.parse().map_err(|e| bad(&e))?,
            "--clients" => args.clients = value()?.parse().map_err(|e| bad(&e))?,
            "--rate" => args.rate = value()?.parse().map_err(|e| bad(&e))?,
            "--seconds" => args.seconds = value()?.parse().map_err(|e| bad(&e))?,
            "--posters" => args.posters = value()?.parse().map_err(|e| bad(&e))?,
            "--path" => args.path = value()?,
            "--hold" => args.hold = Some(value()?.parse().map_err(|e| bad(&e))?),
            "-h" | "--help" => {
                return Err(
                    "usage: sse_probe --addr HOST:PORT [--clients N] [--rate R] [--seconds S] \
                            [--posters P] [--path /hooks/sse] [--hold SECONDS]"
                        .into(),
                );
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.posters == 0 || args.rate <= 0.0 {
        return Err("--posters and --rate must be positive".into());
    }
    Ok(args)
}

/// What the clients record, shared without locks: per capture id (offset from `base`), the first and last arrival
/// time (nanoseconds since `start`) and how many clients saw it.
struct Arrivals {
    start: Instant,
    /// `start` on the wall clock (nanoseconds since the epoch), the clock of the kernel's receive timestamps.
    start_wall: u64,
    base: AtomicU64,
    first: Vec<AtomicU64>,
    last: Vec<AtomicU64>,
    count: Vec<AtomicU32>,
    /// Every arrival of a tracked event at a client: (capture index, nanoseconds since `start` when the probe read
    /// it, and when the kernel received it or [`NO_STAMP`]). The capture's 2xx may come after its event, so the
    /// latency of each delivery is worked out once the run is over.
    deliveries: Mutex<Vec<(u32, u64, u64)>>,
    /// Every `request` event seen by any client, tracked or not.
    events: AtomicU64,
    /// Events of other kinds (deleted, cleared, evicted, lagged, ...).
    other_events: AtomicU64,
    bytes: AtomicU64,
    connected: AtomicUsize,
    failed: AtomicUsize,
}

impl Arrivals {
    fn new(capacity: usize) -> Arrivals {
        Arrivals {
            start: Instant::now(),
            start_wall: wall_clock_ns(),
            base: AtomicU64::new(u64::MAX),
            first: (0..capacity).map(|_| AtomicU64::new(u64::MAX)).collect(),
            last: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            count: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            deliveries: Mutex::new(Vec::new()),
            events: AtomicU64::new(0),
            other_events: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            connected: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        }
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// A kernel receive timestamp on the same scale as [`Arrivals::now_ns`], or [`NO_STAMP`].
    fn kernel_ns(&self, stamp: Option<u64>) -> u64 {
        stamp.map_or(NO_STAMP, |stamp| stamp.saturating_sub(self.start_wall))
    }

    /// Records the request events one read brought, all seen at `at`: one lock per read, not per event, so that
    /// the probe's own work stays small beside the stream it measures.
    fn record(&self, ids: &[u64], at: u64, kernel_at: u64) {
        if ids.is_empty() {
            return;
        }
        self.events.fetch_add(ids.len() as u64, Ordering::Relaxed);
        let base = self.base.load(Ordering::Relaxed);
        let tracked = ids.iter().filter_map(|&id| {
            let index = usize::try_from(id.checked_sub(base)?).ok()?;
            (index < self.first.len()).then_some(index)
        });
        let Ok(mut deliveries) = self.deliveries.lock() else {
            return;
        };
        for index in tracked {
            self.first[index].fetch_min(at, Ordering::Relaxed);
            self.last[index].fetch_max(at, Ordering::Relaxed);
            self.count[index].fetch_add(1, Ordering::Relaxed);
            if let Ok(index) = u32::try_from(index) {
                deliveries.push((index, at, kernel_at));
            }
        }
    }
}

/// Undoes HTTP/1.1 chunked transfer coding incrementally, so an SSE line split across chunks is still whole.
#[derive(Default)]
struct Dechunker {
    state: ChunkState,
    size: usize,
}

#[derive(Default, Clone, Copy, PartialEq)]
enum ChunkState {
    #[default]
    Size,
    /// Skipping a chunk extension up to the line end.
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
}

impl Dechunker {
    /// Feeds raw bytes; calls `out` with each run of payload bytes.
    fn feed(&mut self, mut input: &[u8], out: &mut impl FnMut(&[u8])) {
        while !input.is_empty() {
            if self.state == ChunkState::Data {
                let take = self.size.min(input.len());
                out(&input[..take]);
                self.size -= take;
                input = &input[take..];
                if self.size == 0 {
                    self.state = ChunkState::DataCr;
                }
                continue;
            }
            let byte = input[0];
            input = &input[1..];
            self.state = match (self.state, byte) {
                (ChunkState::Size, b'0'..=b'9') => {
                    self.size = self.size * 16 + usize::from(byte - b'0');
                    ChunkState::Size
                }
                (ChunkState::Size, b'a'..=b'f') => {
                    self.size = self.size * 16 + usize::from(byte - b'a' + 10);
                    ChunkState::Size
                }
                (ChunkState::Size, b'A'..=b'F') => {
                    self.size = self.size * 16 + usize::from(byte - b'A' + 10);
                    ChunkState::Size
                }
                (ChunkState::Size | ChunkState::Extension, b'\r') => ChunkState::SizeLf,
                (ChunkState::Size | ChunkState::Extension | ChunkState::SizeLf, b'\n') => {
                    if self.size == 0 {
                        // The last chunk: the stream ended.
                        ChunkState::Size
                    } else {
                        ChunkState::Data
                    }
                }
                (ChunkState::Size | ChunkState::Extension, _) => ChunkState::Extension,
                (ChunkState::SizeLf, _) => ChunkState::SizeLf,
                (ChunkState::DataCr, b'\r') => ChunkState::DataLf,
                (ChunkState::DataCr | ChunkState::DataLf, b'\n') => {
                    self.size = 0;
                    ChunkState::Size
                }
                (state, _) => state,
            };
        }
    }
}

/// Splits a text/event-stream into events and collects the id of each `request` event.
#[derive(Default)]
struct SseParser {
    line: Vec<u8>,
    event_is_request: bool,
    event_named: bool,
    id: Option<u64>,
    /// Ids of the request events completed in the current read.
    requests: Vec<u64>,
    /// Events of other kinds completed in the current read.
    others: u64,
}

impl SseParser {
    fn feed(&mut self, mut input: &[u8]) {
        // memchr, not a byte loop: each client reads about a megabyte a second of JSON at 1k req/s, and a byte
        // loop made the probe's own CPU the bottleneck of the latency it measures.
        while let Some(end) = memchr::memchr(b'\n', input) {
            if self.line.is_empty() {
                self.line_done(&input[..end]);
            } else {
                self.line.extend_from_slice(&input[..end]);
                let line = std::mem::take(&mut self.line);
                self.line_done(&line);
                self.line = line;
                self.line.clear();
            }
            input = &input[end + 1..];
        }
        self.line.extend_from_slice(input);
    }

    fn line_done(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            // Dispatch. An unnamed event is a `message`; hookscope names its capture events `request`.
            if let Some(id) = self.id.take() {
                if self.event_is_request || !self.event_named {
                    self.requests.push(id);
                } else {
                    self.others += 1;
                }
            } else if self.event_named {
                self.others += 1;
            }
            self.event_is_request = false;
            self.event_named = false;
        } else if let Some(value) = line.strip_prefix(b"id:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            self.id = std::str::from_utf8(value).ok().and_then(|text| text.parse().ok());
        } else if let Some(value) = line.strip_prefix(b"event:") {
            let value = value.strip_prefix(b" ").unwrap_or(value);
            self.event_named = true;
            self.event_is_request = value == b"request";
        }
    }

    /// Hands what the last read completed to `arrivals`.
    fn flush(&mut self, arrivals: &Arrivals, at: u64, kernel_at: u64) {
        arrivals.record(&self.requests, at, kernel_at);
        self.requests.clear();
        if self.others > 0 {
            arrivals
                .other_events
                .fetch_add(std::mem::take(&mut self.others), Ordering::Relaxed);
        }
    }
}

fn wall_clock_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
}

/// A delivery or a 2xx without a kernel timestamp; it is left out of the figures timed by the kernel.
const NO_STAMP: u64 = u64::MAX;

/// Reads with the kernel's receive timestamps (`SO_TIMESTAMPNS`). The probe shares one core with the posters and a
/// thousand clients and may read an event a while after it arrived; the kernel's timestamp is when it reached the
/// client's socket, whatever the probe was doing. Linux gives the timestamp of the last segment a read returns,
/// so when the probe lags and one read returns several events, the earlier ones are timed late: the figure can
/// still hold some of the probe's lag, never less than the server's.
#[cfg(target_os = "linux")]
mod stamped {
    use std::io::IoSliceMut;
    use std::os::fd::AsRawFd as _;

    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
    use tokio::io::Interest;
    use tokio::net::TcpStream;

    /// Room for one timestamp message.
    pub fn control_buffer() -> Vec<u8> {
        nix::cmsg_space!(nix::sys::time::TimeSpec)
    }

    pub fn enable(stream: &TcpStream) -> std::io::Result<()> {
        setsockopt(stream, sockopt::ReceiveTimestampns, &true).map_err(std::io::Error::from)
    }

    /// One read, and when the kernel received the last segment it returned (nanoseconds since the epoch).
    pub async fn read(
        stream: &mut TcpStream,
        buffer: &mut [u8],
        control: &mut [u8],
    ) -> std::io::Result<(usize, Option<u64>)> {
        loop {
            stream.readable().await?;
            let read = stream.try_io(Interest::READABLE, || {
                let mut slices = [IoSliceMut::new(&mut *buffer)];
                let message = recvmsg::<()>(stream.as_raw_fd(), &mut slices, Some(&mut *control), MsgFlags::empty())
                    .map_err(std::io::Error::from)?;
                let stamp = message.cmsgs().ok().into_iter().flatten().find_map(|cmsg| match cmsg {
                    ControlMessageOwned::ScmTimestampns(at) => {
                        Some(u64::try_from(at.tv_sec()).ok()? * 1_000_000_000 + u64::try_from(at.tv_nsec()).ok()?)
                    }
                    _ => None,
                });
                Ok((message.bytes, stamp))
            });
            match read {
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => continue,
                other => return other,
            }
        }
    }
}

/// Elsewhere reads carry no timestamp, and the figures timed by the kernel are left empty.
#[cfg(not(target_os = "linux"))]
mod stamped {
    use tokio::io::AsyncReadExt as _;
    use tokio::net::TcpStream;

    pub fn control_buffer() -> Vec<u8> {
        Vec::new()
    }

    pub fn enable(_: &TcpStream) -> std::io::Result<()> {
        Ok(())
    }

    pub async fn read(
        stream: &mut TcpStream,
        buffer: &mut [u8],
        _: &mut [u8],
    ) -> std::io::Result<(usize, Option<u64>)> {
        Ok((stream.read(buffer).await?, None))
    }
}

fn header_end(buffer: &[u8]) -> Option<usize> {
    buffer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// One live-stream viewer: subscribes, signals when the stream is open, then records every event until EOF.
async fn client(addr: SocketAddr, arrivals: Arc<Arrivals>, connecting: Arc<Semaphore>) -> std::io::Result<()> {
    let permit = connecting.acquire_owned().await.map_err(std::io::Error::other)?;
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    stamped::enable(&stream)?;
    let request = format!("GET /_/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut filled = 0;
    let body_start = loop {
        let read = stream.read(&mut buffer[filled..]).await?;
        if read == 0 {
            return Err(std::io::Error::other("the server closed the stream before its headers"));
        }
        filled += read;
        if let Some(end) = header_end(&buffer[..filled]) {
            break end;
        }
        if filled == buffer.len() {
            return Err(std::io::Error::other("response headers too large"));
        }
    };
    let head = String::from_utf8_lossy(&buffer[..body_start]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        let first = head.lines().next().unwrap_or_default().to_owned();
        return Err(std::io::Error::other(format!("GET /_/events answered {first}")));
    }
    let chunked = head.contains("transfer-encoding: chunked");
    arrivals.connected.fetch_add(1, Ordering::Relaxed);
    drop(permit);

    let mut dechunker = Dechunker::default();
    let mut parser = SseParser::default();
    let mut pending = body_start..filled;
    let mut control = stamped::control_buffer();
    let mut stamp = None;
    loop {
        let at = arrivals.now_ns();
        let kernel_at = arrivals.kernel_ns(stamp);
        let data = &buffer[pending.clone()];
        arrivals.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        if chunked {
            dechunker.feed(data, &mut |payload| parser.feed(payload));
        } else {
            parser.feed(data);
        }
        parser.flush(&arrivals, at, kernel_at);
        let (read, read_stamp) = stamped::read(&mut stream, &mut buffer, &mut control).await?;
        if read == 0 {
            return Ok(());
        }
        stamp = read_stamp;
        pending = 0..read;
    }
}

/// Connects every client and waits until each stream is open (or has failed).
async fn connect_clients(args: &Args, arrivals: &Arc<Arrivals>) -> Vec<tokio::task::JoinHandle<()>> {
    let connecting = Arc::new(Semaphore::new(64));
    let handles: Vec<_> = (0..args.clients)
        .map(|_| {
            let arrivals = arrivals.clone();
            let connecting = connecting.clone();
            let addr = args.addr;
            tokio::spawn(async move {
                if let Err(error) = client(addr, arrivals.clone(), connecting).await
                    && arrivals.failed.fetch_add(1, Ordering::Relaxed) < 3
                {
                    eprintln!("sse_probe: a client failed: {error}");
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.connected.load(Ordering::Relaxed) + arrivals.failed.load(Ordering::Relaxed) < args.clients
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    handles
}

/// A 1 KiB channel_event with a fresh UUID-shaped idempotency key.
fn capture_body(prefix: u32, counter: u64) -> String {
    let key = format!(
        "{prefix:08x}-{:04x}-4000-8000-{:012x}",
        counter & 0xffff,
        counter & 0xffff_ffff_ffff
    );
    let start = format!(
        r#"{{"event":"invoices.created","message":"Invoice created successfully.","idempotency_key":"{key}","environment":"staging","data":{{"id":{counter},"note":""#
    );
    let fill = 1024usize.saturating_sub(start.len() + 3);
    format!("{start}{}\"}}}}", "x".repeat(fill))
}

/// A keep-alive poster: one capture at a time; answers the capture's id and the instant its 2xx arrived.
struct Poster {
    stream: TcpStream,
    buffer: Vec<u8>,
    /// Room for the kernel's receive timestamp of each read.
    control: Vec<u8>,
    addr: SocketAddr,
    path: String,
}

impl Poster {
    async fn connect(addr: SocketAddr, path: &str) -> std::io::Result<Poster> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        stamped::enable(&stream)?;
        Ok(Poster {
            stream,
            buffer: vec![0; 16 * 1024],
            control: stamped::control_buffer(),
            addr,
            path: path.to_owned(),
        })
    }

    /// Sends one capture; answers its id and when the kernel received the end of its 2xx.
    async fn post(&mut self, body: &str) -> std::io::Result<(u64, Option<u64>)> {
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.path,
            self.addr,
            body.len()
        );
        self.stream.write_all(request.as_bytes()).await?;
        let mut filled = 0;
        loop {
            let (read, stamp) = stamped::read(&mut self.stream, &mut self.buffer[filled..], &mut self.control).await?;
            if read == 0 {
                return Err(std::io::Error::other("the server closed a poster connection"));
            }
            filled += read;
            let Some(end) = header_end(&self.buffer[..filled]) else {
                continue;
            };
            let head = String::from_utf8_lossy(&self.buffer[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse().ok())
                .ok_or_else(|| std::io::Error::other("an answer without Content-Length"))?;
            if filled < end + length {
                continue;
            }
            if !head.starts_with("http/1.1 2") {
                return Err(std::io::Error::other(format!(
                    "a capture was answered {}",
                    head.lines().next().unwrap_or_default()
                )));
            }
            let answer = String::from_utf8_lossy(&self.buffer[end..end + length]).into_owned();
            let id = answer
                .split_once("\"id\":")
                .and_then(|(_, rest)| {
                    let digits: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
                    digits.parse().ok()
                })
                .ok_or_else(|| std::io::Error::other(format!("no id in the answer {answer}")))?;
            return Ok((id, stamp));
        }
    }
}

/// One capture's 2xx, in nanoseconds since the run started.
#[derive(Clone, Copy)]
struct Ack {
    id: u64,
    /// When the probe read the 2xx.
    read_at: u64,
    /// From sending the capture to reading its 2xx.
    round_trip: u64,
    /// When the kernel received the 2xx.
    kernel_at: u64,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

/// The median, p99 and maximum of sorted nanosecond figures, in milliseconds, as the summary lines print them.
fn spread(sorted: &[u64]) -> String {
    format!(
        "p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
        percentile(sorted, 50.0),
        percentile(sorted, 99.0),
        percentile(sorted, 100.0)
    )
}

/// The upper percentiles of sorted nanosecond figures, in milliseconds.
fn upper_spread(sorted: &[u64]) -> String {
    format!(
        "p75 {:.3}  p90 {:.3}  p95 {:.3}  p99.9 {:.3} ms",
        percentile(sorted, 75.0),
        percentile(sorted, 90.0),
        percentile(sorted, 95.0),
        percentile(sorted, 99.9)
    )
}

async fn hold(args: &Args, seconds: f64) {
    let arrivals = Arc::new(Arrivals::new(0));
    let _clients = connect_clients(args, &arrivals).await;
    let connected = arrivals.connected.load(Ordering::Relaxed);
    println!("READY clients={connected}");
    let _ = std::io::stdout().flush();
    let before = arrivals.events.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let events = arrivals.events.load(Ordering::Relaxed) - before;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "SSEJSON {{\"mode\":\"hold\",\"clients\":{connected},\"failed\":{},\"events\":{events},\"events_per_s\":{:.1},\
         \"other_events\":{},\"mbytes\":{:.1}}}",
        arrivals.failed.load(Ordering::Relaxed),
        events as f64 / elapsed,
        arrivals.other_events.load(Ordering::Relaxed),
        arrivals.bytes.load(Ordering::Relaxed) as f64 / 1e6,
    );
}

async fn latency(args: &Args) -> Result<(), String> {
    let capacity = (args.rate * args.seconds * 1.5) as usize + 1024;
    let arrivals = Arc::new(Arrivals::new(capacity));
    let connect_started = Instant::now();
    let _clients = connect_clients(args, &arrivals).await;
    let connected = arrivals.connected.load(Ordering::Relaxed);
    eprintln!(
        "sse_probe: {connected} of {} clients connected in {:.2} s",
        args.clients,
        connect_started.elapsed().as_secs_f64()
    );
    if connected == 0 && args.clients > 0 {
        return Err("no live-stream client could connect".into());
    }

    let prefix = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or(7))
        ^ 0x5eed_0000;
    // A first capture tells where the ids of this run start.
    let mut warmup = Poster::connect(args.addr, &args.path)
        .await
        .map_err(|e| e.to_string())?;
    let (first, _) = warmup.post(&capture_body(prefix, 0)).await.map_err(|e| e.to_string())?;
    arrivals.base.store(first + 1, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let acks: Arc<Mutex<Vec<Ack>>> = Arc::new(Mutex::new(Vec::with_capacity(capacity)));
    let counter = Arc::new(AtomicU64::new(1));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.seconds);
    let period = Duration::from_secs_f64(args.posters as f64 / args.rate);
    let mut posters = Vec::new();
    let count = args.posters as f64;
    for index in 0..args.posters {
        let mut poster = Poster::connect(args.addr, &args.path)
            .await
            .map_err(|e| e.to_string())?;
        let (acks, counter, errors, arrivals) = (acks.clone(), counter.clone(), errors.clone(), arrivals.clone());
        posters.push(tokio::spawn(async move {
            // Staggered so the posters do not fire together.
            let offset = period.mul_f64(index as f64 / count);
            let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            while Instant::now() < until {
                ticker.tick().await;
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let body = capture_body(prefix, n);
                let sent = arrivals.now_ns();
                match poster.post(&body).await {
                    Ok((id, stamp)) => {
                        let at = arrivals.now_ns();
                        let kernel_at = arrivals.kernel_ns(stamp);
                        acks.lock().expect("acks lock").push(Ack {
                            id,
                            read_at: at,
                            round_trip: at.saturating_sub(sent),
                            kernel_at,
                        });
                    }
                    Err(error) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("sse_probe: {error}");
                        }
                        return;
                    }
                }
            }
        }));
    }
    for poster in posters {
        let _ = poster.await;
    }
    let posting = started.elapsed().as_secs_f64();
    // Let the last events arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let acks = acks.lock().expect("acks lock").clone();
    let base = arrivals.base.load(Ordering::Relaxed);
    let (mut to_first, mut to_all) = (Vec::new(), Vec::new());
    let (mut missing, mut incomplete, mut early) = (0u64, 0u64, 0u64);
    for &Ack { id, read_at: ack, .. } in &acks {
        let Some(index) = id.checked_sub(base).and_then(|i| usize::try_from(i).ok()) else {
            continue;
        };
        if index >= capacity {
            continue;
        }
        let count = arrivals.count[index].load(Ordering::Relaxed) as usize;
        if count == 0 {
            missing += 1;
            continue;
        }
        let first = arrivals.first[index].load(Ordering::Relaxed);
        let last = arrivals.last[index].load(Ordering::Relaxed);
        if first < ack {
            early += 1;
        }
        to_first.push(first.saturating_sub(ack));
        if count >= connected {
            to_all.push(last.saturating_sub(ack));
        } else {
            incomplete += 1;
        }
    }
    to_first.sort_unstable();
    to_all.sort_unstable();
    // Every delivery to every client, each timed from its capture's 2xx; then the same deliveries timed from when
    // the kernel received each (the 2xx and the event), and from when each capture was sent: what a viewer sees of a
    // sender's request, whether the 2xx went out early or late.
    let mut by_index: Vec<Option<Ack>> = vec![None; capacity];
    for &ack in &acks {
        if let Some(slot) = ack
            .id
            .checked_sub(base)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| by_index.get_mut(i))
        {
            *slot = Some(ack);
        }
    }
    let (mut to_each, mut kernel_to_each, mut sent_to_each) = (Vec::new(), Vec::new(), Vec::new());
    let mut unstamped = 0u64;
    for &(index, at, kernel_at) in arrivals.deliveries.lock().expect("deliveries lock").iter() {
        let Some(&Some(ack)) = usize::try_from(index).ok().and_then(|i| by_index.get(i)) else {
            continue;
        };
        to_each.push(at.saturating_sub(ack.read_at));
        sent_to_each.push(at.saturating_sub(ack.read_at.saturating_sub(ack.round_trip)));
        if kernel_at == NO_STAMP || ack.kernel_at == NO_STAMP {
            unstamped += 1;
        } else {
            kernel_to_each.push(kernel_at.saturating_sub(ack.kernel_at));
        }
    }
    to_each.sort_unstable();
    kernel_to_each.sort_unstable();
    sent_to_each.sort_unstable();
    // The 2xx is where every latency above starts; a server that answered late would look faster here.
    let mut round_trips: Vec<u64> = acks.iter().map(|ack| ack.round_trip).collect();
    round_trips.sort_unstable();
    let rate = acks.len() as f64 / posting;
    println!(
        "captures: {} in {posting:.2} s = {rate:.0} req/s (asked {:.0}), {} errors; clients: {connected}",
        acks.len(),
        args.rate,
        errors.load(Ordering::Relaxed)
    );
    println!("capture round trip (request sent to its 2xx): {}", spread(&round_trips));
    println!("2xx -> event at first client: {}", spread(&to_first));
    println!(
        "2xx -> event at a client (each of {} deliveries): {}",
        to_each.len(),
        spread(&to_each)
    );
    println!("   each, spread: {}", upper_spread(&to_each));
    println!("2xx -> event at every client: {}", spread(&to_all));
    println!(
        "2xx -> event at a client, as the kernel received both (each; {unstamped} without a timestamp left out): {}",
        spread(&kernel_to_each)
    );
    println!("   each, spread: {}", upper_spread(&kernel_to_each));
    println!("request sent -> event at a client (each): {}", spread(&sent_to_each));
    println!(
        "events never seen: {missing}; seen by only some clients: {incomplete}; seen before the 2xx: {early}; \
         other events: {}",
        arrivals.other_events.load(Ordering::Relaxed)
    );
    let json_ms = |value: f64| {
        if value.is_nan() {
            "null".to_owned()
        } else {
            format!("{value:.3}")
        }
    };
    println!(
        "SSEJSON {{\"mode\":\"latency\",\"clients\":{connected},\"failed\":{},\"captures\":{},\"rps\":{rate:.1},\
         \"errors\":{},\"first_p50_ms\":{},\"first_p99_ms\":{},\"first_max_ms\":{},\"all_p50_ms\":{},\
         \"all_p99_ms\":{},\"all_max_ms\":{},\"each_p50_ms\":{},\"each_p99_ms\":{},\"each_max_ms\":{},\
         \"rtt_p50_ms\":{},\"rtt_p99_ms\":{},\"sent_each_p50_ms\":{},\"sent_each_p99_ms\":{},\
         \"kernel_each_p50_ms\":{},\"kernel_each_p99_ms\":{},\"unstamped\":{unstamped},\"missing\":{missing},\
         \"incomplete\":{incomplete},\"early\":{early}}}",
        arrivals.failed.load(Ordering::Relaxed),
        acks.len(),
        errors.load(Ordering::Relaxed),
        json_ms(percentile(&to_first, 50.0)),
        json_ms(percentile(&to_first, 99.0)),
        json_ms(percentile(&to_first, 100.0)),
        json_ms(percentile(&to_all, 50.0)),
        json_ms(percentile(&to_all, 99.0)),
        json_ms(percentile(&to_all, 100.0)),
        json_ms(percentile(&to_each, 50.0)),
        json_ms(percentile(&to_each, 99.0)),
        json_ms(percentile(&to_each, 100.0)),
        json_ms(percentile(&round_trips, 50.0)),
        json_ms(percentile(&round_trips, 99.0)),
        json_ms(percentile(&sent_to_each, 50.0)),
        json_ms(percentile(&sent_to_each, 99.0)),
        json_ms(percentile(&kernel_to_each, 50.0)),
        json_ms(percentile(&kernel_to_each, 99.0)),
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("sse_probe: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(async {
        match args.hold {
            Some(seconds) => {
                hold(&args, seconds).await;
                Ok(())
            }
            None => latency(&args).await,
        }
    });
    // The client tasks never end on their own; do not wait for them.
    runtime.shutdown_background();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sse_probe: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
