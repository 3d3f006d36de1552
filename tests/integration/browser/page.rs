//! The inspector page's behaviour in a real browser: live list, detail, safety, resume, keyboard, permalink,
//! first run and booth mode.

use std::time::Duration;

use serde_json::{Value, json};

use super::harness::{Browser, truthy};
use crate::helpers::*;

const ENTER: &str = "\u{E007}";

/// An invalid channel_event: unknown event for its channel, wrong environment, no data.id.
const INVALID_CHANNEL_EVENT: &str = r#"{"event":"invoices.exploded","message":"x","idempotency_key":"5b1d4ba6-2c39-4b57-9b61-0a5b7a0c6a11","environment":"dev","data":{"tag":1}}"#;

#[tokio::test]
async fn a_capture_appears_live_and_its_envelope_errors_point_into_the_body() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;

    let valid = app.post_json("/hooks/live", CHANNEL_EVENT_SEED).await;
    browser.wait_list(&[valid]).await;
    let invalid = app.post_json("/hooks/live?attempt=2", INVALID_CHANNEL_EVENT).await;
    browser.wait_list(&[invalid, valid]).await;

    // The row carries its facts and the fresh highlight, and nothing was reloaded.
    let row = format!("#list > li[data-id='{invalid}']");
    let text = browser.text(&row).await.expect("row");
    assert!(text.contains("POST"), "{text}");
    assert!(text.contains("/hooks/live?attempt=2"), "{text}");
    assert!(text.contains("invoices.exploded"), "{text}");
    assert!(text.contains("channel_event"), "{text}");
    let detail = app.detail(invalid).await;
    let errors = detail["errors"].as_array().expect("errors").len();
    assert!(errors >= 2, "the sample is invalid in several ways: {detail}");
    assert!(text.contains(&format!("{errors} errors")), "{text}");
    let valid_row = browser
        .text(&format!("#list > li[data-id='{valid}']"))
        .await
        .expect("row");
    assert!(valid_row.contains("valid"), "{valid_row}");
    assert!(truthy(
        &browser
            .js(
                "return performance.getEntriesByType('navigation').length === 1;",
                vec![]
            )
            .await
    ));

    // Open it: the envelope errors are listed with their paths, and each points at a node of the body.
    browser.click(&row).await;
    browser
        .wait_for(
            "the detail",
            &format!("document.querySelector('#detail[data-id=\"{invalid}\"] #findings')"),
        )
        .await;
    assert_eq!(
        browser.client.current_url().await.expect("url").fragment(),
        Some(&*format!("/requests/{invalid}"))
    );
    let findings = browser.text("#findings").await.expect("findings");
    for error in detail["errors"].as_array().expect("errors") {
        assert!(
            findings.contains(error["message"].as_str().expect("message")),
            "{findings} lacks {error}"
        );
        assert!(
            findings.contains(error["path"].as_str().expect("path")),
            "{findings} lacks {error}"
        );
    }
    let detail_text = browser.text("#detail").await.expect("detail");
    assert!(detail_text.contains("attempt"), "query parameters are shown");
    assert!(detail_text.contains("content-type"), "headers are shown");

    let environment_error = detail["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .find(|error| error["path"] == "/environment")
        .expect("an error at /environment");
    let _ = environment_error;
    browser
        .click("#findings .finding-btn[data-pointer='/environment']")
        .await;
    let highlighted = browser
        .wait_for(
            "the body node to be highlighted",
            "[...document.querySelectorAll('#body-json .hl')].map(n => n.dataset.pointer + '=' + n.textContent).join('|')",
        )
        .await;
    let highlighted = highlighted.as_str().expect("text");
    assert!(highlighted.starts_with("/environment="), "{highlighted}");
    assert!(highlighted.contains("\"dev\""), "{highlighted}");
    // Every rendered value knows its JSON Pointer.
    let pointers = browser
        .js(
            "return [...document.querySelectorAll('#body-json [data-pointer]')].map(n => n.dataset.pointer);",
            vec![],
        )
        .await;
    let pointers: Vec<String> = serde_json::from_value(pointers).expect("pointers");
    for pointer in ["", "/event", "/data", "/data/tag"] {
        assert!(
            pointers.iter().any(|p| p == pointer),
            "{pointer} missing from {pointers:?}"
        );
    }

    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn hostile_captured_text_is_shown_as_text_and_runs_nothing() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;

    let payload = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>";
    let body = json!({
        "event": payload,
        "message": payload,
        payload: payload,
        "idempotency_key": "<b>key</b>",
        "environment": "staging",
        "data": { "id": 1 }
    })
    .to_string();
    // Raw bytes so the path keeps its angle brackets (a client library would percent-encode them).
    let path = "/x/<img/src=x/onerror=window.__pwned=3>";
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nX-Evil: {payload}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        app.addr,
        body.len()
    );
    let answer = raw_exchange(app.addr, request.as_bytes(), Duration::from_secs(5)).await;
    let id = if statuses(&answer).first() == Some(&200) {
        let json = &answer[answer.find('{').expect("JSON answer")..];
        serde_json::from_str::<Value>(json).expect("capture answer")["id"]
            .as_i64()
            .expect("id")
    } else {
        // The server refused a raw `<` in the target; the percent-encoded form still carries the text.
        app.post_with(
            "/x/%3Cimg%20src=x%20onerror=window.__pwned=3%3E",
            "application/json",
            body.clone().into_bytes(),
            &[("x-evil", payload)],
        )
        .await
    };
    browser.wait_list(&[id]).await;
    browser.click(&format!("#list > li[data-id='{id}']")).await;
    browser
        .wait_for("the detail body", "document.querySelector('#detail #body-json')")
        .await;
    // Show the raw view too, so both renderings of the body have been in the DOM.
    browser.click("#detail .tab[data-view='raw']").await;
    browser
        .wait_for("the raw body", "document.querySelector('#detail #body-raw')")
        .await;

    let detail = browser.text("#detail").await.expect("detail");
    assert!(
        detail.contains("onerror=\"window.__pwned=1\""),
        "the header and body show as text: {detail}"
    );
    let row = browser.text(&format!("#list > li[data-id='{id}']")).await.expect("row");
    assert!(
        row.contains("<img src=x onerror="),
        "the event name shows as text: {row}"
    );
    let verdict = browser
        .js(
            "return { pwned: window.__pwned === undefined ? null : window.__pwned,
                      imgs: document.querySelectorAll('#list img, #detail img, #notice img').length,
                      scripts: document.scripts.length,
                      bolds: document.querySelectorAll('#detail b, #list b').length };",
            vec![],
        )
        .await;
    assert_eq!(verdict["pwned"], Value::Null, "no payload ran: {verdict}");
    assert_eq!(verdict["imgs"], 0, "no img element came from the payload: {verdict}");
    assert_eq!(verdict["scripts"], 1, "only the page's own script: {verdict}");
    assert_eq!(verdict["bolds"], 0, "no markup came from the payload: {verdict}");
    // Give a late onerror a chance to fire before the final check.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        browser.js("return window.__pwned === undefined;", vec![]).await,
        Value::Bool(true)
    );

    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_page_resumes_after_a_restart_without_losing_or_repeating_rows() {
    let Some(browser) = Browser::start().await else { return };
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = dir.path().join("hookscope.db");
    let app = spawn_app_at(&db, |config| config.listen = "127.0.0.1:0".parse().expect("address")).await;
    let addr = app.addr;
    let mut ids = vec![
        app.post_json("/before", CHANNEL_EVENT_SEED).await,
        app.post_json("/before", ENTITY_ACTION_SEED).await,
    ];
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    ids.push(app.post_json("/live", CHANNEL_EVENT_SEED).await);
    let newest_first = |ids: &[i64]| ids.iter().rev().copied().collect::<Vec<_>>();
    browser.wait_list(&newest_first(&ids)).await;

    app.stop().await;
    browser
        .wait_for(
            "the page to notice the stream dropped",
            "document.getElementById('conn').classList.contains('conn-reconnecting')",
        )
        .await;

    // Same port, same file; captures arrive before the page has reconnected.
    let app = spawn_app_at(&db, |config| config.listen = addr).await;
    for n in 0..4 {
        ids.push(app.post_json(&format!("/after/{n}"), CHANNEL_EVENT_SEED).await);
    }
    browser.wait_live().await;
    ids.push(app.post_json("/after/live", ENTITY_ACTION_SEED).await);
    browser.wait_list(&newest_first(&ids)).await;
    let shown = browser.list_ids().await;
    let mut unique = shown.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), shown.len(), "no row twice: {shown:?}");
    // The counter is bumped per arrival and re-read from the server after a change; it settles on the truth.
    browser
        .wait_for(
            "the live counter to settle",
            &format!("document.getElementById('total').textContent === '{}'", ids.len()),
        )
        .await;

    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn j_k_and_enter_move_through_the_list_and_open_records() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let first = app.post_json("/one", CHANNEL_EVENT_SEED).await;
    let second = app.post_json("/two", ENTITY_ACTION_SEED).await;
    let third = app.post_json("/three", "not json at all").await;
    browser.goto(&app.url("/")).await;
    browser.wait_list(&[third, second, first]).await;

    let cursor = "(document.querySelector('#list > li.cursor') || {dataset: {}}).dataset.id";
    browser.keys("j").await;
    browser
        .wait_for("the cursor on the newest row", &format!("{cursor} === '{third}'"))
        .await;
    browser.keys("j").await;
    browser
        .wait_for("the cursor on the second row", &format!("{cursor} === '{second}'"))
        .await;
    browser.keys(ENTER).await;
    browser
        .wait_for(
            "the second record",
            &format!("document.querySelector('#detail[data-id=\"{second}\"] .detail-url')"),
        )
        .await;
    let url = browser.text("#detail .detail-url").await.expect("url");
    assert!(url.ends_with("/two"), "{url}");
    assert_eq!(
        browser.client.current_url().await.expect("url").fragment(),
        Some(&*format!("/requests/{second}"))
    );

    browser.keys("j").await;
    browser
        .wait_for("the cursor on the oldest row", &format!("{cursor} === '{first}'"))
        .await;
    browser.keys("j").await; // stays on the last row
    browser.keys("k").await;
    browser.keys("k").await;
    browser
        .wait_for("the cursor back on top", &format!("{cursor} === '{third}'"))
        .await;
    browser.keys(ENTER).await;
    browser
        .wait_for(
            "the newest record",
            &format!("document.querySelector('#detail[data-id=\"{third}\"] #body-raw')"),
        )
        .await;
    assert_eq!(browser.text("#body-raw").await.as_deref(), Some("not json at all"));

    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_permalink_opens_its_record_directly() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let target = app.post_json("/permalinked", CHANNEL_EVENT_SEED).await;
    for n in 0..3 {
        app.post_json(&format!("/other/{n}"), ENTITY_ACTION_SEED).await;
    }
    browser.goto(&app.url(&format!("/#/requests/{target}"))).await;
    browser
        .wait_for(
            "the linked record",
            &format!("document.querySelector('#detail[data-id=\"{target}\"] .detail-url')"),
        )
        .await;
    let url = browser.text("#detail .detail-url").await.expect("url");
    assert_eq!(url, app.url("/permalinked"));
    let body = browser.text("#body-json").await.expect("pretty body");
    assert!(body.contains("\"business_loans.deleted\""), "{body}");
    browser
        .wait_for(
            "the row marked open",
            &format!("document.querySelector('#list > li.open[data-id=\"{target}\"]')"),
        )
        .await;

    // A binary body gets a hex view.
    let binary = app
        .post_with(
            "/bin",
            "application/octet-stream",
            vec![0x89, b'P', b'N', b'G', 0, 1, 0xff],
            &[],
        )
        .await;
    browser.goto(&app.url(&format!("/#/requests/{binary}"))).await;
    let hex = browser
        .wait_for(
            "the hex view",
            "(document.querySelector('#detail #body-hex') || {}).textContent",
        )
        .await;
    assert!(
        hex.as_str()
            .is_some_and(|hex| hex.contains("89 50 4e 47 00 01 ff") && hex.contains(".PNG")),
        "{hex}"
    );

    // A link to a record that does not exist says so.
    browser.goto(&app.url("/#/requests/999")).await;
    browser
        .wait_for("a not-found note", "document.querySelector('#detail .gone')")
        .await;

    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn first_run_shows_the_curl_and_sends_samples_in_one_click() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    browser
        .wait_for("the first-run panel", "!document.getElementById('empty').hidden")
        .await;
    let curl = browser.text("#first-curl").await.expect("curl");
    assert!(
        curl.starts_with(&format!("curl -X POST http://{}/", app.addr)),
        "{curl}"
    );
    // Loading the page captured nothing (no favicon.ico or other stray request).
    let stats = app.get_json("/_/api/stats", 200).await;
    assert_eq!(stats["total"], 0, "{stats}");

    browser.click("#send-samples").await;
    browser
        .wait_for(
            "four sample rows",
            "document.querySelectorAll('#list > li').length === 4",
        )
        .await;
    browser
        .wait_for("the first-run panel to go", "document.getElementById('empty').hidden")
        .await;
    let page = app.get_json("/_/api/requests", 200).await;
    let requests = page["requests"].as_array().expect("requests");
    assert_eq!(requests.len(), 4);
    for envelope in ["entity_action", "channel_event"] {
        for valid in [true, false] {
            assert!(
                requests
                    .iter()
                    .any(|r| r["envelope"] == envelope && r["valid"] == valid),
                "no {envelope} with valid={valid}: {page}"
            );
        }
        assert!(
            requests
                .iter()
                .all(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/samples/")))
        );
    }

    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn booth_mode_shows_live_counts_and_the_qr_code() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    app.post_json("/hooks/a", CHANNEL_EVENT_SEED).await;
    app.post_json("/hooks/b", CHANNEL_EVENT_SEED).await; // a duplicate key
    app.post_json("/hooks/c", INVALID_CHANNEL_EVENT).await;
    browser.goto(&app.url("/?booth=1")).await;
    browser.wait_live().await;
    browser
        .wait_for("the counts", "document.getElementById('b-total').textContent === '3'")
        .await;
    assert_eq!(browser.text("#b-valid").await.as_deref(), Some("2"));
    assert_eq!(browser.text("#b-invalid").await.as_deref(), Some("1"));
    assert_eq!(browser.text("#b-duplicates").await.as_deref(), Some("1"));
    let events = browser.text("#b-events").await.expect("by event");
    assert!(
        events.contains("business_loans.deleted") && events.contains('2'),
        "{events}"
    );

    // The QR code is the server's SVG for the hook URL, and it loaded.
    let hook = format!("http://{}/hooks/demo", app.addr);
    let qr = browser
        .wait_for(
            "the QR code to load",
            "(() => { const img = document.getElementById('booth-qr');
                      return img.complete && img.naturalWidth > 0 ? img.getAttribute('src') : null; })()",
        )
        .await;
    let expected: String = url_encode(&hook);
    assert_eq!(qr.as_str(), Some(format!("/_/qr.svg?data={expected}").as_str()));
    assert_eq!(browser.text("#booth-url").await.as_deref(), Some(hook.as_str()));
    assert!(!truthy(
        &browser
            .js("return document.getElementById('booth').hidden;", vec![])
            .await
    ));

    // A new webhook becomes the big latest event and the counts follow it.
    app.post_json(
        "/hooks/d",
        &channel_event("invoices.created", "c1a1f0a4-3f7e-4a53-9a55-6a0f0e3f6b21"),
    )
    .await;
    browser
        .wait_for(
            "the latest event",
            "(document.getElementById('booth-event') || {}).textContent === 'invoices.created'",
        )
        .await;
    browser
        .wait_for(
            "the counts to grow",
            "document.getElementById('b-total').textContent === '4'",
        )
        .await;
    assert_eq!(browser.text("#b-valid").await.as_deref(), Some("3"));

    // The toggle leaves booth mode and forgets it in the URL.
    browser.click("#booth-toggle").await;
    browser
        .wait_for("the normal view", "document.getElementById('booth').hidden")
        .await;
    let url = browser.client.current_url().await.expect("url");
    assert!(!url.as_str().contains("booth=1"), "{url}");

    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn filters_and_pause_apply_to_live_arrivals() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let old_invalid = app.post_json("/old", INVALID_CHANNEL_EVENT).await;
    app.post_json("/old", ENTITY_ACTION_SEED).await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;

    // Only invalid requests, from the API and then live, matched on the summary in the page.
    let select = browser
        .client
        .find(fantoccini::Locator::Css("#f-valid"))
        .await
        .expect("verdict filter");
    select.select_by_value("false").await.expect("choose invalid");
    browser.wait_list(&[old_invalid]).await;
    assert!(
        browser
            .client
            .current_url()
            .await
            .expect("url")
            .as_str()
            .contains("valid=false")
    );
    app.post_json("/new", ENTITY_ACTION_SEED).await;
    let new_invalid = app
        .post_json("/new", r#"{"entity_id":1,"entity_type":"user","action_type":"new"}"#)
        .await;
    browser.wait_list(&[new_invalid, old_invalid]).await;

    // A text search looks into bodies: the server applies it to the live stream too, so a live arrival whose body
    // matches shows at once, and one that does not never shows.
    let search = browser
        .client
        .find(fantoccini::Locator::Css("#f-q"))
        .await
        .expect("search box");
    search.send_keys("entity").await.expect("type");
    browser.wait_list(&[new_invalid]).await;
    browser.wait_live().await;
    app.post_with("/new", "text/plain", b"nothing to find".to_vec(), &[])
        .await;
    let found = app
        .post_json("/new", r#"{"entity_id":2,"entity_type":"user","action_type":"new"}"#)
        .await;
    browser.wait_list(&[found, new_invalid]).await;
    let notice_hidden = browser
        .js("return document.getElementById('notice').hidden;", vec![])
        .await;
    assert_eq!(
        notice_hidden,
        serde_json::Value::Bool(true),
        "no refresh hint is needed"
    );

    // Reset, pause: arrivals are counted and held back until resumed.
    browser.click("#f-reset").await;
    browser
        .wait_for("the full list", "document.querySelectorAll('#list > li').length === 6")
        .await;
    browser.click("#pause").await;
    let held = app.post_json("/held", CHANNEL_EVENT_SEED).await;
    browser
        .wait_for(
            "the pause count",
            "document.getElementById('pause').textContent === 'Resume (1)'",
        )
        .await;
    assert_eq!(browser.text("#total").await.as_deref(), Some("7"));
    assert!(!browser.list_ids().await.contains(&held));
    browser.click("#pause").await;
    browser
        .wait_for(
            "the held row",
            &format!("document.querySelector('#list > li[data-id=\"{held}\"]')"),
        )
        .await;

    browser.close().await;
    app.stop().await;
}

/// `encodeURIComponent`, for the characters a hook URL has.
fn url_encode(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '-' | '_' | '.' | '!' | '~' | '*' | '\'' | '(' | ')' => c.to_string(),
            _ => format!("%{:02X}", c as u32),
        })
        .collect()
}

