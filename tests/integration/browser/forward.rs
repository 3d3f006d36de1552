//! Forwarding on the page: the row's badge, the attempts in the detail, Replay and Edit and replay.

use serde_json::{Value, json};

use super::harness::Browser;
use crate::helpers::*;
use crate::target::Target;

#[tokio::test]
async fn a_request_is_replayed_from_the_page_as_it_came_and_edited() {
    let Some(browser) = Browser::start().await else { return };
    let target = Target::start().await;
    let app = spawn_app().await;
    let created = send_json(
        &app,
        reqwest::Method::POST,
        "/_/api/endpoints",
        json!({"name": "app", "path": "/hooks/**", "forward": {"url": target.url("/in")}}),
    )
    .await;
    assert_eq!(created.status(), 201);
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    let id = app.post_json("/hooks/page", r#"{"n":1}"#).await;
    target.wait_for(1).await;
    let badge = format!(
        "document.querySelector('#list > li[data-id=\"{id}\"] .badge-forward[data-forward=\"ok\"]')?.textContent"
    );
    assert_eq!(
        browser.wait_for("the forwarded badge", &badge).await,
        Value::String("forwarded ✓".into())
    );

    browser.click(&format!("#list > li[data-id='{id}']")).await;
    let count = "document.querySelectorAll('#attempts > li').length";
    browser
        .wait_for("one attempt", &format!("{count} === 1 ? true : null"))
        .await;
    browser.click("#replay").await;
    browser
        .wait_for("the replay's attempt", &format!("{count} === 2 ? true : null"))
        .await;
    let attempts = browser.text("#attempts").await.expect("attempts");
    assert!(attempts.contains("replay") && attempts.contains("→ 200"), "{attempts}");
    assert_eq!(target.wait_for(2).await[1].body, br#"{"n":1}"#);

    browser.click("#edit-replay").await;
    browser
        .js(
            "document.getElementById('replay-body').value = '{\"n\":2}'; return true;",
            vec![],
        )
        .await;
    browser.click("#replay-send").await;
    browser
        .wait_for("the edited replay's attempt", &format!("{count} === 3 ? true : null"))
        .await;
    assert_eq!(target.wait_for(3).await[2].body, br#"{"n":2}"#);
    browser.close().await;
    app.stop().await;
}
