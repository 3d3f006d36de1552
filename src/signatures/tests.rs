//! The schemes against their providers' published examples (and vectors made with Python's `hmac` and
//! `cryptography`, independent of this code), each explanation, and hostile headers.

use super::custom::{Custom, Template};
use super::mac::Algorithm;
use super::reading::{Encoding, Message};
use super::secret::Secret;
use super::*;

/// 2021-02-25T15:42:10Z, the Standard Webhooks example's timestamp.
const SW_TIME: i64 = 1_614_265_330;

fn verification(scheme: Option<Scheme>, secrets: &[&str]) -> Verification {
    Verification {
        scheme: scheme.map_or(SchemeChoice::Auto, SchemeChoice::Fixed),
        secrets: secrets.iter().map(|secret| Secret::plain(*secret)).collect(),
        tolerance_s: DEFAULT_TOLERANCE_S,
        public_url: None,
        custom: None,
    }
}

/// A request with these headers and body, received at `at` seconds.
struct Request {
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    path: String,
    query: String,
    at: i64,
}

impl Request {
    fn new(headers: &[(&str, &str)], body: &[u8], at: i64) -> Request {
        Request {
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.as_bytes().to_vec()))
                .collect(),
            body: body.to_vec(),
            path: "/hooks".into(),
            query: String::new(),
            at,
        }
    }

    fn at_url(mut self, path: &str, query: &str) -> Request {
        self.path = path.into();
        self.query = query.into();
        self
    }

    fn check(&self, verification: Option<&Verification>) -> Check {
        let pairs: Vec<(&str, &[u8])> = self.pairs();
        assess(verification, &self.message(&pairs), None)
    }

    fn explain(&self, verification: &Verification) -> Explanation {
        let pairs: Vec<(&str, &[u8])> = self.pairs();
        explain(Some(verification), &self.message(&pairs), None)
    }

    fn pairs(&self) -> Vec<(&str, &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_slice()))
            .collect()
    }

    fn message<'a>(&'a self, pairs: &'a [(&'a str, &'a [u8])]) -> Message<'a> {
        Message {
            headers: pairs,
            body: &self.body,
            path: &self.path,
            query: &self.query,
            received_at_ms: self.at * 1000,
        }
    }
}

fn standard_webhooks_example() -> Request {
    Request::new(
        &[
            ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("webhook-timestamp", "1614265330"),
            ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
        ],
        br#"{"test": 2432232314}"#,
        SW_TIME + 10,
    )
}

const SW_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn assert_valid(check: &Check) {
    assert_eq!(check.verdict, SignatureVerdict::Valid, "{check:?}");
}

fn assert_invalid(check: &Check, reason: &str) {
    assert_eq!(check.verdict, SignatureVerdict::Invalid, "{check:?}");
    assert!(
        check.reason.as_deref().is_some_and(|said| said.contains(reason)),
        "{check:?} should say {reason}"
    );
}

fn explains(explanation: &Explanation, words: &str) {
    assert!(
        explanation.sentences.iter().any(|sentence| sentence.contains(words)),
        "{:#?} should say {words}",
        explanation.sentences
    );
}

#[test]
fn the_standard_webhooks_specification_example_verifies_and_signs_the_same() {
    let request = standard_webhooks_example();
    let check = request.check(Some(&verification(Some(Scheme::StandardWebhooks), &[SW_SECRET])));
    assert_valid(&check);
    assert_eq!(check.secret.as_deref(), Some("whsec_…LaSw"));
    let headers = sign(
        Scheme::StandardWebhooks,
        None,
        SW_SECRET,
        &Signing {
            body: &request.body,
            timestamp: SW_TIME,
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            url: "",
            form: false,
        },
    )
    .expect("signs");
    assert!(headers.contains(&(
        "webhook-signature".into(),
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".into()
    )));
}

