//! Shopify: recognised by the `X-Shopify-Topic` header, which is the event (`orders/create`); the idempotency key
//! is `X-Shopify-Webhook-Id`, the same for every retry of a delivery.

use super::profile::{BY_HEADER, Facts, Findings, Profile, Subject, type_name};

/// The profile.
pub struct Shopify;

impl Profile for Shopify {
    fn name(&self) -> &str {
        "shopify"
    }

    fn resemblance(&self, subject: &Subject<'_>) -> usize {
        if subject.header("x-shopify-topic").is_some() {
            BY_HEADER
        } else {
            0
        }
    }

    fn check(&self, subject: &Subject<'_>, findings: &mut Findings) -> Facts {
        if subject.object().is_none() {
            findings.error("", format!("must be a JSON object, not {}", type_name(subject.value)));
        }
        let id = subject.header("x-shopify-webhook-id");
        if id.is_none() {
            findings.warn(
                "",
                "no X-Shopify-Webhook-Id header: Shopify sends one with every delivery, and duplicates are told by it",
            );
        }
        if subject.header("x-shopify-shop-domain").is_none() {
            findings.warn(
                "",
                "no X-Shopify-Shop-Domain header: Shopify names the shop with every delivery",
            );
        }
        Facts {
            event: subject.header("x-shopify-topic").map(str::to_owned),
            idempotency_key: id.map(str::to_owned),
            key_source: id.map(|_| "header X-Shopify-Webhook-Id".to_owned()),
            environment: None,
        }
    }
}