#[tokio::test]
async fn a_flood_shows_the_newest_rows_and_counts_the_rest() {
    use futures_util::StreamExt;
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;

    // Faster than the stream's busy rate (on most machines): the server then sends each viewer only the newest
    // requests, after a `skipped` event that the page counts in its notice. Either way, every request is
    // accounted for: shown as a row or counted as skipped.
    const FLOOD: usize = 3000;
    let newest = futures_util::stream::iter(0..FLOOD)
        .map(|_| app.post_json("/flood", "{}"))
        .buffer_unordered(64)
        .fold(0, |newest, id| async move { newest.max(id) })
        .await;
    let accounted = format!(
        "(() => {{
           const rows = document.querySelectorAll('#list > li').length;
           const notice = document.getElementById('notice');
           const text = notice.hidden ? '' : document.getElementById('notice-text').textContent;
           const skipped = /arrived faster/.test(text) ? Number(text.replace(/[^0-9].*$/, '')) : 0;
           return rows + skipped === {FLOOD};
         }})()"
    );
    browser.wait_for("every request shown or counted", &accounted).await;
    assert_eq!(browser.list_ids().await.first(), Some(&newest));
    let skipped = !truthy(
        &browser
            .js("return document.getElementById('notice').hidden;", vec![])
            .await,
    );
    if skipped {
        browser.click("#notice-action").await;
        browser
            .wait_for(
                "the refreshed first page",
                "document.getElementById('notice').hidden && document.querySelectorAll('#list > li').length === 50",
            )
            .await;
        assert_eq!(browser.list_ids().await.first(), Some(&newest));
    }
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn eviction_by_keep_is_shown_beside_the_count() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app_with(|c| c.store.keep = Some(3)).await;
    for n in 0..5 {
        app.post_json("/kept", &channel_event("invoices.created", &format!("keep-{n}")))
            .await;
    }
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    browser
        .wait_for(
            "the eviction count",
            "document.getElementById('evicted').textContent === ', 2 evicted by --keep'",
        )
        .await;
    assert_eq!(browser.text("#total").await.as_deref(), Some("3"));
    assert_eq!(browser.text("#total-label").await.as_deref(), Some("kept"));
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn an_empty_body_reads_empty_and_a_finding_toast_closes_when_another_request_opens() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let empty = app.post_with("/empty", "text/plain", Vec::new(), &[]).await;
    // No `message`: its finding points at a member that is not there, which the page says in a toast.
    let missing = app
        .post_json(
            "/missing",
            r#"{"event":"invoices.created","idempotency_key":"5f1c6f0e-7f7e-4a8e-9d55-1f5e0c4b8a11","environment":"staging","data":{"id":1}}"#,
        )
        .await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    browser.wait_list(&[missing, empty]).await;
    let empty_row = browser
        .text(&format!("#list > li[data-id='{empty}']"))
        .await
        .expect("row");
    assert!(
        empty_row.contains("empty") && !empty_row.contains("not JSON"),
        "{empty_row}"
    );
    let first_option = browser
        .js(
            "return document.querySelector('#f-duplicate option').textContent;",
            vec![],
        )
        .await;
    assert_eq!(first_option, Value::String("all requests".into()));

    browser.click(&format!("#list > li[data-id='{missing}']")).await;
    browser
        .wait_for(
            "the detail",
            &format!("document.querySelector('#detail[data-id=\"{missing}\"] #findings')"),
        )
        .await;
    browser.click("#findings .finding-btn[data-pointer='/message']").await;
    browser
        .wait_for("the toast", "!document.getElementById('toast').hidden")
        .await;
    // Opening another request closes it at once, well before it would have timed out (2.6 s).
    let opened = std::time::Instant::now();
    browser.click(&format!("#list > li[data-id='{empty}']")).await;
    browser
        .wait_for(
            "the other detail",
            &format!("document.querySelector('#detail[data-id=\"{empty}\"]')"),
        )
        .await;
    let hidden = browser
        .js("return document.getElementById('toast').hidden;", vec![])
        .await;
    assert!(opened.elapsed() < Duration::from_millis(2000), "too slow to tell");
    assert_eq!(hidden, Value::Bool(true));
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn refused_requests_are_counted_in_the_top_bar_and_listed_on_a_click() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app_with(|c| c.limits.max_body = 10).await;
    let response = app
        .client
        .post(app.url("/too/big"))
        .body("far more than ten bytes")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 413);
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    browser
        .wait_for(
            "the refused counter",
            "!document.getElementById('refused').hidden && document.getElementById('refused').textContent === '1 refused'",
        )
        .await;
    browser.click("#refused").await;
    let item = browser
        .wait_for(
            "the refused list",
            "document.getElementById('refused-dialog').open && document.querySelector('#refused-list .refused-item')?.textContent",
        )
        .await;
    let item = item.as_str().expect("text");
    assert!(
        item.contains("413 body too large") && item.contains("POST /too/big"),
        "{item}"
    );
    browser.click("#refused-close").await;
    browser
        .wait_for("the dialog to close", "!document.getElementById('refused-dialog').open")
        .await;
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn the_header_filter_narrows_the_list_and_the_live_arrivals() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let push = app
        .post_with("/gh", "application/json", b"{}".to_vec(), &[("X-GitHub-Event", "push")])
        .await;
    app.post_with(
        "/gh",
        "application/json",
        b"{}".to_vec(),
        &[("X-GitHub-Event", "issues")],
    )
    .await;
    browser.goto(&app.url("/?header=X-GitHub-Event%3Apush")).await;
    browser.wait_live().await;
    browser.wait_list(&[push]).await;
    let live = app
        .post_with("/gh", "application/json", b"{}".to_vec(), &[("X-GitHub-Event", "push")])
        .await;
    app.post_with(
        "/gh",
        "application/json",
        b"{}".to_vec(),
        &[("X-GitHub-Event", "issues")],
    )
    .await;
    browser.wait_list(&[live, push]).await;
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn a_gzip_body_opens_decompressed_and_a_form_as_its_fields() {
    use std::io::Write;
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(br#"{"zipped":{"deep":true}}"#).expect("compress");
    let gz = app
        .post_with(
            "/gz",
            "application/json",
            encoder.finish().expect("compress"),
            &[("Content-Encoding", "gzip")],
        )
        .await;
    let form = app
        .post_with(
            "/form",
            "application/x-www-form-urlencoded",
            b"name=Ada&role=admin".to_vec(),
            &[],
        )
        .await;
    browser.goto(&app.url(&format!("/#/requests/{gz}"))).await;
    let tree = browser
        .wait_for(
            "the decompressed tree",
            "document.querySelector('#detail [data-pointer=\"/zipped/deep\"]')?.textContent",
        )
        .await;
    assert!(
        tree.as_str().is_some_and(|text| text.contains("\"deep\": true")),
        "{tree}"
    );
    let selected = browser
        .js(
            "return document.querySelector('#detail .tab[aria-selected=\"true\"]').textContent;",
            vec![],
        )
        .await;
    assert_eq!(selected, Value::String("Decoded (gzip)".into()));
    browser.goto(&app.url(&format!("/#/requests/{form}"))).await;
    let fields = browser
        .wait_for(
            "the form's fields",
            "document.querySelector('#detail .form-fields')?.textContent",
        )
        .await;
    let fields = fields.as_str().expect("text");
    assert!(
        fields.contains("name") && fields.contains("Ada") && fields.contains("admin"),
        "{fields}"
    );
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn copy_as_curl_quotes_every_part_so_a_hostile_method_runs_nothing() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    let method = "X`touch$IFS/tmp/hookscope-pwned`$(id)";
    let record = json!({
        "method": method,
        "path": "/p",
        "query": "",
        "headers": [["x-a", "it's $(id)"]],
        "body": "'; echo owned",
        "body_size": 13,
    });
    let script = format!(
        "return import('/_/static/{}/js/detail.js').then(m => m.asCurl(arguments[0]));",
        env!("CARGO_PKG_VERSION")
    );
    let command = browser.js(&script, vec![record]).await;
    let command = command.as_str().expect("a command").to_owned();
    let arguments = command.strip_prefix("curl ").expect("starts with curl");
    // bash parses the arguments, and runs nothing of them.
    let parsed = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("set -- {arguments}; printf '%s\\0' \"$@\""))
        .output()
        .expect("bash");
    let words: Vec<String> = String::from_utf8_lossy(&parsed.stdout)
        .split('\0')
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(words[0], "-X");
    assert_eq!(words[1], method, "{command}");
    assert!(words.contains(&"x-a: it's $(id)".to_owned()), "{words:?}");
    assert!(words.contains(&"'; echo owned".to_owned()), "{words:?}");
    assert!(!std::path::Path::new("/tmp/hookscope-pwned").exists());
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn rows_and_the_detail_show_the_endpoint_and_what_was_answered() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app_with(|c| {
        c.respond = vec![(
            hookscope::endpoints::pattern::PathPattern::parse("/flaky").expect("pattern"),
            hookscope::endpoints::steps::parse_shorthand("500,202@100ms").expect("steps"),
        )]
    })
    .await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    let first = app
        .client
        .post(app.url("/flaky"))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(first.status(), 500);
    let id = first.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let row = browser
        .wait_for(
            "the row",
            &format!("document.querySelector('#list > li[data-id=\"{id}\"]')?.textContent"),
        )
        .await;
    let row = row.as_str().expect("text");
    assert!(row.contains("respond-1") && row.contains("→ 500"), "{row}");
    browser.click(&format!("#list > li[data-id='{id}']")).await;
    let answered = browser
        .wait_for(
            "the answer in the detail",
            "document.querySelector('#detail .answered')?.textContent",
        )
        .await;
    assert_eq!(answered, Value::String("→ 500 (step 1 of endpoint respond-1)".into()));
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn an_endpoint_made_in_the_page_answers_its_steps_and_can_be_deactivated() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    browser.click("#endpoints-open").await;
    browser
        .wait_for(
            "the endpoints dialog",
            "document.getElementById('endpoints-dialog').open",
        )
        .await;
    for (field, value) in [
        ("#endpoint-name", "flaky"),
        ("#endpoint-path", "/page/flaky"),
        ("#endpoint-steps", "500,200"),
    ] {
        browser
            .client
            .find(fantoccini::Locator::Css(field))
            .await
            .expect("field")
            .send_keys(value)
            .await
            .expect("type");
    }
    browser.click("#endpoint-save").await;
    browser
        .wait_for(
            "the new endpoint in the list",
            "document.querySelector('#endpoints-list .endpoint-item[data-name=\"flaky\"]')",
        )
        .await;
    browser.click("#endpoints-close").await;

    let first = app
        .client
        .post(app.url("/page/flaky"))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(first.status(), 500);
    let id = first.json::<Value>().await.expect("json")["id"].as_i64().expect("id");
    let row = browser
        .wait_for(
            "the answered row",
            &format!("document.querySelector('#list > li[data-id=\"{id}\"]')?.textContent"),
        )
        .await;
    assert!(
        row.as_str()
            .is_some_and(|row| row.contains("→ 500") && row.contains("flaky")),
        "{row}"
    );

    // Deactivated from the page: the next request is answered 410 Gone, and still captured.
    browser.click("#endpoints-open").await;
    browser
        .wait_for(
            "the dialog, open again with its list read afresh",
            "document.getElementById('endpoints-dialog').open && document.querySelector('.endpoint-item[data-name=\"flaky\"] .endpoint-toggle')",
        )
        .await;
    browser
        .click(".endpoint-item[data-name='flaky'] .endpoint-toggle")
        .await;
    browser
        .wait_for(
            "the endpoint to read inactive",
            "document.querySelector('.endpoint-item[data-name=\"flaky\"]')?.textContent.includes('inactive')",
        )
        .await;
    let gone = app
        .client
        .post(app.url("/page/flaky"))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(gone.status(), 410);
    browser.close().await;
    app.stop().await;
}

