//! The registry of payload profiles: every shape hookscope knows how to check, by name. Storage, the API and the
//! page know a profile only by its name; adding one is a file of its own and a line in [`BUILT_IN`].

use serde_json::{Map, Value};

use super::channel_event::ChannelEvent;
use super::entity_action::EntityAction;
pub use super::profile::Profile;

/// The built-in profiles, in order of preference when two resemble a body equally.
pub static BUILT_IN: &[&dyn Profile] = &[&ChannelEvent, &EntityAction];

/// The profile with that name, if any.
pub fn by_name(name: &str) -> Option<&'static dyn Profile> {
    BUILT_IN.iter().copied().find(|profile| profile.name() == name)
}

/// Every profile's name, in the registry's order.
pub fn names() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|profile| profile.name())
}

/// The profile that resembles `object` most, the earlier one on a tie; `None` when none resembles it at all.
pub fn detect(object: &Map<String, Value>) -> Option<&'static dyn Profile> {
    let mut best: Option<(&'static dyn Profile, usize)> = None;
    for profile in BUILT_IN.iter().copied() {
        let score = profile.resemblance(object);
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
