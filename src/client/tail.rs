//! `hookscope tail`: one line per capture as it lands, from the live stream's complete mode, so that across
//! reconnects (a restart of the server) no request is missed or repeated.

use std::process::ExitCode;
use std::time::Duration;

use super::terminal::{clean, colours, json_line, paint};
use super::{Client, ClientError};
use crate::cli::TailArgs;
use crate::live::event::LiveEvent;
use crate::record::Summary;
use crate::signatures::SignatureVerdict;

/// How long tail waits before connecting again after the stream ended.
const RECONNECT: Duration = Duration::from_secs(1);

pub async fn run(args: TailArgs) -> Result<ExitCode, ClientError> {
    let client = Client::new(&args.client)?;
    let mut after = match args.after.as_deref() {
        None => client.newest_id().await?,
        Some("all") => 0,
        Some(id) => id
            .parse()
            .map_err(|_| ClientError::Usage(format!("--after {id:?} is not a request id or all")))?,
    };
    let colour = colours();
    let mut connected_once = false;
    loop {
        let events = tokio::select! {
            events = client.events(after, &args.filter.query) => events,
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        };
        let mut events = match events {
            Ok(events) => events,
            // Once it was reached, a server that went away is waited for: it may be restarting.
            Err(ClientError::Unreachable { .. }) if connected_once => {
                tokio::select! {
                    () = tokio::time::sleep(RECONNECT) => continue,
                    _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
                }
            }
            Err(error) => return Err(error),
        };
        connected_once = true;
        loop {
            let event = tokio::select! {
                event = events.next() => event,
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            };
            match event {
                Some(LiveEvent::Request(summary)) => {
                    after = after.max(summary.id);
                    if args.json {
                        let value =
                            serde_json::to_value(&summary).map_err(|error| ClientError::Protocol(error.to_string()))?;
                        println!("{}", json_line(&value));
                    } else {
                        println!("{}", line(&summary, colour));
                    }
                }
                Some(_) => {}
                None => break,
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RECONNECT) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}

/// One capture as a line: time, id, method, path, endpoint, event, verdict, duplicate, answer, signature.
fn line(summary: &Summary, colour: bool) -> String {
    let time = summary.received_at.get(11..19).unwrap_or(&summary.received_at);
    let path = if summary.query.is_empty() {
        summary.path.clone()
    } else {
        format!("{}?{}", summary.path, summary.query)
    };
    let verdict = match summary.valid {
        Some(true) => paint("valid", "32", colour),
        Some(false) => paint(&format!("{} errors", summary.error_count), "31", colour),
        None => paint("-", "2", colour),
    };
    let mut parts = vec![
        paint(time, "2", colour),
        format!("#{}", summary.id),
        clean(&summary.method),
        clean(&path),
    ];
    if let Some(endpoint) = &summary.endpoint {
        parts.push(format!("[{}]", clean(endpoint)));
    }
    parts.push(summary.event.as_deref().map_or_else(|| "-".to_owned(), clean));
    parts.push(verdict);
    if let Some(first) = summary.duplicate_of {
        parts.push(paint(&format!("duplicate of #{first}"), "33", colour));
    }
    parts.push(format!("-> {}", summary.response.status));
    match summary.signature {
        SignatureVerdict::Valid => parts.push(paint("signed", "32", colour)),
        SignatureVerdict::Invalid => parts.push(paint("signature invalid", "31", colour)),
        SignatureVerdict::Unchecked => parts.push("signed, unchecked".to_owned()),
        SignatureVerdict::Unsigned => {}
    }
    parts.join("  ")
}
