//! `shakedown stress` (hidden): the child process of a `cpu_burn` or `memory_pressure` step,
//! started by the runner (see `experiment::resource`), not by people.

use std::time::Duration;

use crate::exit::Outcome;
use crate::experiment::resource::{burn, pressure};

/// Arguments of `shakedown stress`.
#[derive(Debug, clap::Args)]
pub struct StressArgs {
    /// What to stress.
    #[command(subcommand)]
    what: Stress,
    /// Stop by itself after this long.
    #[arg(long = "for", global = true, value_parser = humantime::parse_duration, default_value = "10s")]
    for_: Duration,
    /// The runner's process id (a marker: the runner kills this process at the step's end).
    #[arg(long, global = true)]
    owner: Option<u32>,
}

#[derive(Debug, clap::Subcommand)]
enum Stress {
    /// Keep CPUs busy.
    Cpu {
        /// Busy threads.
        #[arg(long, default_value_t = 1)]
        cores: u32,
        /// Percent of each period a thread is busy, 1..=100.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u8).range(1..=100))]
        load: u8,
    },
    /// Allocate, touch and hold memory.
    Memory {
        /// Bytes.
        #[arg(long)]
        bytes: u64,
    },
}

/// `shakedown stress`: runs in a blocking thread until its time is up.
pub(crate) async fn stress_main(args: StressArgs) -> anyhow::Result<Outcome> {
    let for_ = args.for_;
    match args.what {
        Stress::Cpu { cores, load } => {
            tokio::task::spawn_blocking(move || burn::run(cores, load, for_)).await?;
        }
        Stress::Memory { bytes } => {
            tokio::task::spawn_blocking(move || pressure::run(bytes, for_))
                .await?
                .map_err(anyhow::Error::msg)?;
        }
    }
    Ok(Outcome::Passed)
}
