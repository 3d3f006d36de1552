//! Fills a hookscope database with N realistic captured requests, fast, for the 1M-row scenario of
//! `bench/run.sh`. It goes through the library's real write path (`Store::insert`, the group-committing writer,
//! the same schema and indexes), from many concurrent tasks so every commit carries a full batch, with
//! `Durability::Normal` (the rows' content does not depend on it; only the fill's speed does).
//!
//! The mix, deterministic for a given N:
//! - 70 % channel_event bodies over every channel/event pair, posted to `/hooks/acme` or `/hooks/books`;
//!   about 5 % of them break the envelope (wrong environment or an event the channel does not allow), and about
//!   2 % repeat an earlier idempotency key (duplicates);
//! - 20 % entity_action bodies to `/crm/events`, half carrying a `webhook-id` header key; about 5 % invalid;
//! - 10 % bodies matching no envelope: small JSON pings to `/webhooks/misc` and form posts to `/ping`.
//!
//! Bodies are 200 to 1,400 bytes. Usage: `fill_store PATH ROWS`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use hookscope::endpoints::Answer;
use hookscope::idempotency::request_key;
use hookscope::profiles::channels::CHANNELS;
use hookscope::profiles::inspect;
use hookscope::record::{ForwardState, NewRequest, ResponseRecord, now_ms};
use hookscope::signatures::Check;
use hookscope::store::{Durability, Location, Store, StoreOptions};
use tokio::sync::Semaphore;

/// Captures in flight at once: enough to fill the writer's 512-command batches.
const IN_FLIGHT: usize = 2048;

/// A small, fast, deterministic generator (SplitMix64).
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn uuid_from(n: u64) -> String {
    let h = mix(n ^ 0xabcdef);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (n >> 48) & 0xfff,
        n & 0xffff_ffff_ffff
    )
}

/// Header names and raw values, as capture keeps them.
type Headers = Vec<(String, Vec<u8>)>;

