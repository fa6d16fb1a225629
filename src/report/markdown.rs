//! The Markdown summary for CI pages (`--summary FILE.md`, and `$GITHUB_STEP_SUMMARY` under
//! `shakedown test`): GitHub-flavoured Markdown of each experiment's verdict, its expectations
//! (failed first) and its step table, failures first. Every string from the user's file is
//! escaped, so a title cannot open a link, a table cell or an HTML tag.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context;

use super::html::format::{in_time, secs, ttd};
use crate::experiment::record::{Document, ExperimentRecord, Status};

/// The summary of `document`, ending with a blank line (so appended summaries stay apart).
pub fn render(document: &Document) -> String {
    let mut out = String::new();
    if document.experiments.len() > 1 {
        let _ = writeln!(out, "## shakedown: {}\n", document.counts());
    }
    let mut experiments: Vec<&ExperimentRecord> = document.experiments.iter().collect();
    experiments.sort_by_key(|e| std::cmp::Reverse(e.status.rank()));
    for e in experiments {
        experiment(&mut out, e);
    }
    out
}

/// Write the summary of `document` to `path` (replacing it).
///
/// Errors: the file cannot be written (the message names it).
pub fn write(path: &Path, document: &Document) -> anyhow::Result<()> {
    std::fs::write(path, render(document)).with_context(|| format!("writing {}", path.display()))
}

/// Append the summary of `document` to `path` (GitHub's step summary is one file per job step
/// that several tools add to).
///
/// Errors: the file cannot be opened or written (the message names it).
pub fn append(path: &Path, document: &Document) -> anyhow::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(render(document).as_bytes()))
        .with_context(|| format!("appending to {}", path.display()))
}

/// Text from the user's file, safe in a table cell: Markdown punctuation backslash-escaped,
/// `&` as an entity, line breaks as spaces.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn experiment(out: &mut String, e: &ExperimentRecord) {
    let mark = match e.status {
        Status::Passed => "✅",
        Status::Skipped => "⏭️",
        _ => "❌",
    };
    let title = if e.title.is_empty() {
        &e.file
    } else {
        &e.title
    };
    let _ = writeln!(
        out,
        "### {mark} {} — {}\n",
        e.status.as_str().to_uppercase(),
        text(title)
    );
    if !e.description.trim().is_empty() {
        let _ = writeln!(out, "{}\n", text(e.description.trim()));
    }
    let _ = write!(out, "File: {}", text(&e.file));
    if let Some(ran) = super::terminal::ran_on(&e.provenance) {
        let _ = write!(out, ", {}", text(&ran));
    }
    if let Some(run) = e.runs.first() {
        let _ = write!(out, ", started {}", text(&run.started));
    }
    if let Some(r) = &e.reason {
        let _ = write!(out, ". Reason: {}", text(r));
    }
    out.push_str("\n\n");
    expectations(out, e);
    for run in &e.runs {
        if run.steps.is_empty() {
            continue;
        }
        if e.runs.len() > 1 {
            let _ = writeln!(out, "Run {}:\n", run.run);
        }
        out.push_str("| step | injected | removed | TTD | TTR from injection | TTR from removal | in time |\n");
        out.push_str("|---|--:|--:|--:|--:|--:|---|\n");
        for s in &run.steps {
            let m = s.measurement;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                text(&s.name),
                secs(s.injected_at),
                secs(s.removed_at),
                ttd(s),
                secs(m.and_then(|m| m.recovery_from_injection)),
                secs(m.and_then(|m| m.recovery_from_removal)),
                in_time(s).0
            );
        }
        out.push('\n');
    }
    if let Some(m) = &e.mttr {
        let _ = writeln!(
            out,
            "MTTR from injection: p50 {}, p90 {}, max {}, N = {}\n",
            secs(Some(m.p50)),
            secs(Some(m.p90)),
            secs(Some(m.max)),
            m.n
        );
    }
}

/// The expectations of every run, failed first.
fn expectations(out: &mut String, e: &ExperimentRecord) {
    let mut all: Vec<_> = e
        .runs
        .iter()
        .flat_map(|r| r.expectations.iter().map(move |x| (r.run, x)))
        .collect();
    if all.is_empty() {
        return;
    }
    all.sort_by_key(|(run, x)| (x.passed, !x.evaluated, *run));
    out.push_str("| | expectation | expected | observed |\n|---|---|---|---|\n");
    for (run, x) in all {
        let mark = match (x.evaluated, x.passed) {
            (true, true) => "✅",
            (true, false) => "❌",
            (false, _) => "➖",
        };
        let name = if e.runs.len() > 1 {
            format!("{} (run {run})", text(&x.name))
        } else {
            text(&x.name)
        };
        let _ = writeln!(
            out,
            "| {mark} | {name} | {} | {} |",
            text(&x.expected),
            text(&x.observed)
        );
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_cannot_break_out_of_a_cell_or_open_a_tag() {
        assert_eq!(
            text("a|b <script>x</script> [l](u) & *e*\nnext"),
            r"a\|b \<script\>x\</script\> \[l\](u) &amp; \*e\* next"
        );
    }
}
