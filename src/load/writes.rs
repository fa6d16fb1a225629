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

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;

use super::client::{Conn, exchange};
use super::errors::ErrorClass;
use super::plan::Plan;
use super::report::WriteReport;
use super::scenario::{Context, Kind, Vars};
use crate::clock::Clock;

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

enum Read {
    Present,
    Missing,
    Changed,
    Failed,
}

/// Read back every acknowledged key and build the report; ack times are read on `clock`.
pub(super) async fn check(log: WriteLog, plan: &Plan, clock: &Clock) -> WriteReport {
    let mut report = WriteReport {
        attempted: log.entries.len() as u64,
        ..WriteReport::default()
    };
    let mut acked = Vec::new();
    for (key, e) in log.entries {
        match e.fate {
            Fate::Acked => acked.push((key, e)),
            Fate::Refused => report.refused += 1,
            Fate::Pending | Fate::Unknown => report.unknown += 1,
        }
    }
    report.acknowledged = acked.len() as u64;
    acked.sort_by(|a, b| a.0.cmp(&b.0));
    let parallel = plan.connections.clamp(1, 32);
    let mut pending = acked.into_iter();
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < parallel {
            let Some((key, entry)) = pending.next() else {
                break;
            };
            running.push(async move {
                let verdict = read_back(plan, &entry).await;
                (key, verdict, entry.acked_at)
            });
        }
        let Some((key, verdict, acked_at)) = running.next().await else {
            break;
        };
        match verdict {
            Read::Present => {}
            Read::Missing => {
                if let Some(at) = acked_at {
                    let at = clock.at(at);
                    report.lost_first_ack = Some(report.lost_first_ack.map_or(at, |f| f.min(at)));
                    report.lost_last_ack = Some(report.lost_last_ack.map_or(at, |l| l.max(at)));
                }
                report.lost_keys.push(key)
            }
            Read::Changed => report.unexpected_keys.push(key),
            Read::Failed => report.read_failed_keys.push(key),
        }
    }
    report.lost_keys.sort();
    report.unexpected_keys.sort();
    report.read_failed_keys.sort();
    report.lost = report.lost_keys.len() as u64;
    report.unexpected = report.unexpected_keys.len() as u64;
    report.read_failed = report.read_failed_keys.len() as u64;
    if report.acknowledged > 0 {
        report.loss_rate = report.lost as f64 / report.acknowledged as f64;
    }
    report
}

async fn read_back(plan: &Plan, entry: &Entry) -> Read {
    let Some(Kind::Write { read_back, .. }) = plan.scenarios.get(entry.scenario).map(|s| &s.kind)
    else {
        return Read::Failed;
    };
    let mut conn = Conn::default();
    for attempt in 0..3u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100) * attempt).await;
        }
        let Some((req, _)) = read_back.build(
            &plan.target.authority,
            &plan.headers,
            &entry.ctx,
            &Vars::new(),
        ) else {
            return Read::Failed;
        };
        let done = exchange(conn, &plan.target, req, true, plan.timeout).await;
        conn = done.conn;
        match done.result {
            Ok(a) if a.status.is_success() && !a.injected => {
                return if a.body.as_ref() == Some(&entry.value) {
                    Read::Present
                } else {
                    Read::Changed
                };
            }
            Ok(a) if !a.injected && (a.status == 404 || a.status == 410) => return Read::Missing,
            _ => {}
        }
    }
    Read::Failed
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
