//! A real target server for forwarding tests: it reads each request byte for byte off the socket (so header order
//! and case can be checked), keeps it, and answers with scripted statuses, headers, bodies and delays.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// One request as the target read it.
#[derive(Debug, Clone)]
pub struct Received {
    /// `POST /app?x=1 HTTP/1.1`
    pub request_line: String,
    /// `(name, value)` exactly as on the wire, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The values of a header, by name in any case.
    pub fn header(&self, name: &str) -> Vec<Vec<u8>> {
        self.headers
            .iter()
            .filter(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
            .collect()
    }

    /// The first value of a header as text.
    pub fn text(&self, name: &str) -> Option<String> {
        self.header(name)
            .first()
            .map(|value| String::from_utf8_lossy(value).into_owned())
    }
}

/// How the target answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: b"ok".to_vec(),
            delay: Duration::ZERO,
        }
    }
}

/// A running target.
pub struct Target {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    replies: Arc<Mutex<VecDeque<Reply>>>,
    task: JoinHandle<()>,
}

impl Target {
    /// A target on a free loopback port, answering 200 unless told otherwise.
    pub async fn start() -> Target {
        Target::start_on("127.0.0.1:0".parse().expect("address")).await
    }

    /// A target on `addr` (a port a test chose while nothing listened there).
    pub async fn start_on(addr: SocketAddr) -> Target {
        let listener = TcpListener::bind(addr).await.expect("target binds");
        let addr = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(Mutex::new(VecDeque::new()));
        let task = {
            let received = Arc::clone(&received);
            let replies = Arc::clone(&replies);
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, Arc::clone(&received), Arc::clone(&replies)));
                }
            })
        };
        Target {
            addr,
            received,
            replies,
            task,
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Answers the next requests with these, in order (then 200).
    pub fn reply(&self, replies: impl IntoIterator<Item = Reply>) {
        self.replies.lock().expect("replies").extend(replies);
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }

    /// Waits until `count` requests arrived (at most 20 s) and returns them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the target got {} of {count} requests",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// A loopback port nothing listens on (bound, then let go).
pub fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

async fn serve(mut stream: TcpStream, received: Arc<Mutex<Vec<Received>>>, replies: Arc<Mutex<VecDeque<Reply>>>) {
    let mut buffer = Vec::new();
    loop {
        let head_end = loop {
            if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                break end;
            }
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            }
        };
        let head = buffer[..head_end].to_vec();
        let mut lines = head.split(|byte| *byte == b'\n');
        let request_line = String::from_utf8_lossy(lines.next().unwrap_or_default())
            .trim_end()
            .to_owned();
        let headers: Vec<(String, Vec<u8>)> = lines
            .filter_map(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let colon = line.iter().position(|byte| *byte == b':')?;
                let value = &line[colon + 1..];
                let start = value.iter().position(|byte| *byte != b' ').unwrap_or(value.len());
                Some((
                    String::from_utf8_lossy(&line[..colon]).into_owned(),
                    value[start..].to_vec(),
                ))
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| String::from_utf8_lossy(value).parse().ok())
            .unwrap_or(0);
        buffer.drain(..head_end + 4);
        while buffer.len() < length {
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            }
        }
        let body: Vec<u8> = buffer.drain(..length).collect();
        received.lock().expect("received").push(Received {
            request_line,
            headers,
            body,
        });
        let reply = replies
            .lock()
            .expect("replies")
            .pop_front()
            .unwrap_or_else(|| Reply::status(200));
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        let mut answer = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            reply.status,
            reply.body.len()
        );
        for (name, value) in &reply.headers {
            answer.push_str(&format!("{name}: {value}\r\n"));
        }
        answer.push_str("\r\n");
        let mut bytes = answer.into_bytes();
        bytes.extend_from_slice(&reply.body);
        if stream.write_all(&bytes).await.is_err() {
            return;
        }
    }
}
