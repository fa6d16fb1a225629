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
