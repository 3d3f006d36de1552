//! HTTP Archive 1.2: the log's opening and closing, and one entry per request. UTF-8 bodies are `postData.text`,
//! others base64 text with `"_encoding": "base64"`; the answer hookscope gave is the entry's `response`; hookscope's
//! verdicts are `_`-prefixed fields, as the specification allows for custom fields.

use serde_json::{Value, json};

use crate::record::Detail;

/// The log up to its first entry.
pub fn har_start() -> Vec<u8> {
    format!(
        r#"{{"log":{{"version":"1.2","creator":{{"name":"hookscope","version":"{}"}},"entries":["#,
        env!("CARGO_PKG_VERSION")
    )
    .into_bytes()
}

/// What closes the log.
pub fn har_end() -> Vec<u8> {
    b"]}}\n".to_vec()
}

/// One entry, preceded by a comma unless it is the first.
pub fn har_entry(detail: &Detail, origin: &str, first: bool) -> Vec<u8> {
    let summary = &detail.summary;
    let url = if summary.query.is_empty() {
        format!("{origin}{}", summary.path)
    } else {
        format!("{origin}{}?{}", summary.path, summary.query)
    };
    let headers: Vec<Value> = detail
        .headers
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let query: Vec<Value> = form_urlencoded::parse(summary.query.as_bytes())
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    let mime = summary.content_type.clone().unwrap_or_default();
    let post_data = match (&detail.body, &detail.body_base64) {
        (Some(text), _) => Some(json!({"mimeType": mime, "text": text})),
        (None, Some(encoded)) => Some(json!({"mimeType": mime, "text": encoded, "_encoding": "base64"})),
        (None, None) => None,
    };
    let mut request = json!({
        "method": summary.method,
        "url": url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers,
        "queryString": query,
        "headersSize": -1,
        "bodySize": summary.body_size,
    });
    if let (Value::Object(members), Some(post_data)) = (&mut request, post_data) {
        members.insert("postData".to_owned(), post_data);
    }
    let entry = json!({
        "startedDateTime": summary.received_at,
        "time": summary.response.delay_ms,
        "request": request,
        "response": {
            "status": summary.response.status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [],
            "content": {"size": -1, "mimeType": ""},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {"send": 0, "wait": summary.response.delay_ms, "receive": 0},
        "_id": summary.id,
        "_remoteAddress": detail.remote_addr,
        "_envelope": summary.envelope,
        "_valid": summary.valid,
        "_event": summary.event,
        "_errors": detail.errors,
        "_warnings": detail.warnings,
        "_idempotencyKey": summary.idempotency_key,
        "_duplicateOf": summary.duplicate_of,
        "_signature": summary.signature,
        "_endpoint": summary.endpoint,
    });
    let mut out = if first { Vec::new() } else { b",".to_vec() };
    out.extend(serde_json::to_vec(&entry).unwrap_or_default());
    out
}
