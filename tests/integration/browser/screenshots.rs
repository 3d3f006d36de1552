//! Screenshots of the page with real captured traffic, for docs/img/. Not part of the normal suite:
//!
//! ```sh
//! cargo test --test integration browser::screenshots -- --ignored
//! ```

use std::path::PathBuf;

use serde_json::json;

use super::harness::Browser;
use crate::helpers::*;

/// Sends a small, realistic mix of deliveries.
async fn send_traffic(app: &TestApp) -> i64 {
    app.post_json("/hooks/crm", ENTITY_ACTION_SEED).await;
    app.post_json(
        "/hooks/crm",
        &json!({"entity_id": 7, "entity_type": "company", "action_type": "update", "result": {"id": 7, "name": "Acme"}})
            .to_string(),
    )
    .await;
    app.post_json("/hooks/accounting", CHANNEL_EVENT_SEED).await;
    app.post_with(
        "/hooks/stripe-like?attempt=1",
        "application/x-www-form-urlencoded",
        b"type=charge.succeeded&amount=1200&currency=eur".to_vec(),
        &[("user-agent", "Provider-Webhooks/2.1")],
    )
    .await;
    app.post_json(
        "/hooks/accounting",
        &channel_event("invoices.created", "9f1c2e7a-0b7d-4a8e-bb1e-3f7f2d8e9c10"),
    )
    .await;
    app.post_json("/hooks/accounting", CHANNEL_EVENT_SEED).await; // a redelivery: duplicate
    app.post_with(
        "/hooks/files",
        "application/octet-stream",
        vec![
            0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3,
        ],
        &[],
    )
    .await;
    app.post_json(
        "/hooks/crm",
        r#"{"entity_id": "42", "entity_type": "robot", "action_type": "new", "extra": true}"#,
    )
    .await;
    app.post_with(
        "/hooks/accounting?retry=2",
        "application/json",
        br#"{"event":"invoices.exploded","message":"Invoice exploded.","idempotency_key":"not-a-uuid","environment":"dev","data":{"tag":"x"}}"#
            .to_vec(),
        &[("user-agent", "AccountingProvider/1.0"), ("x-signature", "t=1700000000,v1=5257a869e7ec")],
    )
    .await
}

fn img_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/img");
    std::fs::create_dir_all(&dir).expect("docs/img");
    dir
}

async fn shoot(browser: &Browser, name: &str) {
    // Let animations (the fresh-row highlight, the smooth scroll) settle.
    browser
        .wait_for(
            "the page to settle",
            "document.querySelectorAll('.row.fresh').length === 0",
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let png = browser.client.screenshot().await.expect("screenshot");
    std::fs::write(img_dir().join(name), png).expect("write screenshot");
}

#[tokio::test]
#[ignore = "writes docs/img/*.png; run explicitly"]
async fn screenshots() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    // A 1280x800 viewport: the window is that much larger than its page area.
    browser.goto("about:blank").await;
    let chrome = browser
        .js(
            "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight];",
            vec![],
        )
        .await;
    let extra = |index: usize| u32::try_from(chrome[index].as_u64().unwrap_or(0)).unwrap_or(0);
    browser
        .client
        .set_window_size(1280 + extra(0), 800 + extra(1))
        .await
        .expect("resize");

    // First run, before any traffic.
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    browser
        .wait_for("the first-run panel", "!document.getElementById('empty').hidden")
        .await;
    shoot(&browser, "first-run.png").await;

    let invalid = send_traffic(&app).await;
    for theme in ["light", "dark"] {
        browser.goto(&app.url(&format!("/?theme={theme}"))).await;
        browser.wait_live().await;
        browser
            .wait_for("the list", "document.querySelectorAll('#list > li').length >= 9")
            .await;
        browser.click(&format!("#list > li[data-id='{}']", invalid - 1)).await;
        browser
            .wait_for("a detail", "document.querySelector('#detail .detail-url')")
            .await;
        shoot(&browser, &format!("list-{theme}.png")).await;
        browser.click(&format!("#list > li[data-id='{invalid}']")).await;
        browser
            .wait_for("the findings", "document.querySelector('#detail #findings')")
            .await;
        browser
            .click("#findings .finding-btn[data-pointer='/environment']")
            .await;
        browser
            .wait_for("the highlight", "document.querySelector('#body-json .hl')")
            .await;
        shoot(&browser, &format!("detail-{theme}.png")).await;
        browser.goto(&app.url(&format!("/?theme={theme}&booth=1"))).await;
        browser.wait_live().await;
        browser
            .wait_for(
                "the booth counts",
                "document.getElementById('b-total').textContent === '9'",
            )
            .await;
        browser
            .wait_for("the QR code", "document.getElementById('booth-qr').naturalWidth > 0")
            .await;
        shoot(&browser, &format!("booth-{theme}.png")).await;
    }

    // Phone width.
    browser.client.set_window_size(400, 860).await.expect("resize");
    browser.goto(&app.url("/?theme=light")).await;
    browser
        .wait_for("the list", "document.querySelectorAll('#list > li').length >= 9")
        .await;
    shoot(&browser, "phone-list.png").await;
    browser.click(&format!("#list > li[data-id='{invalid}']")).await;
    browser
        .wait_for("the findings", "document.querySelector('#detail #findings')")
        .await;
    shoot(&browser, "phone-detail.png").await;

    browser.close().await;
    app.stop().await;
}
