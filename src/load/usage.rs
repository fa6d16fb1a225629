//! The load generator's own resources, and whether it (not the target) was the bottleneck.
//!
//! A load test measures the target only while the generator keeps up. This
//! module reads the process's CPU time and peak RSS (`getrusage`), the
//! open-file limit and the machine's load average, and judges the run with
//! four plain rules (see [`judge`]): planned requests were never sent by the
//! end (the planned rate was beyond the generator), requests waited for a free
//! connection (the in-flight cap), requests were sent late (schedule lag), or
//! the process used nearly all the CPUs. Any of them makes `bottleneck` true and
//! adds a sentence to `warnings`, shown in the summary table.

use std::time::Duration;

use super::report::{Generator, Summary};

/// A share of requests waiting for a connection above which the cap, not the target, set the pace.
pub(super) const LATE_SHARE: f64 = 0.05;
/// Schedule lag p99 above which the generator could not send on time.
pub(super) const LAG_LIMIT: Duration = Duration::from_millis(10);
/// Share of all CPUs above which the generator's own CPU was likely the limit.
pub(super) const CPU_SHARE: f64 = 0.9;

/// CPU time of the process at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CpuMark {
    cpu: Option<Duration>,
}

impl CpuMark {
    /// User plus system CPU time of the whole process so far.
    pub(super) fn now() -> Self {
        Self {
            cpu: rusage().map(|u| u.0),
        }
    }
}

/// `(user + system CPU time, peak RSS in bytes)` of this process.
fn rusage() -> Option<(Duration, u64)> {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0)).saturating_add(
            Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0)),
        )
    };
    // Linux reports kilobytes, macOS bytes.
    let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    let rss = u64::try_from(u.max_rss()).unwrap_or(0).saturating_mul(unit);
    Some((tv(u.user_time()).saturating_add(tv(u.system_time())), rss))
}

/// The one-minute load average, where the OS tells it (`/proc/loadavg`).
fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// What [`judge`] needs beyond the summary.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts {
    /// CPU mark taken at the start.
    pub started: CpuMark,
    /// Sending plus draining.
    pub elapsed: Duration,
    /// The connection cap.
    pub connections: usize,
    /// Most connections open at once.
    pub peak_connections: usize,
    /// The open-file soft limit, if known.
    pub fd_limit: Option<u64>,
}

/// Measure the process now and judge the run.
pub(super) fn measure(summary: &Summary, facts: Facts) -> Generator {
    let end = rusage();
    let cpu = match (facts.started.cpu, end) {
        (Some(a), Some((b, _))) => Some(b.saturating_sub(a)),
        _ => None,
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = Generator {
        cpu,
        cpu_percent: cpu
            .filter(|_| !facts.elapsed.is_zero())
            .map(|c| c.as_secs_f64() / facts.elapsed.as_secs_f64() * 100.0),
        cpus,
        load_average: load_average(),
        peak_rss_bytes: end.map(|e| e.1),
        fd_limit: facts.fd_limit,
        peak_connections: facts.peak_connections,
        ..Generator::default()
    };
    g.warnings = judge(summary, &g, facts.connections);
    g.bottleneck = !g.warnings.is_empty();
    if g.bottleneck
        && let Some(l) = g.load_average.filter(|l| *l > cpus as f64)
    {
        g.warnings.push(format!(
            "the machine was busy: load average {l:.2} on {cpus} CPUs"
        ));
    }
    g
}

/// The rules: planned requests never sent (`unsent > 0`: the completed rate
/// is the generator's limit); in-flight cap reached for at least [`LATE_SHARE`] of the
/// requests; schedule lag p99 above [`LAG_LIMIT`]; CPU above [`CPU_SHARE`]
/// of every CPU; an open-file limit below the connection cap.
pub(super) fn judge(summary: &Summary, g: &Generator, connections: usize) -> Vec<String> {
    let mut warnings = Vec::new();
    if let (Some(planned), Some(unsent)) = (summary.planned, summary.unsent.filter(|u| *u > 0)) {
        warnings.push(format!(
            "the planned rate was beyond the generator: {unsent} of {planned} planned requests were never sent; it completed {:.1}/s, its limit here",
            summary.rps
        ));
    }
    if summary.requests > 0 {
        let share = summary.late as f64 / summary.requests as f64;
        if share >= LATE_SHARE {
            warnings.push(format!(
                "the in-flight cap was reached: {} of {} requests ({:.1}%) waited for one of the {connections} connections; raise --connections to measure the target instead of the cap",
                summary.late,
                summary.requests,
                share * 100.0
            ));
        }
    }
    if let Some(p99) = summary.schedule_lag.p99.filter(|p| *p > LAG_LIMIT) {
        warnings.push(format!(
            "requests were sent late: schedule lag p99 {:.1}ms (over {}ms); latencies include the generator's own delay",
            p99.as_secs_f64() * 1e3,
            LAG_LIMIT.as_millis()
        ));
    }
    if let Some(pct) = g
        .cpu_percent
        .filter(|p| *p >= CPU_SHARE * 100.0 * g.cpus as f64)
    {
        warnings.push(format!(
            "the generator used {pct:.0}% CPU on {} CPUs: its own CPU likely limited the rate",
            g.cpus
        ));
    }
    if let Some(limit) = g
        .fd_limit
        .filter(|l| *l < (connections as u64).saturating_add(64))
    {
        warnings.push(format!(
            "the open-file limit ({limit}) is below the connection cap ({connections}) plus headroom: connects may fail with connect_error (raise `ulimit -n`)"
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::report::Latency;

    fn summary(requests: u64, late: u64, lag_p99: Duration) -> Summary {
        Summary {
            requests,
            late,
            schedule_lag: Latency {
                p99: Some(lag_p99),
                ..Latency::default()
            },
            ..Summary::default()
        }
    }

    #[test]
    fn each_rule_fires_alone() {
        let g = Generator {
            cpus: 2,
            cpu_percent: Some(50.0),
            fd_limit: Some(100_000),
            ..Generator::default()
        };
        let calm = summary(1000, 49, Duration::from_millis(10));
        assert!(judge(&calm, &g, 100).is_empty());
        let capped = judge(&summary(1000, 50, Duration::ZERO), &g, 100);
        assert_eq!(capped.len(), 1);
        assert!(capped[0].contains("in-flight cap"), "{capped:?}");
        let lagging = judge(&summary(1000, 0, Duration::from_millis(11)), &g, 100);
        assert!(
            lagging[0].contains("schedule lag p99 11.0ms"),
            "{lagging:?}"
        );
        let busy = Generator {
            cpu_percent: Some(185.0),
            ..g.clone()
        };
        assert!(judge(&calm, &busy, 100)[0].contains("185% CPU on 2 CPUs"));
        let fds = Generator {
            fd_limit: Some(1024),
            ..g
        };
        assert!(judge(&calm, &fds, 10_000)[0].contains("open-file limit (1024)"));
    }

    #[test]
    fn this_process_is_measured() {
        let start = CpuMark::now();
        let g = measure(
            &Summary::default(),
            Facts {
                started: start,
                elapsed: Duration::from_secs(1),
                connections: 1,
                peak_connections: 0,
                fd_limit: None,
            },
        );
        assert!(g.peak_rss_bytes.is_some_and(|b| b > 1_000_000), "{g:?}");
        assert!(g.cpu.is_some() && g.cpus >= 1);
    }
}
