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
    let target = if summary.query.is_empty() {
        summary.path.clone()
    } else {
        format!("{}?{}", summary.path, summary.query)
    };
    let mut command = format!(
        "\n# #{} {} {}\n",
        summary.id,
        summary.received_at,
        summary.method.escape_default()
    );
    let body = detail.body_bytes();
    let sends_body = !body.is_empty();
    if sends_body {
        command.push_str(&format!(
            "printf '%s' {} | base64 -d | ",
            quote(&base64::engine::general_purpose::STANDARD.encode(&body))
        ));
    }
    // curl waits for the body a HEAD answer announces unless it is told the request is a HEAD.
    let method = if summary.method == "HEAD" {
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
        // A header value that is not UTF-8 goes through printf's octal escapes, inside the quotes.
        let shown = String::from_utf8(value.clone()).unwrap_or_else(|_| String::from_utf8_lossy(value).into_owned());
        if std::str::from_utf8(value).is_ok() {
            command.push_str(&format!(" -H {}", quote(&format!("{name}: {shown}"))));
        } else {
            let octal: String = value.iter().map(|byte| format!("\\{byte:03o}")).collect();
            command.push_str(&format!(" -H \"$(printf {})\"", quote(&format!("{name}: {octal}"))));
        }
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

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting_leaves_nothing_for_the_shell() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
