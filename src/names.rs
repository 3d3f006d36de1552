//! The one rule for the names users give endpoints and custom profiles, which the API, the configuration file and
//! the filters share: names travel in URLs and query strings, and are shown on the page.

/// Whether a name is 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names_are_short_and_plain() {
        assert!(valid_name("acme.orders_v2-x"));
        for bad in ["", "has space", "slash/y", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
