//! A bash script of `curl` commands that reproduce each request byte-exact (method, path, query, headers as
//! stored, body) against a URL given when the script runs (or when it is made). Every field is single-quoted, so no
//! captured byte (`$()`, quotes, newlines) is ever interpreted by the shell; bodies travel as base64.

use base64::Engine;

use crate::record::Detail;

/// Single-quotes a string for bash: `'`, with each `'` inside written `'\''`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Headers curl would add or change on its own, sent empty (curl then leaves them out) unless the request had them.
const CURL_DEFAULTS: [&str; 3] = ["user-agent", "accept", "expect"];

/// Headers curl sets from what it sends: given again they would be sent twice or wrong.
const FRAMING: [&str; 2] = ["content-length", "transfer-encoding"];

/// The script's opening: where the requests go.
pub fn curl_script_start(to: Option<&str>) -> Vec<u8> {
    let target = match to {
        Some(to) => quote(to.trim_end_matches('/')),
        None => r#""${1:?usage: bash hookscope-replay.sh URL (the hookscope or app to send to)}""#.to_owned(),
    };
    format!(
        "#!/usr/bin/env bash\n# Requests captured by hookscope, as curl commands; every field is quoted.\nset -euo pipefail\nTO={target}\nTO=\"${{TO%/}}\"\n"
    )
    .into_bytes()
}

/// The script's end.
pub fn curl_script_end() -> Vec<u8> {
    Vec::new()
}

/// One request as a `curl` command.
pub fn curl_command(detail: &Detail, raw_headers: &[(String, Vec<u8>)]) -> Vec<u8> {
    let summary = &detail.summary;
    // Always a path after the URL: a path without its `/` (a CONNECT's authority) must not become the URL's host.
    let path = if summary.path.starts_with('/') {
        summary.path.clone()
    } else {
        format!("/{}", summary.path)
    };
    let target = if summary.query.is_empty() {
        path
    } else {
        format!("{path}?{}", summary.query)
    };
    let mut command = format!(
        "\n# #{} {} {}\n",
        summary.id,
        summary.received_at,
        summary.method.escape_default()
    );
    // curl waits for the body a HEAD answer announces unless it is told the request is a HEAD, and sends none then.
    let head = summary.method == "HEAD";
    let body = detail.body_bytes();
    let sends_body = !body.is_empty() && !head;
    if sends_body {
        command.push_str(&format!(
            "printf '%s' {} | base64 -d | ",
            quote(&base64::engine::general_purpose::STANDARD.encode(&body))
        ));
    }
    let method = if head {
        "--head".to_owned()
    } else {
        format!("-X {}", quote(&summary.method))
    };
    command.push_str(&format!(
        "curl -sS -o /dev/null --globoff --path-as-is {method} \"$TO\"{}",
        quote(&target)
    ));
    for (name, value) in raw_headers {
        if FRAMING.contains(&name.as_str()) {
            continue;
        }
        command.push_str(&header_option(name, value));
    }
    for default in CURL_DEFAULTS {
        if !raw_headers.iter().any(|(name, _)| name == default) {
            command.push_str(&format!(" -H {}", quote(&format!("{default}:"))));
        }
    }
    if sends_body {
        command.push_str(" --data-binary @-");
    }
    command.push('\n');
    command.into_bytes()
}

/// One header as a curl option: `-H 'name: value'`; `-H 'name;'` for an empty value (curl drops `name:`); a value
/// that is not UTF-8 through printf's octal escapes, inside quotes, with the name's `%` and `\` escaped for printf.
fn header_option(name: &str, value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok("") => format!(" -H {}", quote(&format!("{name};"))),
        Ok(text) => format!(" -H {}", quote(&format!("{name}: {text}"))),
        Err(_) => {
            let name = name.replace('\\', "\\\\").replace('%', "%%");
            let octal: String = value.iter().map(|byte| format!("\\{byte:03o}")).collect();
            format!(" -H \"$(printf {})\"", quote(&format!("{name}: {octal}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{header_option, quote};

    #[test]
    fn empty_values_and_printf_specials_in_names_survive() {
        assert_eq!(header_option("x-empty", b""), " -H 'x-empty;'");
        assert_eq!(
            header_option("x-%s", b"caf\xe9"),
            r#" -H "$(printf 'x-%%s: \143\141\146\351')""#
        );
    }

    #[test]
    fn quoting_leaves_nothing_for_the_shell() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
