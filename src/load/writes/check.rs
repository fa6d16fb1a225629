//! The read-back at the end of a run: one request per acknowledged key decides whether the
//! write survived, and the outcome becomes a [`WriteReport`].

use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::{Entry, Fate, WriteLog};
use crate::clock::Clock;
use crate::load::client::{Conn, exchange, request};
use crate::load::plan::Plan;
use crate::load::report::WriteReport;
use crate::load::scenario::{Kind, Vars};

enum Read {
    Present,
    Missing,
    Changed,
    Failed,
}

/// Read back every acknowledged key and build the report; ack times are read on `clock`.
pub(in crate::load) async fn check(log: WriteLog, plan: &Plan, clock: &Clock) -> WriteReport {
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
        let Some((req, _)) = request(
            read_back,
            &plan.target,
            &plan.headers,
            &entry.ctx,
            &Vars::new(),
        ) else {
            return Read::Failed;
        };
        let done = exchange(conn, &plan.target, req, true, plan.timeout).await;
        conn = done.conn;
        match done.result {
            Ok(a) if a.is_success() => {
                return if a.body.as_ref() == Some(&entry.value) {
                    Read::Present
                } else {
                    Read::Changed
                };
            }
            Ok(a) if !a.marked && (a.status == 404 || a.status == 410) => return Read::Missing,
            _ => {}
        }
    }
    Read::Failed
}
