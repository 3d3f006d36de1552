//! What the clients print: every string a sender wrote is printed with control characters escaped, so no capture
//! can drive the terminal; colours only for a person at a terminal that wants them.

use std::io::IsTerminal;

/// `text` with every control character (C0, DEL, C1) written as `\u{..}`.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_control() {
            out.push_str(&character.escape_unicode().to_string());
        } else {
            out.push(character);
        }
    }
    out
}

/// A JSON value as one line, with the control characters JSON leaves raw (DEL and C1) escaped as `\u00XX`, so that
/// the line is still JSON and drives no terminal.
pub fn json_line(value: &serde_json::Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if ('\u{7f}'..='\u{9f}').contains(&character) {
            out.push_str(&format!("\\u{:04x}", u32::from(character)));
        } else {
            out.push(character);
        }
    }
    out
}

/// Whether to colour what goes to standard output: a terminal, and `NO_COLOR` not set.
pub fn colours() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// `text` in an ANSI colour (`31` red, `32` green, `33` yellow, `2` dim) when `on`.
pub fn paint(text: &str, code: &str, on: bool) -> String {
    if on {
        format!("\u{1b}[{code}m{text}\u{1b}[0m")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_json_stays_json() {
        assert_eq!(clean("/a\u{1b}[2Jb\n"), "/a\\u{1b}[2Jb\\u{a}");
        let line = json_line(&serde_json::json!({"path": "/x\u{9b}31m\u{7f}"}));
        assert_eq!(line, r#"{"path":"/x\u009b31m\u007f"}"#);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).expect("JSON")["path"],
            "/x\u{9b}31m\u{7f}"
        );
    }
}
