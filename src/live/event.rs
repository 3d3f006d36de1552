//! The live stream's events as one type that the server writes as server-sent events and a client reads back, so
//! a Rust client of the stream decodes exactly what the server encodes. A reader ignores event kinds and fields it
//! does not know, so the stream can grow.

use std::io::Write as _;

use serde::{Deserialize, Serialize};

use crate::record::Summary;

/// One event of the live stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// A request was captured; its SSE id is the request's, which a reconnecting client resumes after.
    Request(Summary),
    /// A stored request changed after capture.
    Updated(Summary),
    /// One request was deleted.
    Deleted { id: i64 },
    /// Every request was deleted.
    Cleared,
    /// Retention removed every request up to and including `through`.
    Evicted { through: i64 },
    /// `count` requests up to and including `through` were left out of the stream (read them through the API).
    Skipped { count: usize, through: i64 },
    /// The stream cannot tell what the client missed: reload the list through the API.
    Resync { reason: String },
}

#[derive(Serialize, Deserialize)]
struct IdData {
    id: i64,
}

#[derive(Serialize, Deserialize)]
struct ThroughData {
    through: i64,
}

#[derive(Serialize, Deserialize)]
struct SkippedData {
    count: usize,
    through: i64,
}

#[derive(Serialize, Deserialize)]
struct ResyncData {
    reason: String,
}

#[derive(Serialize, Deserialize)]
struct NoData {}

impl LiveEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            LiveEvent::Request(_) => "request",
            LiveEvent::Updated(_) => "updated",
            LiveEvent::Deleted { .. } => "deleted",
            LiveEvent::Cleared => "cleared",
            LiveEvent::Evicted { .. } => "evicted",
            LiveEvent::Skipped { .. } => "skipped",
            LiveEvent::Resync { .. } => "resync",
        }
    }

    /// The SSE id: a captured request's id, the point a reconnecting client resumes after.
    pub fn id(&self) -> Option<i64> {
        match self {
            LiveEvent::Request(summary) => Some(summary.id),
            _ => None,
        }
    }

    /// Appends the event as server-sent event text. The data is one line of JSON (serde_json escapes CR and LF
    /// inside strings), so captured data can never end the `data:` field or forge another event.
    pub fn write_sse(&self, out: &mut Vec<u8>) {
        let _ = writeln!(out, "event: {}", self.name());
        if let Some(id) = self.id() {
            let _ = writeln!(out, "id: {id}");
        }
        out.extend_from_slice(b"data: ");
        let written = match self {
            LiveEvent::Request(summary) | LiveEvent::Updated(summary) => serde_json::to_writer(&mut *out, summary),
            LiveEvent::Deleted { id } => serde_json::to_writer(&mut *out, &IdData { id: *id }),
            LiveEvent::Cleared => serde_json::to_writer(&mut *out, &NoData {}),
            LiveEvent::Evicted { through } => serde_json::to_writer(&mut *out, &ThroughData { through: *through }),
            LiveEvent::Skipped { count, through } => serde_json::to_writer(
                &mut *out,
                &SkippedData {
                    count: *count,
                    through: *through,
                },
            ),
            LiveEvent::Resync { reason } => serde_json::to_writer(&mut *out, &ResyncData { reason: reason.clone() }),
        };
        // Writing JSON to memory fails only for a value serde cannot represent, which none of these is.
        debug_assert!(written.is_ok());
        out.extend_from_slice(b"\n\n");
    }

    /// Reads an event back from its SSE name and data; `Ok(None)` for a kind this build does not know.
    pub fn from_sse(name: &str, data: &str) -> Result<Option<LiveEvent>, serde_json::Error> {
        let event = match name {
            "request" => LiveEvent::Request(serde_json::from_str(data)?),
            "updated" => LiveEvent::Updated(serde_json::from_str(data)?),
            "deleted" => LiveEvent::Deleted {
                id: serde_json::from_str::<IdData>(data)?.id,
            },
            "cleared" => LiveEvent::Cleared,
            "evicted" => LiveEvent::Evicted {
                through: serde_json::from_str::<ThroughData>(data)?.through,
            },
            "skipped" => {
                let SkippedData { count, through } = serde_json::from_str(data)?;
                LiveEvent::Skipped { count, through }
            }
            "resync" => LiveEvent::Resync {
                reason: serde_json::from_str::<ResyncData>(data)?.reason,
            },
            _ => return Ok(None),
        };
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(path: &str) -> Summary {
        Summary::example(7, path)
    }

    /// Splits SSE text into (name, data) pairs, as a client does.
    fn parse(text: &str) -> Vec<(String, String)> {
        text.split("\n\n")
            .filter(|block| !block.is_empty())
            .map(|block| {
                let field = |prefix: &str| {
                    block
                        .lines()
                        .find_map(|line| line.strip_prefix(prefix))
                        .unwrap_or_default()
                        .to_owned()
                };
                (field("event: "), field("data: "))
            })
            .collect()
    }

    #[test]
    fn every_event_reads_back_as_written() {
        let events = [
            LiveEvent::Request(summary("/a")),
            LiveEvent::Updated(summary("/b")),
            LiveEvent::Deleted { id: 3 },
            LiveEvent::Cleared,
            LiveEvent::Evicted { through: 9 },
            LiveEvent::Skipped { count: 4, through: 12 },
            LiveEvent::Resync {
                reason: "behind".into(),
            },
        ];
        let mut text = Vec::new();
        for event in &events {
            event.write_sse(&mut text);
        }
        let text = String::from_utf8(text).expect("UTF-8");
        let read: Vec<LiveEvent> = parse(&text)
            .iter()
            .map(|(name, data)| LiveEvent::from_sse(name, data).expect("parses").expect("known"))
            .collect();
        assert_eq!(read, events);
        assert!(text.starts_with("event: request\nid: 7\ndata: {"), "{text}");
    }

    #[test]
    fn a_reader_ignores_kinds_and_fields_it_does_not_know() {
        assert_eq!(LiveEvent::from_sse("future", "{}").expect("no error"), None);
        assert_eq!(
            LiveEvent::from_sse("deleted", r#"{"id":5,"by":"someone"}"#).expect("parses"),
            Some(LiveEvent::Deleted { id: 5 })
        );
    }

    #[test]
    fn a_hostile_path_stays_inside_one_event() {
        let mut frame = Vec::new();
        LiveEvent::Request(summary("/x\r\n\r\nevent: cleared\ndata: {}")).write_sse(&mut frame);
        let frame = String::from_utf8(frame).expect("UTF-8");
        assert_eq!(frame.matches("\n\n").count(), 1);
        assert!(frame.ends_with("\n\n"));
        assert_eq!(frame.lines().filter(|line| line.starts_with("event:")).count(), 1);
    }
}
