//! The end of a live-agent load: every agent still sending is stopped (`POST /stop`) and its
//! final report fetched, and the reports are merged on the run's seconds with the thresholds
//! judged once on the sum; an agent lost is recorded, and aborts the run unless the file
//! allows it.

use std::time::Duration;

use futures_util::future::join_all;

use super::{Agent, AgentLoad, POLL_EVERY, REPORT_PATIENCE, contact};
use crate::experiment::client::Http;
use crate::experiment::driver::Ending;
use crate::experiment::record::AgentRecord;
use crate::load::{self, AgentResult};

impl AgentLoad {
    /// Stop polling, stop every agent still sending and fetch its final report, then merge.
    pub(super) async fn finish(self) -> Ending {
        self.stop_polling.cancel();
        let _ = self.poller.await;
        let view = self.view;
        let pending: Vec<(usize, String)> = view
            .state()
            .agents
            .iter()
            .enumerate()
            .filter(|(_, a)| a.polled())
            .map(|(i, a)| (i, a.url.clone()))
            .collect();
        let http = &self.http;
        let results = join_all(pending.iter().map(|(_, url)| final_result(http, url))).await;
        let mut s = view.state();
        for ((i, _), result) in pending.iter().zip(results) {
            let agent = &mut s.agents[*i];
            match result {
                Ok(r) => agent.result = Some(r),
                Err(e) => {
                    let why = format!("load agent {} lost: {e}", agent.url);
                    agent.lost = Some((view.clock.now(), why));
                }
            }
        }
        let lost: Vec<&str> = s
            .agents
            .iter()
            .filter_map(|a| a.lost.as_ref().map(|(_, why)| why.as_str()))
            .collect();
        let mut abort = (!self.allow_loss)
            .then(|| lost.first().map(|w| w.to_string()))
            .flatten();
        let report = merged(&s.agents, view.base, &self.thresholds, !lost.is_empty());
        let report = match report {
            Ok(r) => r,
            Err(e) => {
                abort.get_or_insert(e);
                None
            }
        };
        let agents = s.agents.iter().map(record).collect();
        Ending {
            report,
            agents,
            abort,
        }
    }
}

/// Ask a running agent to stop, then wait (at most [`REPORT_PATIENCE`]) for its final report.
async fn final_result(http: &Http, url: &str) -> Result<AgentResult, String> {
    contact::stop(http, url).await?;
    let deadline = tokio::time::Instant::now() + REPORT_PATIENCE;
    loop {
        match contact::result(http, url).await {
            Ok(r) => return Ok(r),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(format!("no final report within {REPORT_PATIENCE:?}: {e}"));
            }
            Err(_) => tokio::time::sleep(POLL_EVERY).await,
        }
    }
}

/// The agents' final reports merged on the run's seconds (merged second `base` is the run's
/// second 0; earlier seconds leave the timeline, not the totals). With a loss, the rest are
/// merged as they are (no longer one whole split), and the report's `generator.warnings` says
/// how many agents it covers. `None` when no agent reported.
fn merged(
    agents: &[Agent],
    base: u64,
    thresholds: &[String],
    lossy: bool,
) -> Result<Option<load::LoadReport>, String> {
    let results: Vec<AgentResult> = agents
        .iter()
        .filter_map(|a| {
            let mut r = a.result.clone()?;
            if lossy {
                r.report.segment = None;
            }
            Some(load::shift_agent(r, a.offset as i64 - base as i64))
        })
        .collect();
    if results.is_empty() {
        return Ok(None);
    }
    let mut report = load::merge(&results, thresholds)
        .map_err(|e| format!("merging the load agents' reports: {e}"))?;
    report.started = Duration::ZERO;
    if lossy {
        // The merged figures say what they cover.
        let lost: Vec<&str> = agents
            .iter()
            .filter(|a| a.result.is_none())
            .map(|a| a.url.as_str())
            .collect();
        report.generator.warnings.push(format!(
            "merged from {} of {} load agents; lost: {}",
            results.len(),
            agents.len(),
            lost.join(", ")
        ));
    }
    Ok(Some(report))
}

fn record(a: &Agent) -> AgentRecord {
    AgentRecord {
        url: a.url.clone(),
        segment: a.segment.map(|s| s.to_string()),
        offset_s: a.offset,
        lost_at: a.lost.as_ref().map(|(at, _)| *at),
        lost: a.lost.as_ref().map(|(_, why)| why.clone()),
    }
}
