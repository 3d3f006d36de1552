//! Property tests: whatever JSON arrives, the checker never panics, and every finding points into the document
//! (at a member that exists, or at a missing member of an object that does).

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::inspect;

/// Keys that make the generated objects resemble the envelopes, so the checkers run on them.
const KEYS: &[&str] = &[
    "entity_id",
    "entity_type",
    "action_type",
    "result",
    "event",
    "message",
    "idempotency_key",
    "environment",
    "data",
    "id",
    "a/b",
    "t~x",
    "",
];
const STRINGS: &[&str] = &[
    "user",
    "company",
    "new",
    "delete",
    "test",
    "invoices.created",
    "business.updated",
    "nope.x",
    "staging",
    "production",
    "26053e97-f78a-4d25-a519-4eed22ba5c41",
    "",
    "<script>",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop::sample::select(STRINGS).prop_map(Value::from),
        ".*".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..8).prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(key, value)| (key.to_owned(), value))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// Whether `pointer` names a value in `document`, or a missing member of an object in it.
fn points_into(document: &Value, pointer: &str) -> bool {
    if document.pointer(pointer).is_some() {
        return true;
    }
    match pointer.rsplit_once('/') {
        Some((parent, _)) => document.pointer(parent).is_some_and(Value::is_object),
        None => false,
    }
}

proptest! {
    #[test]
    fn any_json_is_checked_without_panicking_and_findings_point_into_it(document in json_value()) {
        let bytes = serde_json::to_vec(&document).expect("serializable");
        let verdict = inspect(&bytes, Some("application/json"));
        prop_assert_eq!(verdict.valid.is_some(), verdict.envelope.is_some());
        prop_assert_eq!(verdict.valid == Some(false), !verdict.errors.is_empty());
        for finding in verdict.errors.iter().chain(&verdict.warnings) {
            prop_assert!(points_into(&document, &finding.path), "{} not in {}", finding.path, document);
            prop_assert!(!finding.message.is_empty());
        }
    }

    #[test]
    fn any_bytes_are_inspected_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let verdict = inspect(&bytes, Some("application/json"));
        for finding in verdict.errors.iter().chain(&verdict.warnings) {
            prop_assert!(finding.path.is_empty() || finding.path.starts_with('/'));
        }
    }
}