#[tokio::test]
async fn editing_an_endpoint_in_the_page_keeps_the_headers_and_bodies_of_its_steps() {
    let Some(browser) = Browser::start().await else { return };
    let app = spawn_app().await;
    let created = app
        .client
        .post(app.url("/_/api/endpoints"))
        .json(&serde_json::json!({
            "name": "challenge",
            "path": "/page/challenge",
            "respond": [{"headers": {"X-Answer": "yes"}, "body": "ok"}],
        }))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    browser.goto(&app.url("/")).await;
    browser.wait_live().await;
    browser.click("#endpoints-open").await;
    browser
        .wait_for(
            "the endpoint in the list",
            "document.querySelector('.endpoint-item[data-name=\"challenge\"] .endpoint-edit')",
        )
        .await;
    browser
        .click(".endpoint-item[data-name='challenge'] .endpoint-edit")
        .await;
    browser
        .wait_for(
            "the form filled in",
            "document.getElementById('endpoint-name').value === 'challenge'",
        )
        .await;
    browser
        .client
        .find(fantoccini::Locator::Css("#endpoint-comment"))
        .await
        .expect("field")
        .send_keys("Slack's challenge")
        .await
        .expect("type");
    browser.click("#endpoint-save").await;
    browser
        .wait_for(
            "the form emptied after saving",
            "document.getElementById('endpoint-name').value === ''",
        )
        .await;
    let answer = app
        .client
        .post(app.url("/page/challenge"))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.headers()["x-answer"], "yes");
    assert_eq!(answer.text().await.expect("body"), "ok");
    let listed: Value = app
        .client
        .get(app.url("/_/api/endpoints"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["endpoints"][0]["comment"], "Slack's challenge");
    browser.close().await;
    app.stop().await;
}
