//! The `entity_id / entity_type / action_type / result` envelope of the event/CRM provider (seed 001).

use serde_json::{Map, Value};

use super::profile::{Facts, Findings, Profile, Subject, check_one_of, member_resemblance, pointer, type_name};

/// The members that make up the envelope.
const MEMBERS: &[&str] = &["entity_id", "entity_type", "action_type", "result"];

/// The profile.
pub struct EntityAction;

impl Profile for EntityAction {
    fn name(&self) -> &str {
        NAME
    }

    /// An `entity_type` or an `action_type`: `entity_id` or `result` alone are common words.
    fn resemblance(&self, subject: &Subject<'_>) -> usize {
        subject.object().map_or(0, |object| {
            let claims = object.contains_key("entity_type") || object.contains_key("action_type");
            member_resemblance(object, claims, MEMBERS)
        })
    }

    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts {
        subject
            .object()
            .map(|object| check(object, findings))
            .unwrap_or_default()
    }
}

const NAME: &str = "entity_action";

const ENTITY_TYPES: &[&str] = &["user", "company"];
/// `test` is what the provider's test button sends.
const ACTION_TYPES: &[&str] = &["new", "update", "delete", "test"];

/// Checks an object against the envelope, recording findings; returns the event name (`user.new`).
fn check(object: &Map<String, Value>, findings: &mut Findings) -> Facts {
    match object.get("entity_id") {
        None => findings.error("/entity_id", "required member \"entity_id\" is missing (an integer)"),
        Some(Value::Number(number)) if number.is_i64() || number.is_u64() => {}
        Some(other) => findings.error("/entity_id", format!("must be an integer, not {}", type_name(other))),
    }
    let entity_type = check_one_of(object, "entity_type", ENTITY_TYPES, findings);
    let action_type = check_one_of(object, "action_type", ACTION_TYPES, findings);

    let path = pointer(&["result"]);
    match (action_type, object.get("result")) {
        (Some("delete"), None | Some(Value::Null)) => {}
        (Some("delete"), Some(other)) => findings.error(
            path,
            format!(
                "must be absent or null when action_type is \"delete\", not {}",
                type_name(other)
            ),
        ),
        (_, Some(Value::Object(_))) => {}
        (Some(action), None) if ACTION_TYPES.contains(&action) => findings.error(
            path,
            format!("required member \"result\" is missing (an object, required when action_type is \"{action}\")"),
        ),
        (_, None) => {}
        (_, Some(other)) => findings.error(path, format!("must be an object, not {}", type_name(other))),
    }

    findings.warn_unexpected_members(object, NAME, MEMBERS);
    Facts {
        event: entity_type
            .zip(action_type)
            .map(|(entity, action)| format!("{entity}.{action}")),
        ..Facts::default()
    }
}

#[cfg(test)]
mod tests {
    use crate::profiles::inspect;

    /// The example POST from the provider's documentation, verbatim.
    const SEED_EXAMPLE: &str = r#"{    "entity_id": 1,    "entity_type": "user",    "action_type": "new",    "result": {        "id": 1,        "external_id": "1815",        "code": "CODE",        "external_qr_identifier": "thebarcode",        "checkin": "2019-11-05 07:56:15",        "name_first": "Guan",        "name_infix": null,        "name_last": "the Man",        "gender": "man",        "company_name": "Let's Get Digital",        "company_role": "Awesome person",        "normal_qr_code": "thebarcode",        "secure_qr_code": "https:\/\/evins.nl\/1\/bd0494941c\/tyiuW2S1OUv5c3ASL1qv%2E",        "aanmelder_survey_id": "93627",        "qr_link": "v2d5iy6g0m60tc",        "custom_fields": [],        "companies": [            5        ]    }}"#;

    fn errors_of(body: &str) -> Vec<(String, String)> {
        let verdict = inspect(body.as_bytes(), Some("application/json"));
        assert_eq!(verdict.envelope.as_deref(), Some("entity_action"), "{body}");
        verdict.errors.into_iter().map(|f| (f.path, f.message)).collect()
    }

    #[test]
    fn seed_example_is_valid() {
        let verdict = inspect(SEED_EXAMPLE.as_bytes(), Some("application/json"));
        assert_eq!(verdict.envelope.as_deref(), Some("entity_action"));
        assert_eq!(verdict.valid, Some(true), "{:?}", verdict.errors);
        assert_eq!(verdict.event.as_deref(), Some("user.new"));
        assert!(verdict.warnings.is_empty());
    }

    #[test]
    fn missing_entity_id_is_reported_at_its_pointer() {
        let errors = errors_of(r#"{"entity_type": "user", "action_type": "new", "result": {}}"#);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, "/entity_id");
    }

    #[test]
    fn entity_id_must_be_an_integer() {
        let errors = errors_of(r#"{"entity_id": "1", "entity_type": "user", "action_type": "new", "result": {}}"#);
        assert_eq!(errors[0].0, "/entity_id");
        assert!(errors[0].1.contains("integer"));
        let errors = errors_of(r#"{"entity_id": 1.5, "entity_type": "user", "action_type": "new", "result": {}}"#);
        assert_eq!(errors[0].0, "/entity_id");
    }

    #[test]
    fn entity_type_must_be_user_or_company() {
        let errors = errors_of(r#"{"entity_id": 1, "entity_type": "invoice", "action_type": "new", "result": {}}"#);
        assert_eq!(errors[0].0, "/entity_type");
        assert!(errors[0].1.contains("user, company"), "{}", errors[0].1);
    }

    #[test]
    fn action_type_must_be_known() {
        let errors = errors_of(r#"{"entity_id": 1, "entity_type": "user", "action_type": "create", "result": {}}"#);
        assert_eq!(errors[0].0, "/action_type");
        assert!(errors[0].1.contains("new, update, delete, test"));
    }

    #[test]
    fn result_is_required_unless_delete() {
        for action in ["new", "update", "test"] {
            let errors = errors_of(&format!(
                r#"{{"entity_id": 1, "entity_type": "company", "action_type": "{action}"}}"#
            ));
            assert_eq!(errors[0].0, "/result", "{action}");
        }
        let errors = errors_of(r#"{"entity_id": 1, "entity_type": "company", "action_type": "update", "result": [1]}"#);
        assert_eq!(errors[0].0, "/result");
    }

    #[test]
    fn delete_has_no_result() {
        assert!(errors_of(r#"{"entity_id": 1, "entity_type": "user", "action_type": "delete"}"#).is_empty());
        assert!(
            errors_of(r#"{"entity_id": 1, "entity_type": "user", "action_type": "delete", "result": null}"#).is_empty()
        );
        let errors = errors_of(r#"{"entity_id": 1, "entity_type": "user", "action_type": "delete", "result": {}}"#);
        assert_eq!(errors[0].0, "/result");
    }

    #[test]
    fn test_button_payload_is_valid() {
        let verdict = inspect(
            br#"{"entity_id": 7, "entity_type": "user", "action_type": "test", "result": {"id": 7}}"#,
            None,
        );
        assert_eq!(verdict.valid, Some(true));
        assert_eq!(verdict.event.as_deref(), Some("user.test"));
    }

    #[test]
    fn other_members_are_warnings() {
        let verdict = inspect(
            br#"{"entity_id": 1, "entity_type": "user", "action_type": "new", "result": {}, "extra": 1}"#,
            None,
        );
        assert_eq!(verdict.valid, Some(true));
        assert_eq!(verdict.warnings[0].path, "/extra");
    }
}
