//! Running one probe: HTTP, TCP connect, command, a load metric over a window, or a watched
//! process's resources (`resource`: its latest figure or its growth).
//!
//! A probe that gets no answer (timeout, refused, a command that cannot start) is an
//! `error`, distinct from a `fail` whose answer is out of tolerance; both fail the sample.

mod resource;
pub(crate) mod sampling;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::Http;
use super::spec::{Bound, Check, HttpCheck, LoadMetric, Probe};

/// How a probe came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Within tolerance.
    Pass,
    /// Answered, out of tolerance.
    Fail,
    /// No usable answer (timeout, refused, no data).
    Error,
}

/// One probe's result in one sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Outcome {
    /// Probe name.
    pub probe: String,
    /// Pass, fail or error.
    pub status: Status,
    /// What was seen (status code, metric value, error text).
    pub detail: String,
}

/// Live statistics of the load over a trailing window (the load driver's `WindowStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LoadStats {
    /// Requests whose intended send time is in the window.
    pub requests: u64,
    /// Failed ones, 0..1.
    pub error_rate: f64,
    /// Requests per second.
    pub rps: f64,
    /// Latency percentiles.
    pub p50: Option<Duration>,
    /// 90th.
    pub p90: Option<Duration>,
    /// 95th.
    pub p95: Option<Duration>,
    /// 99th.
    pub p99: Option<Duration>,
    /// For live agents: how many of how many agents the figures cover (fewer once one is
    /// lost and the file allows it).
    pub agents: Option<(usize, usize)>,
}

/// Something that can report load statistics over the last `window`.
pub trait LoadWindow: Send + Sync {
    /// Statistics of the last `window`.
    fn stats(&self, window: Duration) -> LoadStats;
    /// How long the load has been running.
    fn elapsed(&self) -> Duration;
}

/// Run `probe` once; load probes read `load`, resource probes `resources` (an error without).
pub async fn run(
    probe: &Probe,
    http: &Http,
    load: Option<&dyn LoadWindow>,
    resources: Option<&crate::resource::Live>,
) -> Outcome {
    let (status, detail) = match &probe.check {
        Check::Http(check) => http_probe(check, http, probe.timeout).await,
        Check::Tcp(addr) => {
            match tokio::time::timeout(probe.timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(_)) => (Status::Pass, "connected".to_string()),
                Ok(Err(e)) => (Status::Error, format!("connect {addr}: {e}")),
                Err(_) => (
                    Status::Error,
                    format!("connect {addr}: no answer within {:?}", probe.timeout),
                ),
            }
        }
        Check::Command { argv, exit, stdout } => {
            match super::action::run_command(argv, probe.timeout).await {
                Err(e) => (Status::Error, e.to_string()),
                Ok(out) => {
                    let text = String::from_utf8_lossy(&out.stdout);
                    if out.code != Some(*exit) {
                        (
                            Status::Fail,
                            match out.code {
                                Some(code) => format!("exit code {code}, expected {exit}"),
                                None => format!("killed by a signal, expected exit code {exit}"),
                            },
                        )
                    } else if let Some(re) = stdout.as_ref().filter(|re| !re.is_match(&text)) {
                        (
                            Status::Fail,
                            format!("stdout does not match /{re}/: {:?}", clip(&text)),
                        )
                    } else {
                        (Status::Pass, format!("exit {exit}"))
                    }
                }
            }
        }
        Check::Load {
            metric,
            window,
            bound,
        } => match load {
            None => (Status::Error, "no load is running".to_string()),
            Some(load) => {
                let stats = load.stats(*window);
                let warming = load.elapsed() < *window;
                if warming && stats.requests == 0 && *metric != LoadMetric::Rps {
                    // Nothing has completed yet because the load has just started, not
                    // because the system failed: the first window is a warm-up.
                    (
                        Status::Pass,
                        format!("warming up: no request completed in the first {window:?}"),
                    )
                } else {
                    let (status, detail) = judge_load(*metric, &stats, *bound);
                    match stats.agents {
                        Some((live, all)) if live < all => {
                            (status, format!("{detail} (from {live} of {all} agents)"))
                        }
                        _ => (status, detail),
                    }
                }
            }
        },
        Check::Resource {
            target,
            metric,
            bound,
        } => resource::judge(resources, target, metric, *bound),
        Check::Growth {
            target,
            metric,
            limit,
            window,
        } => resource::growth(resources, target, metric, *limit, *window),
    };
    Outcome {
        probe: probe.name.clone(),
        status,
        detail,
    }
}

async fn http_probe(check: &HttpCheck, http: &Http, timeout: Duration) -> (Status, String) {
    let body = check.body.clone().map(bytes::Bytes::from);
    let answer = match http
        .send(
            check.method.clone(),
            &check.url,
            &check.headers,
            body,
            timeout,
        )
        .await
    {
        Ok(a) => a,
        Err(e) => return (Status::Error, e.to_string()),
    };
    let ok_status = if check.status.is_empty() {
        (200..300).contains(&answer.status)
    } else {
        check.status.contains(&answer.status)
    };
    if !ok_status {
        return (Status::Fail, format!("status {}", answer.status));
    }
    let text = String::from_utf8_lossy(&answer.body);
    if let Some(re) = check.body_regex.as_ref().filter(|re| !re.is_match(&text)) {
        return (
            Status::Fail,
            format!("body does not match /{re}/: {:?}", clip(&text)),
        );
    }
    if !check.json.is_empty() {
        let doc: serde_json::Value = match serde_json::from_str(&text) {
            Ok(d) => d,
            Err(e) => return (Status::Fail, format!("body is not JSON: {e}")),
        };
        for (query, path, want) in &check.json {
            let found = path.query(&doc).all();
            if found.first().copied() != Some(want) {
                let got = found
                    .first()
                    .map_or("nothing".to_string(), |v| v.to_string());
                return (Status::Fail, format!("{query} is {got}, expected {want}"));
            }
        }
    }
    (Status::Pass, format!("status {}", answer.status))
}

