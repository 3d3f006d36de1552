//! Answer bodies as templates filled from the request: `{{id}}`, `{{header:NAME}}`, `{{json:/pointer}}` (the value at
//! that JSON pointer, as JSON text) and `{{query:NAME}}`. Nothing else is evaluated: any other text, braces
//! included, stays as written. A missing value is empty. When the answer's content type is JSON, text taken from a
//! header or the query is JSON-escaped, so it cannot break out of the string it is put in. So Slack's
//! `url_verification` is answered with `{"challenge": {{json:/challenge}}}`.

use serde_json::Value;

/// What a template may read from the request.
pub struct Request<'a> {
    pub id: i64,
    /// `(name in lower case, value)` pairs.
    pub headers: &'a [(String, String)],
    /// The body, when it parsed as JSON.
    pub json: Option<&'a Value>,
    /// The raw query string, without `?`.
    pub query: &'a str,
}

/// The longest answer a template makes: each `{{json:}}` may copy the whole body, so many of them over a large body
/// would otherwise make an answer many times its size.
pub const MAX_OUTPUT: usize = 1024 * 1024;

/// Fills `template` from `request`, up to [`MAX_OUTPUT`] bytes.
pub fn render(template: &str, request: &Request<'_>, json_answer: bool) -> String {
    let mut out = String::with_capacity(template.len());
    for part in parts(template) {
        if out.len() > MAX_OUTPUT {
            break;
        }
        match part {
            Part::Text(text) => out.push_str(text),
            Part::Placeholder { written, inside } => match fill(inside, request, json_answer) {
                Some(value) => out.push_str(&value),
                None => out.push_str(written),
            },
        }
    }
    if out.len() > MAX_OUTPUT {
        let mut end = MAX_OUTPUT;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// Whether `template` reads the body as JSON, so that the body is parsed only for templates that do.
pub fn reads_json(template: &str) -> bool {
    parts(template).any(|part| matches!(part, Part::Placeholder { inside, .. } if inside.starts_with("json:")))
}

/// A piece of a template: text as written, or a `{{...}}` with what is inside it, trimmed.
enum Part<'a> {
    Text(&'a str),
    Placeholder { written: &'a str, inside: &'a str },
}

/// The template's pieces in order; a `{{` without its `}}` is text.
fn parts(template: &str) -> impl Iterator<Item = Part<'_>> {
    let mut rest = template;
    let mut placeholder_next: Option<Part<'_>> = None;
    std::iter::from_fn(move || {
        if let Some(placeholder) = placeholder_next.take() {
            return Some(placeholder);
        }
        if rest.is_empty() {
            return None;
        }
        let found = rest.find("{{").and_then(|start| {
            let end = rest[start + 2..].find("}}")? + start + 2;
            Some((start, end))
        });
        let Some((start, end)) = found else {
            return Some(Part::Text(std::mem::take(&mut rest)));
        };
        let text = &rest[..start];
        placeholder_next = Some(Part::Placeholder {
            written: &rest[start..end + 2],
            inside: rest[start + 2..end].trim(),
        });
        rest = &rest[end + 2..];
        Some(Part::Text(text))
    })
}

/// The text for one placeholder; `None` when it is not one (it is then left as written).
fn fill(placeholder: &str, request: &Request<'_>, json_answer: bool) -> Option<String> {
    let escape = |text: String| {
        if json_answer {
            // A JSON string's contents: the quotes serde_json adds are dropped.
            let quoted = serde_json::to_string(&text).unwrap_or_default();
            quoted[1..quoted.len() - 1].to_owned()
        } else {
            text
        }
    };
    if placeholder == "id" {
        return Some(request.id.to_string());
    }
    if let Some(name) = placeholder.strip_prefix("header:") {
        let name = name.trim().to_ascii_lowercase();
        let value = request
            .headers
            .iter()
            .find(|(header, _)| *header == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default();
        return Some(escape(value));
    }
    if let Some(name) = placeholder.strip_prefix("query:") {
        let name = name.trim();
        let value = form_urlencoded::parse(request.query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        return Some(escape(value));
    }
    if let Some(pointer) = placeholder.strip_prefix("json:") {
        let value = request.json.and_then(|json| json.pointer(pointer.trim()));
        return Some(value.map(Value::to_string).unwrap_or_default());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_stops_at_its_bound_however_often_the_body_is_copied() {
        let json = serde_json::json!({"s": "é".repeat(50 * 1024)});
        let request = Request {
            id: 1,
            headers: &[],
            json: Some(&json),
            query: "",
        };
        let out = render(&"{{json:/s}}".repeat(100), &request, false);
        assert!(out.len() <= MAX_OUTPUT && out.len() > MAX_OUTPUT - 4, "{}", out.len());
        assert!(out.starts_with("\"éé"));
    }

    #[test]
    fn a_template_reads_json_when_a_placeholder_asks_for_it_however_spaced() {
        assert!(reads_json(r#"{"challenge": {{json:/challenge}}}"#));
        assert!(reads_json("{{ json:/challenge }}"));
        assert!(!reads_json("{{id}} {{header:json:x}} {{json:/x"));
        assert!(!reads_json("json: {{query:json}}"));
    }

    #[test]
    fn placeholders_are_filled_and_anything_else_is_left_as_written() {
        let json: Value = serde_json::json!({"challenge": "3eZbrw1a", "n": {"deep": [1, 2]}});
        let headers = [("x-name".to_owned(), "Ada \"the\" first".to_owned())];
        let request = Request {
            id: 42,
            headers: &headers,
            json: Some(&json),
            query: "tenant=blue&x=%22y%22",
        };
        assert_eq!(
            render(r#"{"challenge": {{json:/challenge}}}"#, &request, true),
            r#"{"challenge": "3eZbrw1a"}"#
        );
        assert_eq!(render("#{{id}} {{json:/n/deep}}", &request, false), "#42 [1,2]");
        assert_eq!(
            render(r#"{"who": "{{header:X-Name}}", "q": "{{query:x}}"}"#, &request, true),
            r#"{"who": "Ada \"the\" first", "q": "\"y\""}"#
        );
        assert_eq!(render("{{header:X-Name}}", &request, false), "Ada \"the\" first");
        assert_eq!(
            render("{{json:/missing}}|{{query:none}}|{{nope}}|{{", &request, false),
            "||{{nope}}|{{"
        );
    }
}