#[test]
fn standard_webhooks_takes_any_of_several_signatures_the_svix_names_and_ed25519() {
    let several = Request::new(
        &[
            ("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
            ("svix-timestamp", "1614265330"),
            (
                "svix-signature",
                "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,zzz v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            ),
        ],
        br#"{"test": 2432232314}"#,
        SW_TIME,
    );
    assert_valid(&several.check(Some(&verification(None, &[SW_SECRET]))));

    // Made with Python's `cryptography` from the private key 0, 1, ..., 31.
    let signed = Request::new(
        &[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", "1700000000"),
            (
                "webhook-signature",
                "v1a,e61aA/+ABogRlWiUgazkN9FgowkqjQwNvgqaxeqWDen9M84zPk6QUgz4+AjnRrCqdgyOiVMywgEtA8TMhcOaBw==",
            ),
        ],
        br#"{"type":"user.created"}"#,
        1_700_000_000,
    );
    let public = "whpk_A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=";
    let private = "whsk_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    assert_valid(&signed.check(Some(&verification(Some(Scheme::StandardWebhooks), &[public]))));
    assert_valid(&signed.check(Some(&verification(Some(Scheme::StandardWebhooks), &[private]))));
    let headers = sign(
        Scheme::StandardWebhooks,
        None,
        private,
        &Signing {
            body: &signed.body,
            timestamp: 1_700_000_000,
            id: "msg_1",
            url: "",
            form: false,
        },
    )
    .expect("signs");
    assert_eq!(headers[2].1.as_bytes(), signed.headers[2].1.as_slice());
}

#[test]
fn githubs_documented_example_verifies() {
    let request = Request::new(
        &[(
            "X-Hub-Signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        )],
        b"Hello, World!",
        0,
    );
    let secret = "It's a Secret to Everybody";
    assert_valid(&request.check(Some(&verification(Some(Scheme::Github), &[secret]))));
    let headers = github::sign(secret, b"Hello, World!");
    let legacy = Request::new(&[("X-Hub-Signature", headers[1].1.as_str())], b"Hello, World!", 0);
    assert_valid(&legacy.check(Some(&verification(None, &[secret]))));
}

#[test]
fn stripe_signs_the_timestamp_and_body_with_its_secrets_bytes_as_they_are() {
    // Made with Python's hmac: HMAC-SHA256("whsec_test_secret", "1700000000." + body).
    let body = b"{\n  \"id\": \"evt_1NG8Du2eZvKYlo2CUI79vXWy\",\n  \"object\": \"event\",\n  \"type\": \"payment_intent.succeeded\"\n}";
    let request = Request::new(
        &[(
            "Stripe-Signature",
            "t=1700000000,v1=0000000000000000000000000000000000000000000000000000000000000000,v1=4fef3d16d089a20f17d97f210c129a60d44a383b8204ad3d9f24e3ddab53be42,v0=abc",
        )],
        body,
        1_700_000_100,
    );
    assert_valid(&request.check(Some(&verification(Some(Scheme::Stripe), &["whsec_test_secret"]))));
    assert_eq!(
        stripe::sign("whsec_test_secret", 1_700_000_000, body)[0].1,
        "t=1700000000,v1=4fef3d16d089a20f17d97f210c129a60d44a383b8204ad3d9f24e3ddab53be42"
    );
}

#[test]
fn shopify_and_slack_examples_verify() {
    // Made with Python's hmac.
    let shopify = Request::new(
        &[("X-Shopify-Hmac-Sha256", "ZPINS/5npCYM+nR4R+feUuIZGvjL1Ncj6BUOKdHVNKQ=")],
        br#"{"id":820982911946154508,"email":"jon@example.com"}"#,
        0,
    );
    assert_valid(&shopify.check(Some(&verification(None, &["shpss_test"]))));

    // Slack's documented example ("Verifying requests from Slack").
    let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    let slack = Request::new(
        &[
            ("X-Slack-Request-Timestamp", "1531420618"),
            (
                "X-Slack-Signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ),
        ],
        body,
        1_531_420_618,
    );
    assert_valid(&slack.check(Some(&verification(
        Some(Scheme::Slack),
        &["8f742231b10e8888abcd99yyyzzz85a5"],
    ))));
}

/// Twilio's published example: the auth token `12345`, and a form posted to this URL.
fn twilio_request(signature: &str) -> Request {
    Request::new(
        &[
            ("X-Twilio-Signature", signature),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"Digits=1234&To=%2B18005551212&From=%2B14158675309&Caller=%2B14158675309&CallSid=CA1234567890ABCDE",
        0,
    )
    .at_url("/myapp.php", "foo=1&bar=2")
}

fn twilio_verification() -> Verification {
    Verification {
        public_url: Some("https://mycompany.com".into()),
        ..verification(Some(Scheme::Twilio), &["12345"])
    }
}

#[test]
fn twilios_published_examples_verify() {
    assert_valid(&twilio_request("RSOYDt4T1cUTdK1PDd93/VVr8B8=").check(Some(&twilio_verification())));

    let mut repeated = twilio_request("IK+Dwps556ElfBT0I3Rgjkr1wJU=");
    repeated.body = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234".to_vec();
    assert_valid(&repeated.check(Some(&twilio_verification())));

    let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    let json = Request::new(
        &[
            ("X-Twilio-Signature", "a9nBmqA0ju/hNViExpshrM61xv4="),
            ("Content-Type", "application/json"),
        ],
        br#"{"property": "value", "boolean": true}"#,
        0,
    )
    .at_url("/myapp.php", &format!("foo=1&bar=2&bodySHA256={hash}"));
    assert_valid(&json.check(Some(&twilio_verification())));
    let mut tampered = json;
    tampered.body = br#"{"property": "other", "boolean": true}"#.to_vec();
    assert_invalid(&tampered.check(Some(&twilio_verification())), "bodySHA256");
}

#[test]
fn twilio_without_a_public_url_uses_the_forwarded_origin() {
    let mut request = twilio_request("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    request.headers.push(("host".into(), b"127.0.0.1:8080".to_vec()));
    request
        .headers
        .push(("x-forwarded-host".into(), b"mycompany.com".to_vec()));
    request.headers.push(("x-forwarded-proto".into(), b"https".to_vec()));
    assert_valid(&request.check(Some(&verification(Some(Scheme::Twilio), &["12345"]))));
}

#[test]
fn a_custom_hmac_reads_its_header_prefix_encoding_and_template() {
    let custom = Custom {
        header: "x-signature".into(),
        prefix: "sha512=".into(),
        algorithm: Algorithm::Sha512,
        encoding: Encoding::Base64,
        template: Template::parse("{{timestamp}}.{{body}}").expect("template"),
        timestamp_header: Some("x-timestamp".into()),
    };
    let headers = custom.sign("s3cret", 1_700_000_000, b"{}");
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let request = Request::new(&pairs, b"{}", 1_700_000_000);
    let configured = Verification {
        custom: Some(custom.clone()),
        ..verification(Some(Scheme::Hmac), &["s3cret"])
    };
    assert_valid(&request.check(Some(&configured)));
    let expected = mac::hmac(Algorithm::Sha512, b"s3cret", &[b"1700000000.{}"]);
    assert_eq!(headers[0].1, format!("sha512={}", Encoding::Base64.encode(&expected)));
    let late = Request::new(&pairs, b"{}", 1_700_001_000);
    assert_invalid(
        &late.check(Some(&configured)),
        "1000 s old, outside the 300 s tolerance",
    );
}

#[test]
fn a_rotated_secret_matches_as_the_second_one() {
    let check = standard_webhooks_example().check(Some(&verification(
        None,
        &["whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", SW_SECRET],
    )));
    assert_valid(&check);
    assert_eq!(check.reason.as_deref(), Some("secret 2 matches"));
}

#[test]
fn without_verification_a_known_header_is_unchecked_and_none_is_unsigned() {
    assert_eq!(
        standard_webhooks_example().check(None).verdict,
        SignatureVerdict::Unchecked
    );
    assert_eq!(
        standard_webhooks_example().check(None).scheme.as_deref(),
        Some("standard-webhooks")
    );
    assert_eq!(
        Request::new(&[], b"{}", 0).check(None).verdict,
        SignatureVerdict::Unsigned
    );
}

#[test]
fn each_plain_reason_is_given_at_capture() {
    let auto = verification(None, &[SW_SECRET]);
    assert_invalid(
        &Request::new(&[], b"{}", 0).check(Some(&auto)),
        "no known signature header",
    );
    let github = verification(Some(Scheme::Github), &["x"]);
    assert_invalid(
        &Request::new(&[], b"{}", 0).check(Some(&github)),
        "the X-Hub-Signature-256 header is missing",
    );
    assert_invalid(
        &Request::new(&[("X-Hub-Signature-256", "md5=abc")], b"{}", 0).check(Some(&github)),
        "malformed: expected sha256=<64 hex digits>",
    );
    let mut old = standard_webhooks_example();
    old.at = SW_TIME + 3600;
    assert_invalid(
        &old.check(Some(&auto)),
        "webhook-timestamp is 3600 s old, outside the 300 s tolerance",
    );
    let mut ahead = standard_webhooks_example();
    ahead.at = SW_TIME - 400;
    assert_invalid(&ahead.check(Some(&auto)), "400 s in the future");
    assert_invalid(
        &standard_webhooks_example().check(Some(&verification(None, &["whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]))),
        "no configured secret matches",
    );
}

#[test]
fn explained_a_secret_used_in_the_other_encoding() {
    // The sender used the whsec_ string's bytes, as Stripe does, under Standard Webhooks headers.
    let mut request = standard_webhooks_example();
    let wrong = mac::hmac(
        Algorithm::Sha256,
        SW_SECRET.as_bytes(),
        &[b"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.", &request.body],
    );
    request.headers[2].1 = format!("v1,{}", Encoding::Base64.encode(&wrong)).into_bytes();
    let explanation = request.explain(&verification(None, &[SW_SECRET]));
    explains(&explanation, "used as raw bytes");

    // And a Stripe endpoint given a Standard Webhooks sender's signature.
    let stripe_body = b"{}";
    let key = Encoding::Base64
        .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        .expect("base64");
    let signature = mac::hmac(Algorithm::Sha256, &key, &[b"1700000000.", stripe_body]);
    let request = Request::new(
        &[(
            "Stripe-Signature",
            &format!("t=1700000000,v1={}", hex::encode(signature)),
        )],
        stripe_body,
        1_700_000_000,
    );
    explains(&request.explain(&verification(None, &[SW_SECRET])), "base64-decoded");
}

fn github_request(secret: &str, body: &[u8]) -> Request {
    let headers = github::sign(secret, body);
    Request::new(&[("X-Hub-Signature-256", headers[0].1.as_str())], body, 0)
}

#[test]
fn explained_a_secret_with_whitespace_or_a_stray_prefix() {
    let request = github_request("s3cret", b"{}");
    explains(
        &request.explain(&verification(Some(Scheme::Github), &["s3cret\n"])),
        "secret 1 (…) matches without the whitespace around it",
    );
    explains(
        &request.explain(&verification(Some(Scheme::Github), &["v1,s3cret"])),
        "without its v1, prefix",
    );
    explains(
        &request.explain(&verification(Some(Scheme::Github), &["whsec_s3cret"])),
        "without its whsec_ prefix",
    );
    let prefixed = github_request("whsec_s3cret", b"{}");
    explains(
        &prefixed.explain(&verification(Some(Scheme::Github), &["s3cret"])),
        "with whsec_ in front of it",
    );
}

#[test]
fn explained_a_body_rewritten_on_the_way() {
    let original = b"{\"a\": 1, \"b\": [true, null]}";
    let signed_compact = github_request("s3cret", br#"{"a":1,"b":[true,null]}"#);
    let mut received = signed_compact;
    received.body = original.to_vec();
    let github = verification(Some(Scheme::Github), &["s3cret"]);
    explains(
        &received.explain(&github),
        "the signature matches this body re-serialised as compact JSON",
    );

    let indented = serde_json::to_vec_pretty(&serde_json::json!({"a": 1})).expect("json");
    let mut received = github_request("s3cret", &indented);
    received.body = br#"{"a":1}"#.to_vec();
    explains(&received.explain(&github), "indented by two spaces");

    let mut received = github_request("s3cret", br#"{"a": 1}"#);
    received.body = br#"{"a":1}"#.to_vec();
    explains(&received.explain(&github), "Python's json.dumps");

    let mut received = github_request("s3cret", b"{}\n");
    received.body = b"{}".to_vec();
    explains(&received.explain(&github), "with a trailing newline added");
    let mut received = github_request("s3cret", b"{}");
    received.body = b"{}\n".to_vec();
    explains(&received.explain(&github), "without its trailing newline");
}

#[test]
fn explained_a_twilio_url_with_another_port_slash_or_scheme() {
    // Signed over https://mycompany.com:443/myapp.php?foo=1&bar=2 (twilio-php's test vector).
    let explanation = twilio_request("kvajT1Ptam85bY51eRf/AJRuM3w=").explain(&twilio_verification());
    explains(
        &explanation,
        "the signature matches the URL https://mycompany.com:443/myapp.php?foo=1&bar=2",
    );

    let signed_with_slash = twilio::sign(
        "12345",
        "https://mycompany.com/myapp.php/?foo=1&bar=2",
        &twilio::sorted_params(&twilio_request("").body),
    );
    explains(
        &twilio_request(&signed_with_slash[0].1).explain(&twilio_verification()),
        "https://mycompany.com/myapp.php/?foo=1&bar=2",
    );
    let signed_over_http = twilio::sign(
        "12345",
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        &twilio::sorted_params(&twilio_request("").body),
    );
    explains(
        &twilio_request(&signed_over_http[0].1).explain(&twilio_verification()),
        "http://mycompany.com/myapp.php?foo=1&bar=2",
    );
}

#[test]
fn explained_a_timestamp_outside_the_tolerance_and_headers_missing_or_malformed() {
    let mut old = standard_webhooks_example();
    old.at = SW_TIME + 3600;
    let explanation = old.explain(&verification(None, &[SW_SECRET]));
    explains(&explanation, "3600 s old, outside the 300 s tolerance");
    explains(&explanation, "apart from its age the signature matches secret 1");

    let missing = Request::new(&[], b"{}", 0).explain(&verification(Some(Scheme::Stripe), &["whsec_x"]));
    explains(
        &missing,
        "the Stripe-Signature header is missing: stripe senders send it",
    );
    let malformed = Request::new(&[("Stripe-Signature", "v1=zz")], b"{}", 0)
        .explain(&verification(Some(Scheme::Stripe), &["whsec_x"]));
    explains(&malformed, "expected t=<timestamp>,v1=<64 hex digits>");
}

#[test]
fn explained_when_no_mistake_matches_with_both_signatures_starts_and_the_signed_content() {
    let request = github_request("other", b"{}");
    let explanation = request.explain(&verification(Some(Scheme::Github), &["s3cret"]));
    let expected = hex::encode(mac::hmac(Algorithm::Sha256, b"s3cret", &[b"{}"]));
    let received = hex::encode(mac::hmac(Algorithm::Sha256, b"other", &[b"{}"]));
    explains(
        &explanation,
        &format!(
            "no configured secret produces this signature: secret 1 (…) gives {}…, the request carries {}…",
            &expected[..8],
            &received[..8]
        ),
    );
    let content = standard_webhooks_example()
        .explain(&verification(None, &[SW_SECRET]))
        .signed_content
        .expect("content");
    assert_eq!(
        content.start,
        r#"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}"#
    );
    assert_eq!(content.length, content.start.len());
}

#[test]
fn a_valid_signature_explains_which_secret_matched() {
    let explanation = standard_webhooks_example().explain(&verification(None, &[SW_SECRET]));
    assert_eq!(explanation.sentences, ["secret 1 (whsec_…LaSw) matches"]);
}

#[test]
fn thousands_of_signatures_are_read_no_further_than_the_bound() {
    let entry = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= ";
    let mut request = standard_webhooks_example();
    request.headers[2].1 = ("v1,AAAA ".repeat(10_000) + entry).into_bytes();
    let started = std::time::Instant::now();
    let check = request.check(Some(&verification(None, &[SW_SECRET])));
    assert_eq!(
        check.verdict,
        SignatureVerdict::Invalid,
        "past the bound, the matching one is not read"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let stripe = Request::new(
        &[("Stripe-Signature", &format!("t=1,{}", "v1=00,".repeat(10_000)))],
        b"{}",
        1,
    );
    assert_invalid(&stripe.check(Some(&verification(None, &["whsec_x"]))), "malformed");
}

#[test]
fn a_timestamp_at_the_edge_of_i64_is_outside_the_tolerance_not_a_panic() {
    let request = Request::new(
        &[
            ("X-Slack-Request-Timestamp", "-9223372036854775808"),
            (
                "X-Slack-Signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
            ),
        ],
        b"{}",
        1_700_000_000,
    );
    assert_invalid(
        &request.check(Some(&verification(Some(Scheme::Slack), &["x"]))),
        "outside the 300 s tolerance",
    );
}

#[test]
fn non_utf8_headers_are_malformed() {
    let mut request = Request::new(&[("X-Hub-Signature-256", "")], b"{}", 0);
    request.headers[0].1 = b"sha256=\xff\xfe".to_vec();
    assert_invalid(
        &request.check(Some(&verification(Some(Scheme::Github), &["x"]))),
        "malformed",
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn arbitrary_header_values_never_panic(
            value in proptest::collection::vec(any::<u8>(), 0..300),
            timestamp in proptest::collection::vec(any::<u8>(), 0..30),
            body in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            for scheme in Scheme::ALL {
                for header in ["webhook-signature", "stripe-signature", "x-hub-signature-256", "x-hub-signature",
                    "x-shopify-hmac-sha256", "x-slack-signature", "x-twilio-signature", "x-signature"] {
                    let mut request = Request::new(&[], &body, 1_700_000_000);
                    request.headers = vec![
                        (header.to_owned(), value.clone()),
                        ("webhook-id".to_owned(), value.clone()),
                        ("webhook-timestamp".to_owned(), timestamp.clone()),
                        ("x-slack-request-timestamp".to_owned(), timestamp.clone()),
                        ("content-type".to_owned(), b"application/x-www-form-urlencoded".to_vec()),
                    ];
                    let configured = Verification {
                        custom: Some(Custom {
                            header: "x-signature".into(),
                            prefix: String::new(),
                            algorithm: Algorithm::Sha1,
                            encoding: Encoding::Hex,
                            template: Template::parse(Template::BODY).expect("template"),
                            timestamp_header: None,
                        }),
                        public_url: Some("https://example.com".into()),
                        ..verification(Some(scheme), &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "v1,x \n"])
                    };
                    let check = request.check(Some(&configured));
                    prop_assert!(check.verdict == SignatureVerdict::Invalid || check.verdict == SignatureVerdict::Valid);
                    let explanation = request.explain(&configured);
                    prop_assert!(!explanation.sentences.is_empty());
                }
            }
        }
    }
}
