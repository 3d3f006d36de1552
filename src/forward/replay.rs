//! What a delivery sends: the stored request, with a replay's edits (headers and body replaced), signed afresh when
//! asked (with its endpoint's first secret and a fresh timestamp, so a replay older than the tolerance still
//! verifies), along the delivery's route.

use super::Failure;
use super::outgoing::{Outgoing, Route, outgoing};
use super::target::Target;
use crate::endpoints::Endpoints;
use crate::record::{DeliveryPlan, StoredRequest};
use crate::signatures::reading::Message;
use crate::signatures::{self, SchemeChoice, Signing};

/// The target and the request a delivery sends.
pub fn prepare(
    request: &StoredRequest,
    plan: &DeliveryPlan,
    endpoints: &Endpoints,
) -> Result<(Target, Outgoing), Failure> {
    let target = Target::parse(&plan.target)?;
    let mut request = request.clone();
    let resign = plan.edits.as_ref().is_some_and(|edits| edits.resign);
    if let Some(edits) = &plan.edits {
        if let Some(headers) = &edits.headers {
            request.headers = headers
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), value.as_bytes().to_vec()))
                .collect();
        }
        if let Some(body) = &edits.body {
            request.body = bytes::Bytes::from(body.clone().into_bytes());
        }
    }
    let mut sent = outgoing(
        &request,
        Route {
            target: &target,
            keep_path: plan.keep_path,
            preserve_host: plan.preserve_host,
        },
    );
    if resign {
        sign_afresh(&request, &mut sent, endpoints)?;
    }
    Ok((target, sent))
}

/// Replaces the request's signature headers by fresh ones made with its endpoint's first secret, now.
fn sign_afresh(request: &StoredRequest, sent: &mut Outgoing, endpoints: &Endpoints) -> Result<(), Failure> {
    let refused = |why: &str| Failure::Refused(format!("the replay cannot be signed afresh: {why}"));
    let endpoint = request
        .endpoint
        .as_deref()
        .and_then(|name| endpoints.by_name(name))
        .ok_or_else(|| refused("its request belongs to no endpoint"))?;
    let verification = endpoint
        .verify
        .as_ref()
        .ok_or_else(|| refused("its endpoint has no verify"))?;
    let pairs: Vec<(&str, &[u8])> = sent
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_slice()))
        .collect();
    let message = Message {
        headers: &pairs,
        body: &sent.body,
        path: &request.path,
        query: &request.query,
        received_at_ms: request.received_at_ms,
    };
    let scheme = match verification.scheme {
        SchemeChoice::Fixed(scheme) => scheme,
        SchemeChoice::Auto => signatures::detect(&message)
            .ok_or_else(|| refused("its endpoint's scheme is auto, and the request carries no known signature"))?,
    };
    let id = message
        .header("webhook-id")
        .or_else(|| message.header("svix-id"))
        .map(|id| String::from_utf8_lossy(id).into_owned())
        .unwrap_or_else(|| format!("msg_{}", uuid::Uuid::new_v4().simple()));
    let form = message.is_form();
    let secret = verification
        .secrets
        .first()
        .ok_or_else(|| refused("its endpoint has no secret"))?;
    let fresh = signatures::sign(
        scheme,
        verification.custom.as_ref(),
        secret.value(),
        &Signing {
            body: &sent.body,
            timestamp: crate::record::now_ms() / 1000,
            id: &id,
            url: &sent.url,
            form,
        },
    )
    .map_err(|error| refused(&error.to_string()))?;
    let mut replaced: Vec<String> = fresh.iter().map(|(name, _)| name.to_ascii_lowercase()).collect();
    if replaced.iter().any(|name| name.starts_with("webhook-")) {
        replaced.extend(["svix-id", "svix-timestamp", "svix-signature"].map(str::to_owned));
    }
    sent.headers.retain(|(name, _)| !replaced.contains(name));
    sent.headers.extend(
        fresh
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.into_bytes())),
    );
    Ok(())
}
