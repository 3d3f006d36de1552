//! The same JSON document written the ways senders and relays commonly re-serialise it, keeping its members'
//! order and every string and number exactly as written: only the whitespace between tokens changes.

/// A way of writing JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// No whitespace: `JSON.stringify(value)`.
    Compact,
    /// `, ` and `: `: Python's `json.dumps(value)`.
    Spaced,
    /// Two-space indentation: `JSON.stringify(value, null, 2)`.
    Indented,
}

impl Form {
    pub const ALL: [Form; 3] = [Form::Compact, Form::Spaced, Form::Indented];

    /// How an explanation names it.
    pub fn description(self) -> &'static str {
        match self {
            Form::Compact => "re-serialised as compact JSON",
            Form::Spaced => "re-serialised as JSON with a space after each , and : (as Python's json.dumps writes it)",
            Form::Indented => "re-serialised as JSON indented by two spaces",
        }
    }
}

/// `body` written in `form`, when it is JSON and the result is at most `max_len` bytes (indentation can make a deeply
/// nested body many times its size).
pub fn rewrite(body: &[u8], form: Form, max_len: usize) -> Option<Vec<u8>> {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).ok()?;
    let mut out = Vec::with_capacity(body.len() + body.len() / 4);
    let mut depth = 0usize;
    let mut index = 0;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + depth * 2, b' ');
    };
    while index < body.len() {
        if out.len() > max_len {
            return None;
        }
        let byte = body[index];
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'"' => {
                let end = string_end(body, index);
                out.extend_from_slice(&body[index..end]);
                index = end;
                continue;
            }
            b'{' | b'[' => {
                let close = if byte == b'{' { b'}' } else { b']' };
                let next = body[index + 1..]
                    .iter()
                    .position(|byte| !byte.is_ascii_whitespace())
                    .map(|offset| index + 1 + offset);
                if let Some(next) = next.filter(|&next| body[next] == close) {
                    out.extend_from_slice(&[byte, close]);
                    index = next + 1;
                    continue;
                }
                out.push(byte);
                depth += 1;
                if form == Form::Indented {
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if form == Form::Indented {
                    newline(&mut out, depth);
                }
                out.push(byte);
            }
            b',' => {
                out.push(b',');
                match form {
                    Form::Compact => {}
                    Form::Spaced => out.push(b' '),
                    Form::Indented => newline(&mut out, depth),
                }
            }
            b':' => {
                out.push(b':');
                if form != Form::Compact {
                    out.push(b' ');
                }
            }
            _ => out.push(byte),
        }
        index += 1;
    }
    (out.len() <= max_len).then_some(out)
}

/// The index just past the string that starts at `start` (a `"`), escapes included.
fn string_end(body: &[u8], start: usize) -> usize {
    let mut index = start + 1;
    while index < body.len() {
        match body[index] {
            b'\\' => index += 2,
            b'"' => return index + 1,
            _ => index += 1,
        }
    }
    body.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "{ \"b\" : [1, 2.50, {}], \"a\":{\"s\":\"x, y: \\\"z\\\" }\"},\"e\" : [ ] }";

    #[test]
    fn each_form_changes_only_the_whitespace_between_tokens() {
        let text = |form| String::from_utf8(rewrite(BODY.as_bytes(), form, usize::MAX).expect("json")).expect("utf-8");
        assert_eq!(
            text(Form::Compact),
            r#"{"b":[1,2.50,{}],"a":{"s":"x, y: \"z\" }"},"e":[]}"#
        );
        assert_eq!(
            text(Form::Spaced),
            r#"{"b": [1, 2.50, {}], "a": {"s": "x, y: \"z\" }"}, "e": []}"#
        );
        assert_eq!(
            text(Form::Indented),
            "{\n  \"b\": [\n    1,\n    2.50,\n    {}\n  ],\n  \"a\": {\n    \"s\": \"x, y: \\\"z\\\" }\"\n  },\n  \"e\": []\n}"
        );
    }

    #[test]
    fn the_indented_form_is_what_javascript_writes() {
        let value: serde_json::Value = serde_json::from_str(r#"{"a":[1,{"b":null}],"c":"d"}"#).expect("json");
        // serde_json's pretty printer indents by two spaces like JSON.stringify(value, null, 2).
        let pretty = serde_json::to_string_pretty(&value).expect("json");
        assert_eq!(
            rewrite(br#"{"a":[1,{"b":null}],"c":"d"}"#, Form::Indented, usize::MAX),
            Some(pretty.into_bytes())
        );
    }

    #[test]
    fn a_body_that_is_not_json_has_no_forms() {
        assert_eq!(rewrite(b"a=1&b=2", Form::Compact, usize::MAX), None);
        assert_eq!(rewrite(b"[[[1,1,1]]]", Form::Indented, 20), None, "over the cap");
    }
}
