//! Micro-benchmarks of the payload checks, the pure CPU work every capture does before it is stored.
//! `cargo bench --bench profiles`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hookscope::profiles::inspect;

/// The accounting provider's example (seed 004), as in its documentation.
const SEED_004: &str = r#"{ "event": "business_loans.deleted", "message": "Business_Loan deleted successfully.", "idempotency_key": "26053e97-f78a-4d25-a519-4eed22ba5c41", "environment": "staging", "data": { "id": 1, "tag": "adasd" } }"#;

/// The CRM provider's example (seed 001), as in its documentation.
const ENTITY_ACTION: &str = r#"{    "entity_id": 1,    "entity_type": "user",    "action_type": "new",    "result": {        "id": 1,        "external_id": "1815",        "code": "CODE",        "external_qr_identifier": "thebarcode",        "checkin": "2019-11-05 07:56:15",        "name_first": "Guan",        "name_infix": null,        "name_last": "the Man",        "gender": "man",        "company_name": "Let's Get Digital",        "company_role": "Awesome person",        "normal_qr_code": "thebarcode",        "secure_qr_code": "https:\/\/evins.nl\/1\/bd0494941c\/tyiuW2S1OUv5c3ASL1qv%2E",        "aanmelder_survey_id": "93627",        "qr_link": "v2d5iy6g0m60tc",        "custom_fields": [],        "companies": [            5        ]    }}"#;

/// A channel_event with three errors (unknown channel, bad environment, `data` not an object) and three warnings
/// (a key that is not a UUID, an unexpected member, a repeated key).
const INVALID: &str = r#"{"event":"spaceships.launched","message":"x","idempotency_key":"not-a-uuid","environment":"dev","data":[1,2,3],"extra":true,"extra":false}"#;

/// The body bench/post.lua sends: a valid channel_event of exactly 1 KiB.
fn channel_event_1k() -> String {
    let start = r#"{"event":"invoices.created","message":"Invoice created successfully.","idempotency_key":"5cae2796-7e50-4000-8000-000000007e50","environment":"staging","data":{"id":32336,"note":""#;
    let body = format!("{start}{}\"}}}}", "x".repeat(1024 - start.len() - 3));
    assert_eq!(body.len(), 1024);
    body
}

/// A valid channel_event of about 100 KiB: `data` holds a list of invoice lines.
fn channel_event_100k() -> String {
    let mut lines = Vec::new();
    let mut size = 0;
    let mut n = 0;
    while size < 100 * 1024 {
        let line = format!(
            r#"{{"line":{n},"description":"Consulting services, week {n}","quantity":{q},"unit_price":125.5,"tax_rate":0.21,"account":"8000"}}"#,
            q = n % 7 + 1
        );
        size += line.len() + 1;
        lines.push(line);
        n += 1;
    }
    format!(
        r#"{{"event":"invoices.updated","message":"Invoice updated successfully.","idempotency_key":"26053e97-f78a-4d25-a519-4eed22ba5c41","environment":"production","data":{{"id":7,"lines":[{}]}}}}"#,
        lines.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let one_k = channel_event_1k();
    let hundred_k = channel_event_100k();
    let cases: [(&str, &[u8]); 6] = [
        ("seed_004_channel_event", SEED_004.as_bytes()),
        ("channel_event_1KiB", one_k.as_bytes()),
        ("entity_action_seed_001", ENTITY_ACTION.as_bytes()),
        ("invalid_channel_event", INVALID.as_bytes()),
        ("malformed_json", br#"{"event":"invoices.created","message":"#),
        ("channel_event_100KiB", hundred_k.as_bytes()),
    ];
    // Sanity: the valid ones are valid, the invalid ones are not, so the benchmark measures the intended paths.
    for (name, body) in &cases {
        let verdict = inspect(body, Some("application/json"));
        let expect_valid = !name.starts_with("invalid") && !name.starts_with("malformed");
        assert_eq!(verdict.valid, Some(expect_valid), "{name}: {:?}", verdict.errors);
    }
    let mut group = c.benchmark_group("inspect");
    for (name, body) in cases {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| inspect(black_box(body), black_box(Some("application/json"))))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
