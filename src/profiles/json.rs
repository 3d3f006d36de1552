//! JSON parsing that remembers what `serde_json::Value` forgets: object keys given more than once. A sender's
//! duplicate key is ambiguous (parsers disagree on which value wins), so hookscope warns about each one.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::profile::Finding;

/// A parsed body and the duplicate keys found in it.
pub struct Parsed {
    /// The document; for a duplicate key, the last value wins, as in most parsers.
    pub value: Value,
    /// One warning per repeated key, at the path of that key.
    pub duplicate_keys: Vec<Finding>,
}

/// Parses `bytes` as one JSON document, noting duplicate object keys on the way.
pub fn parse(bytes: &[u8]) -> Result<Parsed, serde_json::Error> {
    let duplicates = RefCell::new(Vec::new());
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Node {
        at: &Segment::Root,
        duplicates: &duplicates,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(Parsed {
        value,
        duplicate_keys: duplicates.into_inner(),
    })
}

/// Where a node sits, as a chain back to the root; the pointer string is built only when a duplicate needs it.
enum Segment<'a> {
    Root,
    Key(&'a Segment<'a>, &'a str),
    Index(&'a Segment<'a>, usize),
}

impl Segment<'_> {
    fn pointer(&self) -> String {
        match self {
            Segment::Root => String::new(),
            Segment::Key(parent, key) => {
                format!("{}/{}", parent.pointer(), key.replace('~', "~0").replace('/', "~1"))
            }
            Segment::Index(parent, index) => format!("{}/{index}", parent.pointer()),
        }
    }
}

/// Deserializes one value at a known place in the document.
struct Node<'a> {
    at: &'a Segment<'a>,
    duplicates: &'a RefCell<Vec<Finding>>,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element_seed(Node {
            at: &Segment::Index(self.at, items.len()),
            duplicates: self.duplicates,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = Segment::Key(self.at, &key);
            let value = map.next_value_seed(Node {
                at: &at,
                duplicates: self.duplicates,
            })?;
            if object.contains_key(&key) {
                self.duplicates.borrow_mut().push(Finding {
                    path: at.pointer(),
                    message: format!("key \"{key}\" appears more than once in this object; the last value is used"),
                });
            }
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a": [1, -2, 3.5, "x", null, true, {"b": {}}]}"#;
        let parsed = parse(text).expect("valid JSON");
        let expected: Value = serde_json::from_slice(text).expect("valid JSON");
        assert_eq!(parsed.value, expected);
        assert!(parsed.duplicate_keys.is_empty());
    }

    #[test]
    fn duplicate_keys_are_reported_at_their_path() {
        let parsed = parse(br#"{"x": [{"k/1": 1, "k/1": 2}], "x": 3}"#).expect("valid JSON");
        let paths: Vec<_> = parsed.duplicate_keys.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/x/0/k~11", "/x"]);
        assert_eq!(parsed.value["x"], 3);
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        assert!(parse(b"{} x").is_err());
    }

    #[test]
    fn nesting_past_the_recursion_limit_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        let error = parse(deep.as_bytes()).err().expect("too deep");
        assert!(error.to_string().contains("recursion limit"), "{error}");
    }
}
