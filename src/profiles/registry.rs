//! The registry of payload profiles: every shape hookscope knows how to check, by name. Storage, the API and the
//! page know a profile only by its name; adding one is a file of its own and a line in [`BUILT_IN`].

use super::array_of_one::ArrayOfOne;
use super::channel_event::ChannelEvent;
use super::entity_action::EntityAction;
use super::github::Github;
pub use super::profile::Profile;
use super::profile::Subject;
use super::shopify::Shopify;
use super::standard_webhooks::StandardWebhooks;
use super::stripe::Stripe;

/// The built-in profiles, in order of preference when two resemble a request equally.
pub static BUILT_IN: &[&dyn Profile] = &[
    &ChannelEvent,
    &EntityAction,
    &ArrayOfOne,
    &StandardWebhooks,
    &Github,
    &Stripe,
    &Shopify,
];

/// The profile with that name, if any.
pub fn by_name(name: &str) -> Option<&'static dyn Profile> {
    BUILT_IN.iter().copied().find(|profile| profile.name() == name)
}

/// Every profile's name, in the registry's order.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|profile| profile.name())
}

/// The built-in that resembles a request most, the earlier one on a tie; `None` when none resembles it at all.
pub fn detect(subject: &Subject<'_>) -> Option<&'static dyn Profile> {
    let mut best: Option<(&'static dyn Profile, usize)> = None;
    for profile in BUILT_IN.iter().copied() {
        let score = profile.resemblance(subject);
        if score > 0 && best.is_none_or(|(_, best_score)| score > best_score) {
            best = Some((profile, score));
        }
    }
    best.map(|(profile, _)| profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_found_by_its_own_name() {
        for name in names() {
            assert_eq!(by_name(name).map(Profile::name), Some(name));
        }
        assert!(by_name("none").is_none(), "`none` is the filter's word for no profile");
    }
}
