//! `shakedown merge`: agents' JSON reports (and interval logs) added into one report, thresholds
//! judged once on the sum, with the exit codes of `load`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::exit::{InvalidInput, Outcome};
use crate::load::{self, AgentResult, LoadReport};

/// Arguments of `shakedown merge`.
#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The agents' JSON reports (`shakedown load --histograms --json FILE`).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    /// The agents' interval logs (`--hlog`), one per report in the same order; they give the
    /// merged timeline its per-second percentiles (and windowed latency thresholds their data).
    #[arg(long = "hlog", value_name = "FILE")]
    pub hlogs: Vec<PathBuf>,
    /// Judge these thresholds (repeatable) instead of the agents' own.
    #[arg(long = "threshold")]
    pub thresholds: Vec<String>,
    /// Write the merged JSON report to this file (`-` for stdout).
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write the merged per-second histograms as an interval log (needs every `--hlog`).
    #[arg(long, value_name = "FILE")]
    pub hlog_out: Option<PathBuf>,
}

fn read_report(path: &Path) -> anyhow::Result<LoadReport> {
    let text = std::fs::read(path)
        .map_err(|e| InvalidInput::new(format!("{}: cannot read: {e}", path.display())))?;
    serde_json::from_slice(&text).map_err(|e| {
        InvalidInput::new(format!(
            "{}:{}:{}: not a load report: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
        .into()
    })
}

fn read_intervals(path: &Path) -> anyhow::Result<Vec<load::Interval>> {
    let text = std::fs::read(path)
        .map_err(|e| InvalidInput::new(format!("{}: cannot read: {e}", path.display())))?;
    load::read_hlog(&text).map_err(|e| {
        InvalidInput::new(format!("{}: not an interval log: {e}", path.display())).into()
    })
}

/// `shakedown merge`.
pub(super) async fn merge_main(args: MergeArgs) -> anyhow::Result<Outcome> {
    if !args.hlogs.is_empty() && args.hlogs.len() != args.reports.len() {
        return Err(InvalidInput::new(format!(
            "--hlog: {} interval logs for {} reports (give one per report, in the same order)",
            args.hlogs.len(),
            args.reports.len()
        ))
        .into());
    }
    if args.hlog_out.is_some() && args.hlogs.is_empty() {
        return Err(InvalidInput::new("--hlog-out needs every agent's --hlog").into());
    }
    let mut agents = Vec::new();
    for (i, path) in args.reports.iter().enumerate() {
        let intervals = match args.hlogs.get(i) {
            Some(h) => Some(read_intervals(h)?),
            None => None,
        };
        agents.push(AgentResult {
            report: read_report(path)?,
            intervals,
        });
    }
    // Seconds placed by when each agent's second 0 began, as the experiment runner does.
    let (agents, unplaced) = load::align_agents(agents);
    let mut merged = load::merge(&agents, &args.thresholds).map_err(|e| {
        let at = e
            .agent
            .and_then(|i| args.reports.get(i))
            .map(|p| format!("{}: ", p.display()))
            .unwrap_or_default();
        InvalidInput::new(format!("{at}{e}"))
    })?;
    if let Some(path) = unplaced.and_then(|i| args.reports.get(i)) {
        merged.generator.warnings.push(format!(
            "seconds matched by number: {} does not say when its second 0 began (no \
             wall_start_ms: written by an older shakedown)",
            path.display()
        ));
    }
    let hlog_out = match &args.hlog_out {
        Some(path) => Some((path, super::load::create(path, "--hlog-out")?)),
        None => None,
    };
    let json_to_stdout = args.json.as_ref().is_some_and(|p| p.as_os_str() == "-");
    if json_to_stdout {
        eprint!("{}", merged.table());
    } else {
        super::print(format_args!("{}", merged.table()));
    }
    if let Some((path, file)) = hlog_out {
        super::load::write_hlog(path, file, &merged)?;
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&merged)?;
        if json_to_stdout {
            super::print(format_args!("{json}\n"));
        } else {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("writing the JSON report to {}", path.display()))?;
        }
    }
    Ok(if merged.passed {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}
