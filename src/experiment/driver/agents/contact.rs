//! Talking to agents: finding them (URLs or every A/AAAA record of a name), asking for their
//! recent seconds, stopping them, fetching their final reports, and waiting until every one
//! answers before the run starts.

use std::time::{Duration, SystemTime};

use crate::experiment::client::Http;
use crate::experiment::spec::{AgentSource, Agents};
use crate::load::{AgentResult, LiveIntervals, LoadReport, read_hlog};

/// How long one request to an agent may take.
const ASK_TIMEOUT: Duration = Duration::from_secs(1);
/// How often the runner retries agents that are not ready yet.
const RETRY_EVERY: Duration = Duration::from_millis(250);

/// An agent's base URL without a trailing `/`.
fn base(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// `GET {url}/intervals?from=FROM`: the agent's seconds from `from` (its own seconds) on.
/// Errors: no answer, an error status, or not [`LiveIntervals`] JSON.
pub(super) async fn ask(http: &Http, url: &str, from: u64) -> Result<LiveIntervals, String> {
    let at = format!("{}/intervals?from={from}", base(url));
    let answer = http
        .json(http::Method::GET, &at, None, ASK_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&answer.body).map_err(|e| format!("{at}: not live intervals: {e}"))
}

/// `POST {url}/stop`: the agent ends its plan now, as the plan's end would.
pub(super) async fn stop(http: &Http, url: &str) -> Result<(), String> {
    let at = format!("{}/stop", base(url));
    http.json(http::Method::POST, &at, None, ASK_TIMEOUT)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The agent's final report (`GET /report`, with histograms) and its per-second histograms
/// (`GET /hlog`). Errors: not ended yet (409), no answer, or unreadable.
pub(super) async fn result(http: &Http, url: &str) -> Result<AgentResult, String> {
    let get = |path: &str| {
        let at = format!("{}{path}", base(url));
        async move {
            http.json(http::Method::GET, &at, None, ASK_TIMEOUT * 5)
                .await
                .map_err(|e| e.to_string())
        }
    };
    // The interval log first: an agent may exit once its report has been fetched.
    let hlog = get("/hlog").await?;
    let intervals = read_hlog(&hlog.body).map_err(|e| format!("{url}/hlog: {e}"))?;
    let report = get("/report").await?;
    let report: LoadReport = serde_json::from_slice(&report.body)
        .map_err(|e| format!("{url}/report: not a load report: {e}"))?;
    Ok(AgentResult {
        report,
        intervals: Some(intervals),
    })
}

/// Every agent the source names now: the URLs as given, or one `http://ADDRESS:PORT` per
/// A/AAAA record of the name, in address order.
async fn resolve(source: &AgentSource) -> Result<Vec<String>, String> {
    match source {
        AgentSource::Urls(urls) => Ok(urls.clone()),
        AgentSource::Dns { name, port } => {
            let mut addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), *port))
                .await
                .map_err(|e| format!("resolving {name}: {e}"))?
                .collect();
            addrs.sort();
            addrs.dedup();
            if addrs.is_empty() {
                return Err(format!("{name} has no A/AAAA record"));
            }
            Ok(addrs.into_iter().map(|a| format!("http://{a}")).collect())
        }
    }
}

/// Every agent, ready: its URL and first answer (metadata only).
pub(super) type Ready = Vec<(String, LiveIntervals)>;

/// Wait (at most the spec's `ready_timeout`) until every agent answers, none has ended, and,
/// when their plan is split, they are the N distinct segments of one split into N (a DNS name
/// is resolved again meanwhile: a headless Service lists pods as they become ready).
pub(super) async fn ready(spec: &Agents, http: &Http) -> Result<Ready, String> {
    let deadline = tokio::time::Instant::now() + spec.ready_timeout;
    loop {
        let why = match resolve(&spec.source).await {
            Err(e) => e,
            Ok(urls) => {
                let answers =
                    futures_util::future::join_all(urls.iter().map(|u| ask(http, u, u64::MAX)))
                        .await;
                match complete(urls, answers) {
                    Ok(ready) => return Ok(ready),
                    Err(why) => why,
                }
            }
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "the load agents are not ready after {}: {why}",
                humantime::format_duration(spec.ready_timeout)
            ));
        }
        tokio::time::sleep(RETRY_EVERY).await;
    }
}

/// Every answer, checked: all answered, none ended, segments one whole split.
fn complete(
    urls: Vec<String>,
    answers: Vec<Result<LiveIntervals, String>>,
) -> Result<Ready, String> {
    let mut ready = Vec::new();
    for (url, answer) in urls.into_iter().zip(answers) {
        let live = answer.map_err(|e| format!("{url}: {e}"))?;
        if live.finished {
            return Err(format!("{url} has already ended its plan"));
        }
        ready.push((url, live));
    }
    let n = ready.len() as u64;
    let mut seen = vec![false; ready.len()];
    for (url, live) in &ready {
        match live.segment {
            None if n > 1 && ready.iter().any(|(_, l)| l.segment.is_some()) => {
                return Err(format!(
                    "{url} runs a whole plan beside segments of a split one"
                ));
            }
            None => {}
            Some(s) if s.count != n => {
                return Err(format!(
                    "{url} runs segment {s} of a split into {}, but {n} agents answer",
                    s.count
                ));
            }
            Some(s) => {
                let slot = &mut seen[s.index as usize];
                if *slot {
                    return Err(format!("segment {s} is run by two agents (one is {url})"));
                }
                *slot = true;
            }
        }
    }
    Ok(ready)
}

/// How long from now until the earliest agent's next whole second (or its `--start-at`, when
/// it has not begun), and that second's number: the run's clock starts there. `answered` is
/// when the agent's answer (`live`) arrived.
pub(super) fn next_second(live: &LiveIntervals, answered: tokio::time::Instant) -> (Duration, u64) {
    let pending = live
        .wall_start
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    if live.elapsed.is_zero() && !pending.is_zero() {
        return (pending, 0);
    }
    let second = live.elapsed.as_secs_f64().ceil();
    let until = Duration::from_secs_f64(second - live.elapsed.as_secs_f64());
    let since = answered.elapsed();
    (until.saturating_sub(since), second as u64)
}
