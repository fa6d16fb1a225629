//! `shakedown load`: flags (and an optional scenario file) to a [`LoadSpec`], live progress, summary, JSON, exit code.
//!
//! The command-line face of [`crate::load`]: the driver itself knows nothing of it. Its parts:
//! [`args`] (the flags and the spec they describe), [`progress`] (the terminal while the run
//! goes), [`output`] (what is written at the end) and [`live`] (`--serve`, the agent's endpoint).
//!
//! [`LoadSpec`]: crate::load::LoadSpec

use crate::clock::Clock;
use crate::exit::{InvalidInput, Outcome};
use crate::interrupt::Interrupts;
use crate::load::{self, LoadError};

mod args;
mod live;
mod output;
mod progress;
mod tls;

pub(super) use args::LoadArgs;
pub(super) use output::{create, write_hlog};

fn invalid(e: LoadError) -> anyhow::Error {
    match e {
        LoadError::Invalid { .. } => InvalidInput::new(e.to_string()).into(),
        other => other.into(),
    }
}

/// `shakedown load`.
pub(super) async fn cli_main(args: LoadArgs) -> anyhow::Result<Outcome> {
    // From here on, SIGTERM and SIGHUP end the run as Ctrl-C does: summary, reports, exit 3.
    let mut interrupts = Interrupts::listen();
    let token = match (&args.serve, args.token.flag()) {
        (Some(_), _) => args.token.resolve()?,
        // As `--ca` on an http:// target: a flag that would change nothing is refused.
        (None, Some(flag)) => {
            return Err(InvalidInput::new(format!(
                "{flag}: the token of the agent's endpoint applies with --serve ADDR only; \
                 without --serve it would change nothing"
            ))
            .into());
        }
        // SHAKEDOWN_TOKEN is the environment's, not this command's: ignored without --serve.
        (None, None) => None,
    };
    let spec = args.spec()?;
    load::validate(&spec).map_err(|e| args.problem(&spec, e))?;
    let serve = match &args.serve {
        Some(addr) => Some(live::bind(addr, token.as_deref()).await?),
        None => None,
    };
    // The interval log's file is created before any request: a bad path sends nothing.
    let hlog = match &args.hlog {
        Some(path) => Some((path, create(path, "--hlog")?)),
        None => None,
    };
    let options = load::StartOptions {
        seed: args.seed,
        start_at: args.start_at,
        // A served agent's final report carries what a merger adds exactly.
        intervals: args.hlog.is_some() || serve.is_some(),
        histograms: args.histograms || serve.is_some(),
    };
    args.watch.check_csv()?;
    let clock = Clock::start();
    let sampling = args.watch.start(clock);
    let run = match load::start_with(spec, clock, options) {
        Ok(run) => run,
        Err(e) => {
            if let Some(s) = sampling {
                s.finish().await;
            }
            // Refused: nothing left behind.
            if let Some((path, _)) = &hlog {
                let _ = std::fs::remove_file(path);
            }
            return Err(invalid(e));
        }
    };
    let agent = serve.map(|(listener, bound)| {
        eprintln!("serving live intervals on http://{bound}/intervals");
        let agent = live::Agent::new(run.live(), token, bound);
        live::spawn(listener, agent.clone());
        agent
    });
    let (mut report, mut interrupted) = progress::drive(run, args.quiet, &mut interrupts).await;
    if let Some(agent) = &agent {
        agent.publish(&report)?;
        if !args.histograms {
            report.histograms = None;
        }
    }
    let resources = match sampling {
        Some(s) => Some(s.finish().await),
        None => None,
    };
    output::write(&args, &report, resources.as_ref(), hlog)?;
    if let Some(signal) = interrupted {
        eprintln!("interrupted by {signal}");
    } else if let Some(agent) = agent {
        match agent.linger(args.linger, &mut interrupts).await {
            live::Lingered::Fetched => {}
            live::Lingered::Unfetched => eprintln!(
                "nobody fetched the report within --linger {}",
                humantime::format_duration(args.linger)
            ),
            live::Lingered::Interrupted(signal) => {
                eprintln!("interrupted by {signal} while waiting for the report to be fetched");
                interrupted = Some(signal);
            }
        }
    }
    Ok(if interrupted.is_some() {
        Outcome::Aborted
    } else if report.passed {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}
