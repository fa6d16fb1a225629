//! What `shakedown load` writes when its run has ended: the summary table (stdout, or stderr
//! when the JSON goes to stdout), the resource CSV files, the interval log and the JSON report.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context as _;

use super::LoadArgs;
use crate::exit::InvalidInput;
use crate::load::LoadReport;
use crate::resource::Resources;

/// Create (truncate) the file `path` given to `flag`; a failure is invalid input.
pub(in crate::cli) fn create(path: &Path, flag: &str) -> anyhow::Result<std::fs::File> {
    std::fs::File::create(path).map_err(|e| {
        InvalidInput::new(format!("{flag} {}: cannot create: {e}", path.display())).into()
    })
}

/// Write the report's per-second histograms to `file` (at `path`) as an HdrHistogram interval log.
pub(in crate::cli) fn write_hlog(
    path: &Path,
    file: std::fs::File,
    report: &LoadReport,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(file);
    let start = report.wall_start.unwrap_or_else(SystemTime::now);
    report
        .intervals
        .write_hlog(&mut out, start)
        .and_then(|()| std::io::Write::flush(&mut out))
        .with_context(|| format!("writing the interval log {}", path.display()))
}

/// Write the ended run's `report` (and `resources`, when sampled) where `args` say: the table,
/// the resource CSV files, the interval log (`hlog`: `--hlog`'s path and its file, created
/// before the run) and the JSON report.
pub(super) fn write(
    args: &LoadArgs,
    report: &LoadReport,
    resources: Option<&Resources>,
    hlog: Option<(&std::path::PathBuf, std::fs::File)>,
) -> anyhow::Result<()> {
    let json_to_stdout = args.json.as_ref().is_some_and(|p| p.as_os_str() == "-");
    let mut table = report.table();
    if let Some(r) = resources {
        table.push_str(&crate::report::terminal::resources(r));
    }
    if json_to_stdout {
        eprint!("{table}");
    } else {
        super::super::print(format_args!("{table}"));
    }
    if let (Some(dir), Some(r)) = (&args.watch.csv, resources) {
        let files = crate::report::csv::write_resources(dir, r)?;
        eprintln!("csv: {} ({} files)", dir.display(), files.len());
    }
    if let Some((path, file)) = hlog {
        write_hlog(path, file, report)?;
    }
    let Some(path) = &args.json else {
        return Ok(());
    };
    let json = match resources {
        None => serde_json::to_string_pretty(report)?,
        // The report's fields, then `resources` (docs/resources.md).
        Some(r) => {
            let text = serde_json::to_string_pretty(report)?;
            let series = serde_json::to_string_pretty(r)?.replace('\n', "\n  ");
            match text.strip_suffix("\n}") {
                Some(body) => format!("{body},\n  \"resources\": {series}\n}}"),
                None => text,
            }
        }
    };
    if path.as_os_str() == "-" {
        super::super::print(format_args!("{json}\n"));
    } else {
        std::fs::write(path, json + "\n")
            .with_context(|| format!("writing the JSON report to {}", path.display()))?;
    }
    Ok(())
}
