//! The resource series as CSV files (`--csv DIR`): `host.csv` and one `process-TARGET.csv` per
//! watched process, each with a header row, `t_s` (seconds since the run's time 0) and `wall`
//! (RFC 3339, milliseconds) first.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::experiment::record::Document;
use crate::resource::{ProcessSeries, Resources};

/// Write every run's series under `dir` (created if missing): straight into `dir` when the
/// document holds one run, else into `dir/FILE-STEM/run-N/`. Returns the files written.
///
/// Errors: a folder or a file cannot be created or written.
pub fn write(dir: &Path, document: &Document) -> anyhow::Result<Vec<PathBuf>> {
    let runs: Vec<_> = document
        .experiments
        .iter()
        .flat_map(|e| e.runs.iter().map(move |r| (e, r)))
        .filter_map(|(e, r)| r.resources.as_ref().map(|res| (e, r.run, res)))
        .collect();
    let single = document
        .experiments
        .iter()
        .map(|e| e.runs.len())
        .sum::<usize>()
        == 1;
    let mut written = Vec::new();
    for (experiment, run, resources) in runs {
        let folder = if single {
            dir.to_path_buf()
        } else {
            let stem = Path::new(&experiment.file)
                .file_stem()
                .map_or("experiment".into(), |s| s.to_string_lossy().into_owned());
            dir.join(stem).join(format!("run-{run}"))
        };
        written.extend(write_resources(&folder, resources)?);
    }
    Ok(written)
}

/// Write `resources` as `host.csv` and `process-TARGET.csv` files in `dir` (created if missing).
///
/// Errors: the folder or a file cannot be created or written.
pub fn write_resources(dir: &Path, resources: &Resources) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let origin = humantime::parse_rfc3339(&resources.origin_wall).ok();
    let wall = |at: Duration| {
        origin.map_or(String::new(), |o: SystemTime| {
            humantime::format_rfc3339_millis(o + at).to_string()
        })
    };
    let mut written = Vec::new();
    let path = dir.join("host.csv");
    let mut rows = vec![
        [
            "t_s",
            "wall",
            "cpu_percent",
            "memory_used_bytes",
            "memory_total_bytes",
            "load1",
            "load5",
            "load15",
            "net_rx_bytes",
            "net_tx_bytes",
            "disk_read_bytes",
            "disk_write_bytes",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for h in &resources.host {
        rows.push(vec![
            secs(h.at),
            wall(h.at),
            format!("{:.2}", h.cpu_percent),
            h.memory_used_bytes.to_string(),
            h.memory_total_bytes.to_string(),
            h.load[0].to_string(),
            h.load[1].to_string(),
            h.load[2].to_string(),
            h.net_rx_bytes.to_string(),
            h.net_tx_bytes.to_string(),
            h.disk_read_bytes.to_string(),
            h.disk_write_bytes.to_string(),
        ]);
    }
    save(&path, &rows)?;
    written.push(path);
    for p in &resources.processes {
        let path = dir.join(format!("process-{}.csv", p.target.slug()));
        save(&path, &process_rows(p, &wall))?;
        written.push(path);
    }
    Ok(written)
}

/// Seconds with millisecond precision.
fn secs(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// The header and one row per sample; a TCP state seen in any sample is a column of its own.
fn process_rows(p: &ProcessSeries, wall: &dyn Fn(Duration) -> String) -> Vec<Vec<String>> {
    let states: BTreeSet<&String> = p
        .samples
        .iter()
        .filter_map(|s| s.tcp.as_ref())
        .flat_map(|t| t.keys())
        .collect();
    let mut header: Vec<String> = [
        "t_s",
        "wall",
        "pids",
        "cpu_percent",
        "rss_bytes",
        "threads",
        "fds",
        "tcp",
    ]
    .map(String::from)
    .to_vec();
    header.extend(states.iter().map(|s| format!("tcp_{s}")));
    let mut rows = vec![header];
    let opt = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
    for s in &p.samples {
        let mut row = vec![
            secs(s.at),
            wall(s.at),
            s.pids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            format!("{:.2}", s.cpu_percent),
            s.rss_bytes.to_string(),
            s.threads.to_string(),
            opt(s.fds),
            opt(s.tcp.as_ref().map(|t| t.values().sum())),
        ];
        row.extend(
            states
                .iter()
                .map(|st| opt(s.tcp.as_ref().map(|t| t.get(*st).copied().unwrap_or(0)))),
        );
        rows.push(row);
    }
    rows
}

fn save(path: &Path, rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut w =
        csv::Writer::from_path(path).with_context(|| format!("writing {}", path.display()))?;
    for row in rows {
        w.write_record(row)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    w.flush()
        .with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::experiment::record::{ExperimentRecord, RunRecord, Status};
    use crate::resource::{HostSample, ProcessSample, ProcessSeries, Target};

    fn resources() -> Resources {
        let mut kv = ProcessSeries::new(Target::Service("kv".into()));
        kv.samples = vec![
            ProcessSample {
                at: Duration::from_millis(0),
                pids: vec![7],
                rss_bytes: 100,
                fds: Some(3),
                tcp: Some(BTreeMap::from([("LISTEN".to_string(), 1)])),
                ..Default::default()
            },
            ProcessSample {
                at: Duration::from_millis(1500),
                pids: vec![7],
                rss_bytes: 200,
                fds: None,
                tcp: None,
                ..Default::default()
            },
        ];
        Resources {
            interval: Duration::from_millis(1500),
            origin_wall: "2026-11-30T21:00:00.000Z".into(),
            host: vec![HostSample::default()],
            processes: vec![kv],
        }
    }

    fn experiment(file: &str, runs: u32) -> ExperimentRecord {
        let mut e =
            ExperimentRecord::not_run(Path::new(file), "t", &[], Status::Passed, String::new());
        e.runs = (1..=runs)
            .map(|run| RunRecord {
                run,
                resources: Some(resources()),
                ..Default::default()
            })
            .collect();
        e
    }

    /// One run: the files straight in DIR, a TCP state column, empty cells where a figure was
    /// not read, wall time from the origin. Several runs: a folder per file and run.
    #[test]
    fn one_run_writes_into_the_folder_and_several_into_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(dir.path(), &Document::of(vec![experiment("e/one.yaml", 1)])).unwrap();
        assert_eq!(
            written,
            [
                dir.path().join("host.csv"),
                dir.path().join("process-service-kv.csv")
            ]
        );
        let text = std::fs::read_to_string(&written[1]).unwrap();
        assert_eq!(
            text,
            "t_s,wall,pids,cpu_percent,rss_bytes,threads,fds,tcp,tcp_LISTEN\n\
             0.000,2026-11-30T21:00:00.000Z,7,0.00,100,0,3,1,1\n\
             1.500,2026-11-30T21:00:01.500Z,7,0.00,200,0,,,\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let doc = Document::of(vec![experiment("e/one.yaml", 2), experiment("two.yaml", 1)]);
        let written = write(dir.path(), &doc).unwrap();
        assert_eq!(written.len(), 6);
        for folder in ["one/run-1", "one/run-2", "two/run-1"] {
            assert!(
                dir.path().join(folder).join("host.csv").exists(),
                "{folder}"
            );
        }
    }
}
