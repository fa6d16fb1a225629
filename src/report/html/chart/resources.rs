//! Resource panels of the timeline: per watched process its CPU, RSS and open descriptors, and
//! the host's CPU, each a small line on the shared time axis, under the same fault windows.

use maud::{Markup, html};

use super::scale::{Panel, TimeAxis};
use super::series::path;
use crate::experiment::record::RunRecord;
use crate::resource::human_bytes;

/// Height of one resource panel.
const HEIGHT: f64 = 40.0;

/// One panel: its title, scale, points (seconds, value) and value labels.
pub(super) struct Line {
    title: String,
    panel: Panel,
    points: Vec<(f64, Option<f64>)>,
    label: fn(f64) -> String,
}

fn percent(v: f64) -> String {
    format!("{v:.0}%")
}

fn bytes(v: f64) -> String {
    human_bytes(v)
}

fn count(v: f64) -> String {
    format!("{v:.0}")
}

/// The panels of `run`'s resource series, placed from `*top` down (which moves below them).
pub(super) fn lines(run: &RunRecord, top: &mut f64) -> Vec<Line> {
    let Some(r) = &run.resources else {
        return Vec::new();
    };
    type Figure = (
        &'static str,
        fn(&crate::resource::ProcessSample) -> Option<f64>,
        fn(f64) -> String,
    );
    let figures: [Figure; 3] = [
        ("CPU (% of a core)", |s| Some(s.cpu_percent), percent),
        ("RSS", |s| Some(s.rss_bytes as f64), bytes),
        ("open fds", |s| s.fds.map(|f| f as f64), count),
    ];
    let mut out = Vec::new();
    let mut add =
        |title: String, points: Vec<(f64, Option<f64>)>, label: fn(f64) -> String, cap| {
            let max = points.iter().filter_map(|p| p.1).fold(0.0, f64::max);
            let panel = Panel::linear(top, HEIGHT, max, cap);
            out.push(Line {
                title,
                panel,
                points,
                label,
            });
        };
    for p in r.processes.iter().filter(|p| !p.samples.is_empty()) {
        for (name, value, label) in figures {
            let points = p
                .samples
                .iter()
                .map(|s| (s.at.as_secs_f64(), value(s)))
                .collect();
            add(
                format!("{}: {name}", p.target),
                points,
                label,
                f64::INFINITY,
            );
        }
    }
    if !r.host.is_empty() {
        let points = r
            .host
            .iter()
            .map(|h| (h.at.as_secs_f64(), Some(h.cpu_percent)))
            .collect();
        add("host: CPU (% of all cores)".into(), points, percent, 100.0);
    }
    out
}

/// Draw `lines` on `axis`; a process that was gone between two samples breaks its line.
pub(super) fn draw(lines: &[Line], axis: &TimeAxis, interval: f64) -> Markup {
    html! {
        @for l in lines {
            (l.panel.frame(&l.title, l.label))
            path.res d=(path(l.points.iter().enumerate().flat_map(|(i, (t, v))| {
                // More than two intervals since the previous sample: the process was away.
                let gap = i > 0 && t - l.points[i - 1].0 > 2.0 * interval;
                let here = v.map(|v| (axis.x(*t), l.panel.y(v)));
                if gap { vec![None, here] } else { vec![here] }
            }))) {}
        }
    }
}

/// The sampling interval of `run`'s resources, seconds (1 when it has none).
pub(super) fn interval(run: &RunRecord) -> f64 {
    run.resources
        .as_ref()
        .map_or(1.0, |r| r.interval.as_secs_f64().max(1e-3))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::experiment::record::RunRecord;
    use crate::resource::{HostSample, ProcessSample, ProcessSeries, Resources, Target};

    /// A run with only resource samples still gets a timeline: a CPU, RSS and fds panel for the
    /// service and a CPU panel for the host, each a line; a gap of more than two intervals (the
    /// process was gone) breaks the line.
    #[test]
    fn each_series_is_a_panel_on_the_timeline() {
        let mut kv = ProcessSeries::new(Target::Service("kv".into()));
        for t in [0, 1, 2, 6, 7] {
            kv.samples.push(ProcessSample {
                at: Duration::from_secs(t),
                cpu_percent: 5.0,
                rss_bytes: 10_000_000 + t * 1_000_000,
                fds: Some(12),
                ..Default::default()
            });
        }
        let run = RunRecord {
            elapsed: Duration::from_secs(8),
            resources: Some(Resources {
                interval: Duration::from_secs(1),
                origin_wall: "2026-11-30T21:00:00.000Z".into(),
                host: (0..8)
                    .map(|t| HostSample {
                        at: Duration::from_secs(t),
                        cpu_percent: 50.0,
                        ..Default::default()
                    })
                    .collect(),
                processes: vec![kv],
            }),
            ..Default::default()
        };
        let svg = super::super::timeline(&run, "t").into_string();
        for title in [
            "service kv: CPU (% of a core)",
            "service kv: RSS",
            "service kv: open fds",
            "host: CPU (% of all cores)",
        ] {
            assert!(svg.contains(title), "{title} in {svg}");
        }
        let lines: Vec<&str> = svg.split("<path class=\"res\" d=\"").skip(1).collect();
        assert_eq!(lines.len(), 4);
        // The service's line restarts (`M`) after the 2 s → 6 s gap; the host's never does.
        assert_eq!(lines[0].split('"').next().unwrap().matches('M').count(), 2);
        assert_eq!(lines[3].split('"').next().unwrap().matches('M').count(), 1);
    }
}
