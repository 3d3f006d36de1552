//! `hookscope wait`: exits 0 as soon as N matching requests have landed, printing each one's detail as a JSON line
//! and nothing else; exits 1 with one sentence on stderr when the timeout passes first. `--after now` (the default)
//! takes the requests received from the moment wait started (by this machine's clock, read against the list's
//! `until`: run wait beside hookscope), so a request that lands a moment later, even before wait reached the server, is never missed, and one
//! that landed before is never taken.

use std::process::ExitCode;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::terminal::json_line;
use super::{Client, ClientError};
use crate::cli::WaitArgs;
use crate::live::event::LiveEvent;

/// How long wait pauses before connecting again after the stream dropped.
const RECONNECT: Duration = Duration::from_millis(300);

/// One `--match POINTER=VALUE`.
#[derive(Debug, Clone, PartialEq)]
struct Match {
    pointer: String,
    value: Value,
}

impl Match {
    /// Splits at the first `=`; the value is read as JSON, or taken as a string when it is not JSON.
    fn parse(text: &str) -> Result<Match, ClientError> {
        let (pointer, value) = text
            .split_once('=')
            .filter(|(pointer, _)| pointer.is_empty() || pointer.starts_with('/'))
            .ok_or_else(|| ClientError::Usage(format!("--match {text:?} is not POINTER=VALUE, such as /data/id=42")))?;
        Ok(Match {
            pointer: pointer.to_owned(),
            value: serde_json::from_str(value).unwrap_or_else(|_| Value::from(value)),
        })
    }

    fn holds(&self, body: &Value) -> bool {
        body.pointer(&self.pointer) == Some(&self.value)
    }
}

pub async fn run(args: WaitArgs) -> Result<ExitCode, ClientError> {
    // `now` is when wait started, not when it reached the server: a request that lands in between is taken.
    let started = chrono::Utc::now();
    let client = Client::new(&args.client)?;
    let timeout = humantime::parse_duration(&args.timeout).map_err(|_| {
        ClientError::Usage(format!(
            "--timeout {:?} is not a duration, such as 30s or 2m",
            args.timeout
        ))
    })?;
    let matches = args
        .matches
        .iter()
        .map(|text| Match::parse(text))
        .collect::<Result<Vec<_>, _>>()?;
    let mut after = match args.after.as_str() {
        "now" => client.newest_id_before(started).await?,
        id => id
            .parse()
            .map_err(|_| ClientError::Usage(format!("--after {id:?} is not a request id or now")))?,
    };
    let wanted = args.count.max(1);
    let deadline = tokio::time::Instant::now() + timeout;
    let mut found = 0usize;
    let waited = tokio::time::timeout_at(deadline, async {
        loop {
            let mut events = match client.events(after, &args.filter.query).await {
                Ok(events) => events,
                Err(ClientError::Unreachable { .. }) => {
                    tokio::time::sleep(RECONNECT).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            while let Some(event) = events.next().await {
                let LiveEvent::Request(summary) = event else { continue };
                after = after.max(summary.id);
                let detail = client
                    .call(Method::GET, &format!("/_/api/requests/{}", summary.id), None)
                    .await?;
                if !matches.is_empty() {
                    let body = detail["body"]
                        .as_str()
                        .and_then(|text| serde_json::from_str::<Value>(text).ok())
                        .unwrap_or(Value::Null);
                    if !matches.iter().all(|wanted| wanted.holds(&body)) {
                        continue;
                    }
                }
                println!("{}", json_line(&detail));
                found += 1;
                if found >= wanted {
                    return Ok(());
                }
            }
            tokio::time::sleep(RECONNECT).await;
        }
    })
    .await;
    match waited {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        Ok(Err(error)) => Err(error),
        Err(_) => {
            eprintln!(
                "hookscope: timed out after {}: {found} of {wanted} matching requests arrived",
                args.timeout
            );
            Ok(ExitCode::from(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_match_reads_its_value_as_json_or_else_as_a_string() {
        let number = Match::parse("/data/id=42").expect("match");
        assert_eq!(number.value, Value::from(42));
        assert!(number.holds(&serde_json::json!({"data": {"id": 42}})));
        assert!(!number.holds(&serde_json::json!({"data": {"id": "42"}})));
        let string = Match::parse(r#"/data/id="42""#).expect("match");
        assert!(string.holds(&serde_json::json!({"data": {"id": "42"}})));
        let word = Match::parse("/type=user.created=x").expect("match");
        assert_eq!(word.value, Value::from("user.created=x"));
        assert!(Match::parse("data=1").is_err());
    }
}
