//! Path patterns: which requests an endpoint is about. A pattern is matched against the raw (undecoded) request
//! path, case-sensitively, query ignored. `*` matches any run of characters within one segment (`/hooks/*.json`),
//! and a whole segment `**` matches zero or more whole segments (`/hooks/acme/**`).

use std::cmp::Ordering;

/// A checked path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Matches itself, where `*` matches any run of characters but `/`.
    Glob(String),
    /// `**`: zero or more whole segments.
    Any,
}

/// Why a pattern was refused; reads as one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("a path pattern starts with /")]
    NoLeadingSlash,
    #[error("** stands alone between slashes (as in /hooks/**), not inside a segment")]
    DoubleStarInSegment,
    #[error("a path pattern has no query (?) or fragment (#)")]
    QueryOrFragment,
    #[error("a path pattern is at most 1,000 characters")]
    TooLong,
}

impl PathPattern {
    /// Checks and reads a pattern.
    pub fn parse(text: &str) -> Result<PathPattern, PatternError> {
        if text.len() > 1000 {
            return Err(PatternError::TooLong);
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(PatternError::NoLeadingSlash);
        };
        if text.contains(['?', '#']) {
            return Err(PatternError::QueryOrFragment);
        }
        let segments = rest
            .split('/')
            .map(|segment| match segment {
                "**" => Ok(Segment::Any),
                _ if segment.contains("**") => Err(PatternError::DoubleStarInSegment),
                _ => Ok(Segment::Glob(segment.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PathPattern {
            text: text.to_owned(),
            segments,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the raw path (without its query) matches.
    pub fn matches(&self, path: &str) -> bool {
        let Some(rest) = path.strip_prefix('/') else {
            return false;
        };
        let parts: Vec<&str> = rest.split('/').collect();
        matches_from(&self.segments, &parts)
    }

    /// Whether the pattern has no wildcard at all.
    pub fn is_exact(&self) -> bool {
        !self.text.contains('*')
    }

    /// The bytes before the first wildcard.
    pub fn literal_prefix_len(&self) -> usize {
        self.text.find('*').unwrap_or(self.text.len())
    }

    /// Which of two matching patterns is more specific: one without wildcards beats one with, then the longer
    /// literal prefix wins. `Ordering::Greater` when `self` is more specific.
    pub fn specificity(&self, other: &PathPattern) -> Ordering {
        self.is_exact()
            .cmp(&other.is_exact())
            .then(self.literal_prefix_len().cmp(&other.literal_prefix_len()))
    }
}

/// Whether `segments` match all of `parts`, by a table over (segment, part) positions kept one row at a time: time
/// proportional to segments × parts however many `**` a pattern has, so no path a sender chooses can make it slow.
fn matches_from(segments: &[Segment], parts: &[&str]) -> bool {
    let count = parts.len();
    // `next[j]`: the segments after the current one match `parts[j..]`. Past the last segment, only the end does.
    let mut next: Vec<bool> = (0..=count).map(|j| j == count).collect();
    let mut current = vec![false; count + 1];
    for segment in segments.iter().rev() {
        match segment {
            Segment::Any => {
                current[count] = next[count];
                for j in (0..count).rev() {
                    current[j] = next[j] || current[j + 1];
                }
            }
            Segment::Glob(glob) => {
                current[count] = false;
                for j in 0..count {
                    current[j] = next[j + 1] && glob_matches(glob, parts[j]);
                }
            }
        }
        std::mem::swap(&mut next, &mut current);
    }
    next[0]
}

/// Whether one segment matches a glob in which `*` is any run of characters (a segment holds no `/`).
fn glob_matches(glob: &str, text: &str) -> bool {
    let mut pieces = glob.split('*');
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> PathPattern {
        PathPattern::parse(text).expect(text)
    }

    #[test]
    fn exact_single_star_and_double_star_patterns_match_as_documented() {
        assert!(pattern("/hooks/acme").matches("/hooks/acme"));
        assert!(!pattern("/hooks/acme").matches("/hooks/acme/"));
        assert!(!pattern("/hooks/acme").matches("/hooks/ACME"), "case-sensitive");
        assert!(pattern("/hooks/*").matches("/hooks/acme"));
        assert!(
            !pattern("/hooks/*").matches("/hooks/acme/x"),
            "* stays within one segment"
        );
        assert!(pattern("/hooks/*.json").matches("/hooks/a.json"));
        assert!(!pattern("/hooks/*.json").matches("/hooks/a.xml"));
        assert!(
            pattern("/hooks/acme/**").matches("/hooks/acme"),
            "** takes zero segments too"
        );
        assert!(pattern("/hooks/acme/**").matches("/hooks/acme/a/b/c"));
        assert!(!pattern("/hooks/acme/**").matches("/hooks/acmex"));
        assert!(pattern("/**/events").matches("/a/b/events"));
        assert!(pattern("/**").matches("/anything/at/all"));
        assert!(pattern("/a%2Fb").matches("/a%2Fb"), "the raw path, undecoded");
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(PathPattern::parse("hooks"), Err(PatternError::NoLeadingSlash));
        assert_eq!(PathPattern::parse("/a**b"), Err(PatternError::DoubleStarInSegment));
        assert_eq!(PathPattern::parse("/a?x=1"), Err(PatternError::QueryOrFragment));
    }

    #[test]
    fn an_exact_pattern_beats_a_wildcard_and_a_longer_literal_prefix_wins() {
        assert_eq!(
            pattern("/hooks/acme").specificity(&pattern("/hooks/**")),
            Ordering::Greater
        );
        assert_eq!(
            pattern("/hooks/acme/**").specificity(&pattern("/hooks/**")),
            Ordering::Greater
        );
        assert_eq!(pattern("/**").specificity(&pattern("/hooks/*")), Ordering::Less);
    }
}
