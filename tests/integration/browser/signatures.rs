//! Signatures on the page: each row's badge, the verdict and its explanation in the detail, and the filter.

use hookscope::signatures::{Scheme, Signing, sign};
use serde_json::{Value, json};

use super::harness::Browser;
use crate::helpers::*;

fn github_headers(secret: &str, body: &[u8]) -> Vec<(String, String)> {
    sign(
        Scheme::Github,
        None,
        secret,
        &Signing {
            body,
            timestamp: 0,
            id: "",
            url: "",
            form: false,
        },
    )
    .expect("signs")
}

async fn post_signed(app: &TestApp, body: &[u8], headers: &[(String, String)]) -> i64 {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    app.post_with("/gh", "application/json", body.to_vec(), &pairs).await
}

#[tokio::test]
async fn a_signed_request_shows_its_badge_and_a_broken_one_its_explanation() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let created = send_json(
        &app,
        reqwest::Method::POST,
        "/_/api/endpoints",
        json!({"name": "gh", "path": "/gh", "verify": {"scheme": "github", "secrets": ["s3cret-for-the-page"]}}),
    )
    .await;
    assert_eq!(created.status(), 201);
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;

    let body = br#"{"action":"opened","number":7}"#;
    let valid = post_signed(&app, body, &github_headers("s3cret-for-the-page", body)).await;
    // The sender signed a spaced serialisation; something between rewrote it compact.
    let spaced = br#"{"action": "opened", "number": 8}"#;
    let broken = post_signed(
        &app,
        br#"{"action":"opened","number":8}"#,
        &github_headers("s3cret-for-the-page", spaced),
    )
    .await;
    browser.wait_list(&[broken, valid]).await;
    let badge = |id: i64| format!("document.querySelector('#list > li[data-id=\"{id}\"] .badge-sig')?.textContent");
    assert_eq!(
        browser.wait_for("the valid badge", &badge(valid)).await,
        Value::String("signed ✓".into())
    );
    assert_eq!(
        browser.wait_for("the invalid badge", &badge(broken)).await,
        Value::String("signature ✗".into())
    );

    browser.click(&format!("#list > li[data-id='{broken}']")).await;
    let explanation = browser
        .wait_for(
            "the explanation",
            &format!("document.querySelector('#detail[data-id=\"{broken}\"] #signature-explanation')?.textContent"),
        )
        .await;
    let explanation = explanation.as_str().expect("text");
    assert!(
        explanation.contains("re-serialised as JSON with a space after each , and :"),
        "{explanation}"
    );
    let section = browser.text("#signature").await.expect("section");
    assert!(section.contains("Signature · github · invalid"), "{section}");
    assert!(section.contains("no configured secret matches"), "{section}");
    assert!(section.contains("Signed content"), "{section}");

    let select = browser
        .client
        .find(fantoccini::Locator::Css("#f-signature"))
        .await
        .expect("signature filter");
    select.select_by_value("invalid").await.expect("choose invalid");
    browser.wait_list(&[broken]).await;
    browser.close().await;
    app.stop().await;
}
