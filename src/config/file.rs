//! The configuration file: `--config PATH`, or `./hookscope.toml` when there is one. It holds `[[endpoint]]` tables
//! with the fields of an endpoint (see `endpoints::spec`). A mistake stops start-up with one sentence that names the
//! file, the line and the key, and never repeats a value from the file, which may hold a secret.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::endpoints::MAX_ENDPOINTS;
use crate::endpoints::spec::{EndpointSpec, SpecError};
use crate::profiles::spec::{Origin, ProfileSpec};

/// The file looked for in the working folder when `--config` is not given.
pub const DEFAULT_FILE: &str = "hookscope.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    #[serde(default)]
    endpoint: Vec<EndpointSpec>,
    #[serde(default)]
    profile: Vec<ProfileSpec>,
}

/// A configuration file, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub endpoints: Vec<EndpointSpec>,
    /// Custom profiles, in the order written.
    pub profiles: Vec<ProfileSpec>,
}

/// Why a configuration file cannot be used; reads as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("cannot read the configuration file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}: {message}")]
    Syntax { path: String, line: usize, message: String },
    #[error("{path}:{line}: endpoint {name}: {error}")]
    Endpoint {
        path: String,
        line: usize,
        name: String,
        error: SpecError,
    },
    #[error("{path}:{line}: another endpoint is already named {name}")]
    Duplicate { path: String, line: usize, name: String },
    #[error("{path}: at most {MAX_ENDPOINTS} endpoints")]
    TooMany { path: String },
    #[error("{path}: profile {name}: {error}")]
    Profile { path: String, name: String, error: String },
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<ConfigFile, FileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| FileError::Read {
        path: shown.clone(),
        reason: error.to_string(),
    })?;
    let contents: Contents = toml::from_str(&text).map_err(|error| FileError::Syntax {
        path: shown.clone(),
        line: error.span().map_or(1, |span| line_of(&text, span.start)),
        message: without_values(error.message()),
    })?;
    if contents.endpoint.len() > MAX_ENDPOINTS {
        return Err(FileError::TooMany { path: shown });
    }
    let headers = endpoint_lines(&text);
    let mut names = std::collections::HashSet::new();
    for (index, spec) in contents.endpoint.iter().enumerate() {
        let line = headers.get(index).copied().unwrap_or(1);
        if let Err(error) = spec.build(crate::endpoints::Source::File) {
            // A name that was refused is not repeated: it may be a value pasted in the wrong place.
            let name = if error.pointer == "/name" {
                format!("number {}", index + 1)
            } else {
                spec.name.clone()
            };
            return Err(FileError::Endpoint {
                path: shown,
                line,
                name,
                error,
            });
        }
        if !names.insert(spec.name.clone()) {
            return Err(FileError::Duplicate {
                path: shown,
                line,
                name: spec.name.clone(),
            });
        }
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut profile_names = std::collections::HashSet::new();
    for (index, spec) in contents.profile.iter().enumerate() {
        if let Err(error) = spec.build(Origin::File(folder)) {
            let name = if error.pointer == "/name" {
                format!("number {}", index + 1)
            } else {
                spec.name.clone()
            };
            return Err(FileError::Profile {
                path: shown,
                name,
                error: error.to_string(),
            });
        }
        if !profile_names.insert(spec.name.clone()) {
            return Err(FileError::Profile {
                path: shown,
                name: spec.name.clone(),
                error: "another profile is already named so".to_owned(),
            });
        }
    }
    Ok(ConfigFile {
        path: path.to_path_buf(),
        endpoints: contents.endpoint,
        profiles: contents.profile,
    })
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The lines on which each `[[endpoint]]` table starts, in order.
fn endpoint_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.trim().trim_end_matches(|c: char| c == '#' || c.is_whitespace()) == "[[endpoint]]")
        .map(|(index, _)| index + 1)
        .collect()
}

/// A parser's message without the values it quotes: "invalid type: string `s3cret`, expected u16" becomes "has the
/// wrong type: expected u16". Key names (in "unknown field" and "missing field") are kept.
fn without_values(message: &str) -> String {
    if let Some(expected) = message
        .strip_prefix("unknown variant")
        .and_then(|rest| rest.split_once("expected"))
        .map(|(_, expected)| expected.trim())
    {
        return format!("has a value it does not take: expected {expected}");
    }
    for prefix in ["invalid type:", "invalid value:", "invalid length"] {
        if message.starts_with(prefix) {
            let expected = message
                .split_once("expected")
                .map_or("", |(_, expected)| expected.trim());
            return format!("has the wrong type or value: expected {expected}");
        }
    }
    message.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<ConfigFile, FileError> {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("hookscope.toml");
        std::fs::write(&path, text).expect("write");
        load(&path)
    }

    #[test]
    fn endpoints_are_read_with_their_fields() {
        let file = load_text(
            r#"
[[endpoint]]
name = "flaky"
path = "/hooks/flaky/**"
respond = [{ status = 500, times = 2 }, { status = 200, delay_ms = 100 }]

[[endpoint]]
name = "slack"
path = "/slack/events"
require_header = { name = "X-Slack-Signature", value = "v0=abc" }
respond = [{ headers = { "Content-Type" = "application/json" }, body = '{"challenge": {{json:/challenge}}}' }]
"#,
        )
        .expect("valid");
        assert_eq!(file.endpoints.len(), 2);
        assert_eq!(file.endpoints[0].respond[0].times, 2);
        assert!(file.endpoints[1].require_header.is_some());
    }

    #[test]
    fn each_kind_of_mistake_names_the_line_and_the_key_and_no_value() {
        let unknown =
            load_text("[[endpoint]]\nname = \"a\"\npath = \"/a\"\nsecret_key = \"hunter2\"\n").expect_err("refused");
        let text = unknown.to_string();
        assert!(
            text.contains(":4:") && text.contains("secret_key") && !text.contains("hunter2"),
            "{text}"
        );

        let wrong_type = load_text("[[endpoint]]\nname = \"a\"\npath = \"/a\"\nrespond = [{ status = \"hunter2\" }]\n")
            .expect_err("refused");
        let text = wrong_type.to_string();
        assert!(text.contains(":4:") && !text.contains("hunter2"), "{text}");

        let bad_status = load_text("\n[[endpoint]]\nname = \"a\"\npath = \"/a\"\nrespond = [{ status = 99 }]\n")
            .expect_err("refused");
        assert!(
            bad_status.to_string().contains(":2: endpoint a: /respond/0/status"),
            "{bad_status}"
        );

        let twice = load_text("[[endpoint]]\nname = \"a\"\npath = \"/a\"\n[[endpoint]]\nname = \"a\"\npath = \"/b\"\n")
            .expect_err("refused");
        assert!(
            twice.to_string().contains(":4: another endpoint is already named a"),
            "{twice}"
        );
    }
}
