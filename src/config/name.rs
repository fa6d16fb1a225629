//! The one rule for names that shakedown turns into URL path segments and file names:
//! proxies, toxics, services and probes, in the control API, `serve --config` and experiment
//! files alike.
//!
//! A name is 1 to [`MAX_LEN`] characters from `A-Z a-z 0-9 . _ -` and does not start with a
//! dot. Such a name needs no percent-encoding in a URL path (RFC 3986 `unreserved`, minus `~`)
//! and cannot escape a folder (`..`, `/abs`), so `GET /proxies/{name}` always addresses what
//! `POST /proxies` created and `{run.dir}/{service}.log` stays inside the run folder.

/// The longest name accepted, in bytes (= characters: names are ASCII).
pub const MAX_LEN: usize = 128;

/// The rule in words, for error messages and docs.
pub const RULE: &str = "1 to 128 characters from A-Z a-z 0-9 . _ - , not starting with a dot";

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The empty string.
    #[error("must not be empty ({RULE})")]
    Empty,
    /// Longer than [`MAX_LEN`].
    #[error("is {0} characters long; names are at most {MAX_LEN}")]
    TooLong(usize),
    /// Starts with `.` (hidden files, `.` and `..`).
    #[error("must not start with a dot ({RULE})")]
    LeadingDot,
    /// A character outside the allowed set.
    #[error("contains {0:?}, which names may not ({RULE})")]
    BadChar(char),
}

/// Check `name` against the rule.
///
/// # Errors
/// The first reason the name is refused.
pub fn check(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_LEN {
        return Err(NameError::TooLong(name.chars().count()));
    }
    if name.starts_with('.') {
        return Err(NameError::LeadingDot);
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(NameError::BadChar(c)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for ok in [
            "db",
            "redis_master",
            "latency-downstream",
            "v1.2",
            "A9",
            "x".repeat(128).as_str(),
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn names_that_cannot_be_addressed_or_escape_a_folder_fail() {
        assert_eq!(check(""), Err(NameError::Empty));
        assert_eq!(check(&"x".repeat(129)), Err(NameError::TooLong(129)));
        assert_eq!(check(".."), Err(NameError::LeadingDot));
        assert_eq!(check(".hidden"), Err(NameError::LeadingDot));
        assert_eq!(check("../../x"), Err(NameError::LeadingDot));
        assert_eq!(check("/abs/path"), Err(NameError::BadChar('/')));
        assert_eq!(check("a/b"), Err(NameError::BadChar('/')));
        assert_eq!(check("my db"), Err(NameError::BadChar(' ')));
        assert_eq!(check("50%"), Err(NameError::BadChar('%')));
        assert_eq!(check("bäd"), Err(NameError::BadChar('ä')));
        assert_eq!(check("a\\b"), Err(NameError::BadChar('\\')));
        assert_eq!(check("a\0b"), Err(NameError::BadChar('\0')));
        assert_eq!(check("q?x"), Err(NameError::BadChar('?')));
    }
}
