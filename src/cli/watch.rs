//! `--watch-pid`, `--watch-name`, `--sample-interval` and `--csv DIR`: the resource sampler's
//! flags, shared by `run`, `test` and `load` (docs/resources.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::exit::InvalidInput;
use crate::experiment::validate::WatchFlags;
use crate::resource::{Live, MIN_INTERVAL, Resources, Target, Watch};

/// The resource sampler's flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WatchArgs {
    /// Also sample this process and its children: CPU, RSS, threads, descriptors, TCP
    /// connections (repeatable).
    #[arg(long = "watch-pid", value_name = "PID")]
    pub pids: Vec<u32>,
    /// Also sample every process of this name and their children (repeatable).
    #[arg(long = "watch-name", value_name = "NAME")]
    pub names: Vec<String>,
    /// Time between resource samples (default 1s, or the file's `watch.interval`).
    #[arg(long, value_name = "DURATION", value_parser = interval)]
    pub sample_interval: Option<Duration>,
    /// Write the resource series as CSV files into this folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub csv: Option<PathBuf>,
}

/// A sample interval: a duration of at least [`MIN_INTERVAL`].
fn interval(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration such as `500ms` ({e})"))?;
    if d < MIN_INTERVAL {
        return Err(format!(
            "must be at least {}",
            humantime::format_duration(MIN_INTERVAL)
        ));
    }
    Ok(d)
}

impl WatchArgs {
    /// What the experiment's validation adds to `watch:`.
    pub(super) fn flags(&self) -> WatchFlags {
        WatchFlags {
            pids: self.pids.clone(),
            names: self.names.clone(),
            interval: self.sample_interval,
        }
    }

    /// Refuse, before anything starts, a `--csv` folder that cannot be created or written.
    ///
    /// Errors: [`InvalidInput`] (exit 2) naming the folder and why.
    pub(super) fn check_csv(&self) -> Result<(), InvalidInput> {
        let Some(dir) = &self.csv else { return Ok(()) };
        writable_dir(dir).map_err(|e| {
            InvalidInput::new(format!(
                "--csv {}: cannot write into it: {e}",
                dir.display()
            ))
        })
    }
}

/// Create `dir` if missing and check a file can be created in it (the probe file is removed).
fn writable_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let probe = dir.join(format!(".shakedown-csv-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(probe)
}

/// A resource sampler running beside `shakedown load` (which has no services to watch).
#[derive(Debug)]
pub(super) struct Sampling {
    live: Live,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl WatchArgs {
    /// Start sampling on `clock` when any of the flags asks for it (none: no sampler).
    pub(super) fn start(&self, clock: Clock) -> Option<Sampling> {
        let asked = !self.pids.is_empty()
            || !self.names.is_empty()
            || self.sample_interval.is_some()
            || self.csv.is_some();
        if !asked {
            return None;
        }
        let mut watch = Watch::default();
        self.pids.iter().for_each(|p| watch.add(Target::Pid(*p)));
        self.names
            .iter()
            .for_each(|n| watch.add(Target::Name(n.clone())));
        watch.interval = self.sample_interval.unwrap_or(watch.interval);
        let (live, stop) = (Live::new(&watch, clock), CancellationToken::new());
        let task = tokio::spawn(crate::resource::run(
            watch,
            clock,
            |_| None,
            live.clone(),
            stop.clone(),
        ));
        Some(Sampling { live, stop, task })
    }
}

impl Sampling {
    /// Stop sampling and take the record (a sampler that could not start says why on stderr).
    pub(super) async fn finish(self) -> Resources {
        self.stop.cancel();
        if let Ok(Err(why)) = self.task.await {
            eprintln!("resources are not sampled: {why}");
        }
        self.live.finish()
    }
}
