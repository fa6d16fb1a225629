//! The keyed-write check: which acknowledged writes survived, after Jepsen's set check.
//!
//! Every write records its key (the rendered read-back path), its value
//! (the rendered body) and its fate: acknowledged (2xx), refused (a definite
//! failure: connect refused, 4xx, 5xx, an injected fault) or unknown (no
//! answer: timeout, reset, cancelled at stop). At the end one read-back per
//! acknowledged key decides: the same body is present; 404/410 is **lost**;
//! a different body is **unexpected**. Unknown writes are never called lost.
//! A read-back that itself fails (after three tries) is counted apart as
//! `read_failed`, never silently as present or lost.
//!
//! This file holds the log (plain data the workers fill); `check` performs the
//! read-back and fills the [`super::report::WriteReport`] record.

use std::collections::HashMap;

use bytes::Bytes;
use tokio::time::Instant;

use super::errors::ErrorClass;
use super::scenario::Context;

mod check;
pub(super) use check::check;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Pending,
    Acked,
    Refused,
    Unknown,
}

#[derive(Debug, Clone)]
struct Entry {
    scenario: usize,
    ctx: Context,
    value: Bytes,
    fate: Fate,
    /// When the acknowledgement arrived.
    acked_at: Option<Instant>,
}

/// The writes of one worker (merged at the end).
#[derive(Debug, Default)]
pub(super) struct WriteLog {
    entries: HashMap<String, Entry>,
}

impl WriteLog {
    /// A write was sent.
    pub(super) fn attempt(&mut self, key: String, scenario: usize, ctx: Context, value: Bytes) {
        self.entries.insert(
            key,
            Entry {
                scenario,
                ctx,
                value,
                fate: Fate::Pending,
                acked_at: None,
            },
        );
    }

    /// A write completed at `at` (when its answer arrived): `Ok(status is 2xx)` or the error class.
    pub(super) fn complete(&mut self, key: &str, result: Result<bool, ErrorClass>, at: Instant) {
        if let Some(e) = self.entries.get_mut(key) {
            e.fate = match result {
                Ok(true) => Fate::Acked,
                Ok(false) => Fate::Refused,
                Err(class) if class.is_definite() => Fate::Refused,
                Err(_) => Fate::Unknown,
            };
            e.acked_at = (e.fate == Fate::Acked).then_some(at);
        }
    }

    /// Fold another worker's log into this one.
    pub(super) fn merge(&mut self, other: WriteLog) {
        self.entries.extend(other.entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn fates_follow_the_set_check() {
        let ctx = Context::draw(0, 0, &mut rand::rngs::StdRng::seed_from_u64(0));
        let mut a = WriteLog::default();
        let mut b = WriteLog::default();
        for k in ["ok", "refused", "injected", "timeout", "reset", "pending"] {
            a.attempt(k.into(), 0, ctx, Bytes::from_static(b"v"));
        }
        a.complete("ok", Ok(true), Instant::now());
        a.complete("refused", Err(ErrorClass::ConnectRefused), Instant::now());
        a.complete("injected", Ok(false), Instant::now());
        a.complete("timeout", Err(ErrorClass::Timeout), Instant::now());
        a.complete("reset", Err(ErrorClass::Reset), Instant::now());
        b.attempt("other".into(), 0, ctx, Bytes::new());
        b.complete("other", Err(ErrorClass::Http5xx), Instant::now());
        a.merge(b);
        let fate = |k: &str| a.entries[k].fate;
        assert_eq!(fate("ok"), Fate::Acked);
        assert_eq!(fate("refused"), Fate::Refused);
        assert_eq!(fate("injected"), Fate::Refused);
        assert_eq!(fate("other"), Fate::Refused);
        assert_eq!(fate("timeout"), Fate::Unknown);
        assert_eq!(fate("reset"), Fate::Unknown);
        assert_eq!(fate("pending"), Fate::Pending);
    }
}
