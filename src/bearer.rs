//! Bearer tokens of shakedown's HTTP servers (the control API of `serve`, a load agent's
//! `load --serve` endpoint) and of their clients: what a token may be, the rule that a server
//! off loopback needs one, and the check of `Authorization: Bearer TOKEN` in constant time.

use std::net::SocketAddr;

use http::{HeaderMap, header};

use crate::exit::InvalidInput;

/// A bearer token: printable ASCII without spaces, not empty. Its `Debug` form hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// `text` with surrounding whitespace (a file's final newline) removed, checked.
    ///
    /// # Errors
    /// A message when it is empty or holds a space or a character outside printable ASCII.
    pub fn new(text: &str) -> Result<Self, String> {
        let token = text.trim();
        if token.is_empty() {
            return Err("the token is empty".into());
        }
        if let Some(c) = token.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(format!(
                "the token contains {c:?}: use printable ASCII without spaces"
            ));
        }
        Ok(Self(token.to_string()))
    }

    /// The token's text (what `Authorization: Bearer` carries).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

/// Refuse to serve `what` (e.g. `the control API`) on `addr` without a token unless `addr` is
/// a loopback address; `harm` says what anyone who can reach it could do.
///
/// # Errors
/// [`InvalidInput`] (exit 2) naming the address and the ways to give a token.
pub(crate) fn require_off_loopback(
    what: &str,
    harm: &str,
    addr: SocketAddr,
    token: Option<&str>,
) -> Result<(), InvalidInput> {
    if addr.ip().is_loopback() || token.is_some() {
        return Ok(());
    }
    Err(InvalidInput::new(format!(
        "refusing to serve {what} on {addr} without a token: anyone who can reach it could \
         {harm}. Give one with --token-file FILE, SHAKEDOWN_TOKEN or --token, or listen on \
         127.0.0.1"
    )))
}

/// Why a request's token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No `Authorization: Bearer …` header.
    Missing,
    /// A token other than the server's.
    Wrong,
}

/// Check that `headers` carry `Authorization: Bearer TOKEN` with `token` (compared in time
/// that depends only on the lengths). The scheme is case-insensitive (`bearer`, `BEARER`:
/// RFC 9110 §11.1), followed by one or more spaces.
pub(crate) fn check(token: &str, headers: &HeaderMap) -> Result<(), Refused> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, credentials)| credentials.trim());
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => Ok(()),
        Some(_) => Err(Refused::Wrong),
        None => Err(Refused::Missing),
    }
}

/// Whether `a` equals `b`, in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in a.iter().enumerate() {
        let y = b.get(i % b.len().max(1)).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_comparison_is_equality() {
        assert!(constant_time_eq(b"secret-token", b"secret-token"));
        assert!(!constant_time_eq(b"secret-token", b"secret-tokem"));
        assert!(!constant_time_eq(b"secret", b"secret-token"));
        assert!(!constant_time_eq(b"secret-token", b"secret"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn tokens_are_printable_ascii_and_hidden_in_debug() {
        assert_eq!(Token::new(" abc\n").unwrap().as_str(), "abc");
        assert!(Token::new(" \n").unwrap_err().contains("empty"));
        assert!(Token::new("a b").unwrap_err().contains("' '"));
        assert!(Token::new("é").unwrap_err().contains("printable ASCII"));
        assert_eq!(format!("{:?}", Token::new("s3cret").unwrap()), "Token(…)");
    }

    #[test]
    fn only_the_right_bearer_passes() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            check("s3cret", &h)
        };
        assert_eq!(with("Bearer s3cret"), Ok(()));
        // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
        for scheme in ["bearer", "BEARER", "bEaReR"] {
            assert_eq!(with(&format!("{scheme} s3cret")), Ok(()), "{scheme}");
        }
        assert_eq!(with("Bearer  s3cret"), Ok(()));
        assert_eq!(with("bearer S3CRET"), Err(Refused::Wrong));
        assert_eq!(with("Bearers3cret"), Err(Refused::Missing));
        assert_eq!(with("Bearer s3cre"), Err(Refused::Wrong));
        assert_eq!(with("Basic s3cret"), Err(Refused::Missing));
        assert_eq!(check("s3cret", &HeaderMap::new()), Err(Refused::Missing));
        let any = "0.0.0.0:9".parse().unwrap();
        assert!(require_off_loopback("x", "y", any, None).is_err());
        assert!(require_off_loopback("x", "y", any, Some("t")).is_ok());
        let lo = "127.0.0.1:9".parse().unwrap();
        assert!(require_off_loopback("x", "y", lo, None).is_ok());
    }
}
