//! `hookscope send`: a provider simulator. Requests of a profile (or a file's body) at a rate and a concurrency,
//! some broken or repeated on purpose, signed when asked, retried with exponential backoff on 5xx and timeouts, and
//! stopped at the first 410 as seed 002's providers do; a progress bar on a terminal, and a summary at the end.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::ClientError;
use super::payloads::{PROFILES, Payload, payload};
use crate::cli::SendArgs;
use crate::signatures::{self, Scheme, Signing};

/// How long one try may take.
const TRY_TIMEOUT: Duration = Duration::from_secs(10);

/// The first retry's wait; each later one doubles it.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// What a run did.
#[derive(Debug, Default, Serialize)]
struct Summary {
    sent: u64,
    /// Requests by the status of their last answer (`timeout` or `error` for none).
    answered: BTreeMap<String, u64>,
    latency_ms: Latency,
    retries: u64,
    stopped_by_410: bool,
    invalid_sent: u64,
    duplicates_sent: u64,
}

#[derive(Debug, Default, Serialize)]
struct Latency {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// Shared between the senders.
struct Run {
    args: SendArgs,
    target: String,
    http: reqwest::Client,
    scheme: Option<Scheme>,
    body: Option<Vec<u8>>,
    extra: Vec<(String, String)>,
    seed: u64,
    next: AtomicU64,
    stop: AtomicBool,
    deadline: Option<Instant>,
    started: Instant,
    latencies: Mutex<Vec<f64>>,
    summary: Mutex<Summary>,
    progress: Option<indicatif::ProgressBar>,
}

pub async fn run(args: SendArgs) -> Result<ExitCode, ClientError> {
    if args.body.is_none() && !PROFILES.contains(&args.profile.as_str()) {
        return Err(ClientError::Usage(format!(
            "--profile {:?} is not one send knows; one of {}",
            args.profile,
            PROFILES.join(", ")
        )));
    }
    let scheme = args
        .sign
        .as_deref()
        .map(|name| {
            Scheme::from_name(name)
                .filter(|scheme| *scheme != Scheme::Hmac && *scheme != Scheme::Twilio)
                .ok_or_else(|| {
                    ClientError::Usage(format!(
                        "--sign {name:?}: one of standard-webhooks, github, stripe, shopify, slack"
                    ))
                })
        })
        .transpose()?;
    if let Some(rate) = args.rate
        && !(rate.is_finite() && rate >= 0.001)
    {
        return Err(ClientError::Usage(format!(
            "--rate {rate} is not a rate; give requests a second, at least 0.001"
        )));
    }
    if let (Some(scheme), Some(secret)) = (scheme, args.secret.as_deref()) {
        let probe = Signing {
            body: b"",
            timestamp: 0,
            id: "msg_probe",
            url: "http://127.0.0.1/",
            form: false,
        };
        signatures::sign(scheme, None, secret, &probe)
            .map_err(|error| ClientError::Usage(format!("--secret cannot sign {}: {error}", scheme.as_str())))?;
    }
    let body = match &args.body {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|error| ClientError::Usage(format!("cannot read {}: {error}", path.display())))?,
        ),
        None => None,
    };
    let extra = args
        .headers
        .iter()
        .map(|header| {
            header
                .split_once(':')
                .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
                .filter(|(name, _)| !name.is_empty())
                .ok_or_else(|| ClientError::Usage(format!("--header {header:?} is not NAME: VALUE")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let duration = args
        .duration
        .as_deref()
        .map(|text| {
            humantime::parse_duration(text)
                .map_err(|_| ClientError::Usage(format!("--duration {text:?} is not a duration, such as 30s")))
        })
        .transpose()?;
    let target = args
        .target
        .clone()
        .unwrap_or_else(|| format!("{}/hooks/{}", args.client.url.trim_end_matches('/'), args.profile));
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(TRY_TIMEOUT)
        .pool_max_idle_per_host(args.concurrency.max(1))
        .build()
        .map_err(|error| ClientError::Usage(format!("cannot make an HTTP client: {error}")))?;
    let progress = (std::io::stderr().is_terminal() && !args.json).then(|| {
        let bar = indicatif::ProgressBar::new(args.count);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} sent, {per_sec} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let run = Arc::new(Run {
        target,
        http,
        scheme,
        body,
        extra,
        seed: u64::from(uuid::Uuid::new_v4().as_u128() as u32),
        next: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        deadline: duration.map(|duration| Instant::now() + duration),
        started: Instant::now(),
        latencies: Mutex::new(Vec::new()),
        summary: Mutex::new(Summary::default()),
        progress,
        args,
    });
    let senders: Vec<_> = (0..run.args.concurrency.max(1))
        .map(|_| tokio::spawn(sender(Arc::clone(&run))))
        .collect();
    for sender in senders {
        if let Err(error) = sender.await {
            return Err(ClientError::Protocol(format!("a sender stopped: {error}")));
        }
    }
    if let Some(bar) = &run.progress {
        bar.finish_and_clear();
    }
    let mut summary = std::mem::take(&mut *run.summary.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    let mut latencies = std::mem::take(&mut *run.latencies.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    latencies.sort_by(f64::total_cmp);
    let at = |share: f64| {
        latencies
            .get(((latencies.len() as f64 * share).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(0.0)
    };
    summary.latency_ms = Latency {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: latencies.last().copied().unwrap_or(0.0),
    };
    if run.args.json {
        println!("{}", serde_json::to_string(&summary).unwrap_or_default());
    } else {
        print_summary(&summary, run.started.elapsed());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(summary: &Summary, took: Duration) {
    let answered: Vec<String> = summary
        .answered
        .iter()
        .map(|(status, count)| format!("{count}× {status}"))
        .collect();
    println!(
        "sent {} in {:.1} s: {}",
        summary.sent,
        took.as_secs_f64(),
        if answered.is_empty() {
            "nothing answered".to_owned()
        } else {
            answered.join(", ")
        }
    );
    println!(
        "latency p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} retries; {} invalid and {} duplicates sent on purpose",
        summary.latency_ms.p50,
        summary.latency_ms.p90,
        summary.latency_ms.p99,
        summary.latency_ms.max,
        summary.retries,
        summary.invalid_sent,
        summary.duplicates_sent
    );
    if summary.stopped_by_410 {
        println!("stopped: the receiver answered 410 Gone, as a provider deactivates the webhook");
    }
}

/// One sender: takes the next request number until the count, the duration or a 410 says stop.
async fn sender(run: Arc<Run>) {
    let args = &run.args;
    loop {
        if run.stop.load(Ordering::Relaxed) || run.deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return;
        }
        let n = run.next.fetch_add(1, Ordering::Relaxed);
        if n >= args.count {
            return;
        }
        if let Some(rate) = args.rate.filter(|rate| *rate > 0.0) {
            let due = run.started + Duration::from_secs_f64(n as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let invalid = args
            .invalid_every
            .is_some_and(|every| every > 0 && (n + 1).is_multiple_of(every));
        let duplicate = !invalid
            && args
                .duplicate_every
                .is_some_and(|every| every > 0 && n > 0 && n.is_multiple_of(every));
        // A duplicate is the previous request again, byte for byte.
        let number = if duplicate { n - 1 } else { n };
        let broken = invalid.then(|| n / args.invalid_every.unwrap_or(1));
        let Some(request) = build(&run, number, broken) else {
            return;
        };
        let (status, latency, retries) = deliver(&run, &request).await;
        {
            let mut summary = run.summary.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            summary.sent += 1;
            *summary.answered.entry(status.clone()).or_default() += 1;
            summary.retries += u64::from(retries);
            summary.invalid_sent += u64::from(invalid);
            summary.duplicates_sent += u64::from(duplicate);
            if status == "410" {
                summary.stopped_by_410 = true;
                run.stop.store(true, Ordering::Relaxed);
            }
        }
        run.latencies
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(latency);
        if let Some(bar) = &run.progress {
            bar.inc(1);
        }
    }
}

/// Request number `n`, broken when asked, with the extra headers and a signature.
fn build(run: &Run, n: u64, broken: Option<u64>) -> Option<Payload> {
    let mut request = match &run.body {
        Some(body) => Payload {
            headers: Vec::new(),
            body: body.clone(),
        },
        None => payload(&run.args.profile, run.seed, n, broken)?,
    };
    request.headers.extend(run.extra.iter().cloned());
    if let (Some(scheme), Some(secret)) = (run.scheme, run.args.secret.as_deref()) {
        let id = request
            .headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case("webhook-id"))
            .map_or_else(|| format!("msg_{n}"), |(_, value)| value.clone());
        let signed = signatures::sign(
            scheme,
            None,
            secret,
            &Signing {
                body: &request.body,
                timestamp: chrono::Utc::now().timestamp(),
                id: &id,
                url: &run.target,
                form: false,
            },
        )
        .ok()?;
        request
            .headers
            .retain(|(name, _)| !signed.iter().any(|(signed, _)| signed.eq_ignore_ascii_case(name)));
        request.headers.extend(signed);
    }
    Some(request)
}

/// Sends one request, retrying 5xx and timeouts; the last status (or `timeout`/`error`), the milliseconds its
/// first try took, and how many retries it needed.
async fn deliver(run: &Run, request: &Payload) -> (String, f64, u32) {
    let mut retries = 0;
    let mut first_latency = None;
    loop {
        let mut builder = run.http.post(&run.target).body(request.body.clone());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let started = Instant::now();
        let outcome = builder.send().await;
        let latency = started.elapsed().as_secs_f64() * 1000.0;
        first_latency.get_or_insert(latency);
        let (status, retry) = match outcome {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the answer, so the connection can be used again.
                let _ = response.bytes().await;
                (status.to_string(), status >= 500)
            }
            Err(error) if error.is_timeout() => ("timeout".to_owned(), true),
            Err(_) => ("error".to_owned(), false),
        };
        if !retry || retries >= run.args.retries || run.stop.load(Ordering::Relaxed) {
            return (status, first_latency.unwrap_or(latency), retries);
        }
        tokio::time::sleep(FIRST_BACKOFF * 2u32.saturating_pow(retries.min(10))).await;
        retries += 1;
    }
}