/// The request number `i`: path, headers, body.
fn make(i: u64, pairs: &[(&str, &str)]) -> (String, Headers, Vec<u8>) {
    let r = mix(i);
    let kind = r % 100;
    let pad = "lorem ipsum ".repeat(((r >> 8) % 100) as usize);
    let mut headers = vec![
        ("host".to_owned(), b"127.0.0.1:8080".to_vec()),
        ("user-agent".to_owned(), b"provider-webhooks/2.3".to_vec()),
        ("accept".to_owned(), b"*/*".to_vec()),
    ];
    let (path, content_type, body) = if kind < 70 {
        let (channel, event) = pairs[((r >> 16) as usize) % pairs.len()];
        let invalid = (r >> 24) % 100 < 5;
        let duplicate = (r >> 32) % 100 < 2 && i > 1000;
        let key = if duplicate {
            uuid_from(i - 1 - (r >> 40) % 1000)
        } else {
            uuid_from(i)
        };
        let (event, environment) = if invalid {
            if (r >> 48).is_multiple_of(2) {
                (format!("{channel}.{event}"), "dev")
            } else {
                (format!("{channel}.exploded"), "production")
            }
        } else {
            (
                format!("{channel}.{event}"),
                if (r >> 48).is_multiple_of(4) {
                    "production"
                } else {
                    "staging"
                },
            )
        };
        let path = if (r >> 52) % 10 < 7 {
            "/hooks/acme"
        } else {
            "/hooks/books"
        };
        let body = format!(
            r#"{{"event":"{event}","message":"{channel} {event} successfully.","idempotency_key":"{key}","environment":"{environment}","data":{{"id":{i},"note":"{pad}"}}}}"#
        );
        (path, "application/json", body)
    } else if kind < 90 {
        let entity = if r.is_multiple_of(3) { "company" } else { "user" };
        let action = ["new", "update", "delete", "test"][((r >> 20) % 4) as usize];
        let invalid = (r >> 24) % 100 < 5;
        let result = if invalid || action == "delete" {
            String::new()
        } else {
            format!(r#","result":{{"name":"Entity {i}","note":"{pad}"}}"#)
        };
        if (r >> 30).is_multiple_of(2) {
            headers.push(("webhook-id".to_owned(), format!("msg_{}", uuid_from(i)).into_bytes()));
        }
        let body = format!(r#"{{"entity_id":{i},"entity_type":"{entity}","action_type":"{action}"{result}}}"#);
        ("/crm/events", "application/json", body)
    } else if kind < 95 {
        let body = format!(r#"{{"type":"ping","sequence":{i},"note":"{pad}"}}"#);
        ("/webhooks/misc", "application/json", body)
    } else {
        let body = format!("sequence={i}&status=ok&note={}", pad.replace(' ', "+"));
        ("/ping", "application/x-www-form-urlencoded", body)
    };
    headers.push(("content-type".to_owned(), content_type.as_bytes().to_vec()));
    headers.push(("content-length".to_owned(), body.len().to_string().into_bytes()));
    (path.to_owned(), headers, body.into_bytes())
}

async fn fill(path: std::path::PathBuf, rows: u64) -> anyhow::Result<()> {
    let store = Store::open(&StoreOptions {
        location: Location::File(path),
        durability: Durability::Normal,
        keep: None,
        max_bytes: None,
    })?;
    let pairs: Arc<Vec<(&str, &str)>> = Arc::new(
        CHANNELS
            .iter()
            .flat_map(|(channel, events)| events.iter().map(move |event| (*channel, *event)))
            .collect(),
    );
    let started = Instant::now();
    let room = Arc::new(Semaphore::new(IN_FLIGHT));
    let failed = Arc::new(AtomicU64::new(0));
    for i in 0..rows {
        let permit = room.clone().acquire_owned().await?;
        let (store, pairs, failed) = (store.clone(), pairs.clone(), failed.clone());
        tokio::spawn(async move {
            let (path, headers, body) = make(i, &pairs);
            let content_type = headers
                .iter()
                .find(|(name, _)| name == "content-type")
                .map(|(_, value)| String::from_utf8_lossy(value).into_owned());
            let verdict = inspect(&body, content_type.as_deref());
            let idempotency_key = request_key(
                verdict.idempotency_key.as_deref(),
                headers.iter().map(|(name, value)| (name.as_str(), value.as_slice())),
            );
            let mut header_map = hyper::HeaderMap::new();
            for (name, value) in &headers {
                if let (Ok(name), Ok(value)) = (
                    hyper::header::HeaderName::from_bytes(name.as_bytes()),
                    hyper::header::HeaderValue::from_bytes(value),
                ) {
                    header_map.append(name, value);
                }
            }
            let request = NewRequest {
                received_at_ms: now_ms(),
                method: "POST".into(),
                path,
                query: String::new(),
                remote_addr: format!("127.0.0.1:{}", 40000 + i % 20000),
                content_type,
                body: Bytes::from(body),
                verdict,
                idempotency_key,
                headers: header_map,
                endpoint: None,
                response: ResponseRecord::of(&Answer::default_with(200)),
                signature: Check::default(),
                forward: ForwardState::None,
                delivery: None,
            };
            if store.insert(request).await.is_err() {
                failed.fetch_add(1, Ordering::Relaxed);
            }
            drop(permit);
        });
        if i > 0 && i.is_multiple_of(200_000) {
            eprintln!("fill_store: {i} rows, {:.1} s", started.elapsed().as_secs_f64());
        }
    }
    // Wait for the last inserts.
    let _ = room.acquire_many(u32::try_from(IN_FLIGHT).unwrap_or(u32::MAX)).await?;
    store.close().await;
    let failed = failed.load(Ordering::Relaxed);
    println!(
        "fill_store: {} rows in {:.1} s ({failed} failed)",
        rows - failed,
        started.elapsed().as_secs_f64()
    );
    anyhow::ensure!(failed == 0, "{failed} inserts failed");
    Ok(())
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(rows)) = (args.next(), args.next().and_then(|rows| rows.parse::<u64>().ok())) else {
        eprintln!("usage: fill_store PATH ROWS");
        return std::process::ExitCode::from(2);
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(fill(path.into(), rows)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fill_store: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
