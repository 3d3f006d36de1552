//! Profiles on the page: a custom profile in the profile filter, and its schema's errors at their paths.

use serde_json::{Value, json};

use super::harness::Browser;
use crate::helpers::*;

#[tokio::test]
async fn a_custom_profiles_error_shows_at_its_path_and_the_filter_offers_it() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let created = send_json(
        &app,
        reqwest::Method::POST,
        "/_/api/profiles",
        json!({
            "name": "orders",
            "schema": {"type": "object", "properties": {"order": {"type": "object", "properties": {"id": {"type": "integer"}}}}},
            "detect": {"header": "X-Orders"}
        }),
    )
    .await;
    assert_eq!(created.status(), 201);
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    let offered = browser
        .wait_for(
            "the custom profile in the filter",
            "document.querySelector('#f-envelope option[value=\"orders\"]')?.textContent",
        )
        .await;
    assert_eq!(offered, Value::String("orders".into()));
    let id = app
        .post_with(
            "/orders",
            "application/json",
            br#"{"order":{"id":"seven"}}"#.to_vec(),
            &[("X-Orders", "1")],
        )
        .await;
    browser.wait_list(&[id]).await;
    browser.click(&format!("#list > li[data-id='{id}']")).await;
    let findings = browser
        .wait_for(
            "the schema's error",
            &format!("document.querySelector('#detail[data-id=\"{id}\"] #findings')?.textContent"),
        )
        .await;
    let findings = findings.as_str().expect("text");
    assert!(
        findings.contains("/order/id") && findings.contains("integer"),
        "{findings}"
    );
    let detail = browser.text("#detail").await.expect("detail");
    assert!(detail.contains("orders"), "{detail}");
    browser.close().await;
    app.stop().await;
}
