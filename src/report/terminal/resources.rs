//! The resources block of the terminal summary: per watched process its peak and end CPU, RSS,
//! descriptors, threads and TCP connections, its RSS slope, what happened to it, and the host.

use std::fmt::Write;

use crate::experiment::record::for_people;
use crate::resource::{Figures, Presence, ProcessSeries, Resources, human_bytes};

/// `peak / end` of one figure.
fn pair(peak: Option<&Figures>, end: Option<&Figures>, f: fn(&Figures) -> String) -> String {
    match (peak, end) {
        (Some(p), Some(e)) => format!("{} / {}", f(p), f(e)),
        _ => "—".into(),
    }
}

fn opt(v: Option<u64>) -> String {
    v.map_or("?".into(), |v| v.to_string())
}

/// Append the block for `r`.
pub(super) fn render(out: &mut String, r: &Resources) {
    let _ = writeln!(
        out,
        "\n  resources (every {}, {} samples; peak / end):",
        for_people(r.interval),
        r.host.len()
    );
    if !r.processes.is_empty() {
        let _ = writeln!(
            out,
            "    {:<20} {:>17} {:>21} {:>11} {:>9} {:>9}  rss slope",
            "process", "cpu", "rss", "fds", "threads", "tcp"
        );
    }
    for p in &r.processes {
        process(out, p);
    }
    if let (Some(last), Some(cpu), Some(mem)) = (
        r.host.last(),
        r.host.iter().map(|h| h.cpu_percent).reduce(f64::max),
        r.host.iter().map(|h| h.memory_used_bytes).max(),
    ) {
        let _ = writeln!(
            out,
            "    host: cpu peak {cpu:.1}%, memory peak {} of {}, load {:.2}, net rx {} tx {}, \
             disk read {} written {}",
            human_bytes(mem as f64),
            human_bytes(last.memory_total_bytes as f64),
            last.load[0],
            human_bytes(last.net_rx_bytes as f64),
            human_bytes(last.net_tx_bytes as f64),
            human_bytes(last.disk_read_bytes as f64),
            human_bytes(last.disk_write_bytes as f64),
        );
    }
}

fn process(out: &mut String, p: &ProcessSeries) {
    let (peak, end) = (p.peak.as_ref(), p.end.as_ref());
    let slope = p.rss_slope.map_or("—".into(), |f| {
        format!(
            "{}/s ± {}/s (R² {:.2})",
            human_bytes(f.slope),
            human_bytes(f.half_width),
            f.r2
        )
    });
    let _ = writeln!(
        out,
        "    {:<20} {:>17} {:>21} {:>11} {:>9} {:>9}  {slope}",
        p.target.to_string(),
        pair(peak, end, |f| format!("{:.1}%", f.cpu_percent)),
        pair(peak, end, |f| human_bytes(f.rss_bytes as f64)),
        pair(peak, end, |f| opt(f.fds)),
        pair(peak, end, |f| f.threads.to_string()),
        pair(peak, end, |f| opt(f.connections)),
    );
    // What happened to it, when it was not simply there throughout.
    let changes: Vec<String> = p
        .changes
        .iter()
        .enumerate()
        .filter(|(i, c)| *i > 0 || !matches!(c.presence, Presence::Running { .. }))
        .map(|(_, c)| {
            let what = match &c.presence {
                Presence::Running { pids } => format!(
                    "running as pid {}",
                    pids.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Presence::Gone => "gone".into(),
                Presence::Unreadable { why } => format!("not readable ({why})"),
            };
            format!("{what} at {}", for_people(c.at))
        })
        .collect();
    if !changes.is_empty() {
        let _ = writeln!(out, "      {}: {}", p.target, changes.join(", "));
    }
}
