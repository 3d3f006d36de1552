//! A custom profile as a user writes it, in the configuration file's `[[profile]]` tables or the API: checked and
//! compiled into a [`CustomProfile`]. A mistake names its field by JSON pointer.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::custom::{CustomProfile, Detect};
use super::registry;
use crate::names::valid_name;

/// The largest schema, as text.
pub const MAX_SCHEMA_BYTES: usize = 1024 * 1024;

/// A custom profile as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub name: String,
    /// The JSON Schema, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// A file holding the schema (the configuration file only), relative to the configuration file's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect: Option<DetectSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_pointer: Option<String>,
}

/// `{header: NAME}` or `{pointer: "/type", equals: VALUE}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
}

/// A field that cannot be used: where (a JSON pointer into the profile) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {message}")]
pub struct ProfileError {
    pub pointer: String,
    pub message: String,
}

fn refuse(pointer: &str, message: impl Into<String>) -> ProfileError {
    ProfileError {
        pointer: pointer.to_owned(),
        message: message.into(),
    }
}

/// Where a profile is being defined: which of its fields may name a file, and where such a file is.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// The configuration file in this folder.
    File(&'a Path),
    /// The API (or the database it stored profiles in): inline schemas only.
    Api,
}

impl ProfileSpec {
    /// Checks every field, reads the schema (from its file, in the configuration file) and compiles it.
    pub fn build(&self, origin: Origin<'_>) -> Result<CustomProfile, ProfileError> {
        if !valid_name(&self.name) || self.name == "none" {
            return Err(refuse("/name", "a name is 1 to 64 of A-Z a-z 0-9 . _ - (and not none)"));
        }
        if registry::by_name(&self.name).is_some() {
            return Err(refuse("/name", "a built-in profile has this name"));
        }
        let schema = match (&self.schema, &self.schema_file, origin) {
            (Some(_), Some(_), _) => return Err(refuse("/schema_file", "give schema or schema_file, not both")),
            (None, None, _) => return Err(refuse("/schema", "a profile needs a schema (JSON Schema)")),
            (None, Some(_), Origin::Api) => {
                return Err(refuse(
                    "/schema_file",
                    "a schema file is read only from the configuration file; send the schema inline",
                ));
            }
            (None, Some(file), Origin::File(folder)) => read_schema(&folder.join(file))?,
            (Some(schema), None, _) => {
                let size = serde_json::to_vec(schema).map_or(usize::MAX, |bytes| bytes.len());
                if size > MAX_SCHEMA_BYTES {
                    return Err(refuse("/schema", "a schema is at most 1 MiB"));
                }
                schema.clone()
            }
        };
        let validator = jsonschema::options()
            .with_pattern_options(jsonschema::PatternOptions::regex())
            .build(&schema)
            .map_err(|error| refuse("/schema", format!("the schema does not compile: {error}")))?;
        for (field, pointer) in [
            ("event_pointer", &self.event_pointer),
            ("key_pointer", &self.key_pointer),
            ("environment_pointer", &self.environment_pointer),
        ] {
            if pointer
                .as_deref()
                .is_some_and(|pointer| !pointer.is_empty() && !pointer.starts_with('/'))
            {
                return Err(refuse(&format!("/{field}"), "a JSON pointer is empty or starts with /"));
            }
        }
        if let Some(header) = &self.key_header {
            header_name(header, "/key_header")?;
        }
        let detect = match &self.detect {
            None => None,
            Some(DetectSpec {
                header: Some(header),
                pointer: None,
                equals: None,
            }) => Some(Detect::Header(header_name(header, "/detect/header")?)),
            Some(DetectSpec {
                header: None,
                pointer: Some(pointer),
                equals: Some(equals),
            }) if pointer.is_empty() || pointer.starts_with('/') => Some(Detect::Pointer {
                pointer: pointer.clone(),
                equals: equals.clone(),
            }),
            Some(_) => {
                return Err(refuse(
                    "/detect",
                    "detect is {header: NAME} or {pointer: \"/type\", equals: VALUE}",
                ));
            }
        };
        Ok(CustomProfile {
            name: self.name.clone(),
            validator,
            detect,
            event_pointer: self.event_pointer.clone(),
            key_pointer: self.key_pointer.clone(),
            key_header: self.key_header.clone(),
            environment_pointer: self.environment_pointer.clone(),
        })
    }
}

fn header_name(name: &str, pointer: &str) -> Result<String, ProfileError> {
    hyper::header::HeaderName::from_bytes(name.as_bytes())
        .map(|name| name.as_str().to_owned())
        .map_err(|_| refuse(pointer, "not a header name"))
}

fn read_schema(path: &Path) -> Result<Value, ProfileError> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|error| refuse("/schema_file", format!("cannot read {shown}: {error}")))?
        .len();
    if size > MAX_SCHEMA_BYTES as u64 {
        return Err(refuse("/schema_file", format!("{shown} is over 1 MiB")));
    }
    let text = std::fs::read(path).map_err(|error| refuse("/schema_file", format!("cannot read {shown}: {error}")))?;
    serde_json::from_slice(&text).map_err(|error| refuse("/schema_file", format!("{shown} is not JSON: {error}")))
}