/// Compare a load metric with its bound.
pub fn judge_load(metric: LoadMetric, stats: &LoadStats, bound: Bound) -> (Status, String) {
    let (value, shown) = match metric {
        LoadMetric::ErrorRate if stats.requests == 0 => {
            return (Status::Error, "no requests in the window".into());
        }
        LoadMetric::ErrorRate => (
            stats.error_rate,
            format!("error rate {:.2}%", stats.error_rate * 100.0),
        ),
        LoadMetric::Rps => (stats.rps, format!("{:.1} req/s", stats.rps)),
        LoadMetric::Latency(p) => {
            let v = match p {
                50 => stats.p50,
                90 => stats.p90,
                95 => stats.p95,
                _ => stats.p99,
            };
            match v {
                None => return (Status::Error, format!("no completed requests for p{p}")),
                Some(d) => (d.as_secs_f64(), format!("p{p} {:?}", d)),
            }
        }
    };
    let pass = match bound {
        Bound::Below(limit) => value < limit,
        Bound::Above(limit) => value > limit,
    };
    (if pass { Status::Pass } else { Status::Fail }, shown)
}

fn clip(text: &str) -> String {
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_metrics_against_bounds() {
        let stats = LoadStats {
            requests: 100,
            error_rate: 0.02,
            rps: 50.0,
            p99: Some(Duration::from_millis(300)),
            ..Default::default()
        };
        assert_eq!(
            judge_load(LoadMetric::ErrorRate, &stats, Bound::Below(0.01)).0,
            Status::Fail
        );
        assert_eq!(
            judge_load(LoadMetric::ErrorRate, &stats, Bound::Below(0.05)).0,
            Status::Pass
        );
        assert_eq!(
            judge_load(LoadMetric::Latency(99), &stats, Bound::Below(0.25)).0,
            Status::Fail
        );
        assert_eq!(
            judge_load(LoadMetric::Latency(50), &stats, Bound::Below(0.25)).0,
            Status::Error
        );
        assert_eq!(
            judge_load(LoadMetric::Rps, &stats, Bound::Above(10.0)).0,
            Status::Pass
        );
        let idle = LoadStats::default();
        assert_eq!(
            judge_load(LoadMetric::ErrorRate, &idle, Bound::Below(0.01)).0,
            Status::Error
        );
        // Throughput has an answer even with no requests: 0/s (docs/experiments.md, Probes).
        assert_eq!(
            judge_load(LoadMetric::Rps, &idle, Bound::Above(10.0)),
            (Status::Fail, "0.0 req/s".to_string())
        );
    }

    /// Fixed statistics and elapsed time: the load driver's numbers, not a network.
    struct Fixed(LoadStats, Duration);

    impl LoadWindow for Fixed {
        fn stats(&self, _window: Duration) -> LoadStats {
            self.0
        }
        fn elapsed(&self) -> Duration {
            self.1
        }
    }

    #[tokio::test]
    async fn an_empty_first_window_is_a_warm_up_and_later_an_error() {
        let probe = Probe {
            name: "errors".into(),
            check: Check::Load {
                metric: LoadMetric::ErrorRate,
                window: Duration::from_secs(2),
                bound: Bound::Below(0.01),
            },
            timeout: Duration::from_secs(1),
        };
        let http = Http::default();
        let young = Fixed(LoadStats::default(), Duration::from_millis(500));
        let out = run(&probe, &http, Some(&young), None).await;
        assert_eq!(out.status, Status::Pass, "{}", out.detail);
        assert!(out.detail.starts_with("warming up"), "{}", out.detail);
        let old = Fixed(LoadStats::default(), Duration::from_secs(3));
        assert_eq!(
            run(&probe, &http, Some(&old), None).await.status,
            Status::Error
        );
        // Within the warm-up, completed requests are judged as usual.
        let failing = LoadStats {
            requests: 10,
            error_rate: 0.5,
            ..Default::default()
        };
        let young = Fixed(failing, Duration::from_millis(500));
        assert_eq!(
            run(&probe, &http, Some(&young), None).await.status,
            Status::Fail
        );
    }

    /// A command probe's detail names the exit code, or the signal that ended the command,
    /// in words (it said `exit code Some(3)` / `exit code None`).
    #[tokio::test]
    async fn a_command_probe_says_how_the_command_ended() {
        let probe = |script: &str| Probe {
            name: "script".into(),
            check: Check::Command {
                argv: vec!["sh".into(), "-c".into(), script.into()],
                exit: 0,
                stdout: None,
            },
            timeout: Duration::from_secs(10),
        };
        let http = Http::default();
        let out = run(&probe("exit 3"), &http, None, None).await;
        assert_eq!(
            (out.status, out.detail.as_str()),
            (Status::Fail, "exit code 3, expected 0")
        );
        let out = run(&probe("kill -9 $$"), &http, None, None).await;
        assert_eq!(
            (out.status, out.detail.as_str()),
            (Status::Fail, "killed by a signal, expected exit code 0")
        );
    }
}
