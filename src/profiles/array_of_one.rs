//! Seed 002's provider always posts a JSON array of exactly one item. Only such an array is claimed: batch senders
//! post arrays too, of many items. Where an endpoint requires this profile, an array of zero or several items, or an
//! item that is not an object, is invalid.

use serde_json::Value;

use super::profile::{Facts, Findings, Profile, Subject, type_name};

/// The profile.
pub struct ArrayOfOne;

pub const NAME: &str = "array_of_one";

impl Profile for ArrayOfOne {
    fn name(&self) -> &str {
        NAME
    }

    fn resemblance(&self, subject: &Subject<'_>) -> usize {
        match subject.value {
            Value::Array(items) if items.len() == 1 && items[0].is_object() => 1,
            _ => 0,
        }
    }

    /// Any array, so that a required profile says how many items came, or that the item is not an object.
    fn applies(&self, subject: &Subject<'_>) -> bool {
        subject.value.is_array()
    }

    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts {
        let Value::Array(items) = subject.value else {
            findings.error(
                "",
                format!("must be an array of one item, not {}", type_name(subject.value)),
            );
            return Facts::default();
        };
        if items.len() != 1 {
            findings.error(
                "",
                format!("must be an array of exactly one item; this one has {}", items.len()),
            );
        }
        let Some(first) = items.first() else {
            return Facts::default();
        };
        let Value::Object(item) = first else {
            findings.error("/0", format!("the item must be an object, not {}", type_name(first)));
            return Facts::default();
        };
        let event = ["event", "type"]
            .iter()
            .find_map(|member| item.get(*member).and_then(Value::as_str))
            .map(str::to_owned);
        Facts {
            event,
            ..Facts::default()
        }
    }
}
