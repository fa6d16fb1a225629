//! `shakedown gameday`: `serve` with the console at `/ui` and, with `--experiment`, the file's
//! services, proxies, continuous load and probes ([`crate::gameday`]); at the end (SIGINT,
//! SIGTERM, SIGHUP) every fault is removed, services stop and the journal is written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::print;
use super::serve::{ServeArgs, Stop, start};
use super::vars::options;
use anyhow::Context;

use crate::control::ServeOptions;
use crate::control::journal::{Entry, EventKind, Journal};
use crate::exit::{InvalidInput, Outcome};
use crate::experiment::validate;
use crate::gameday::{ACTOR, GameDay, ServerFeed};

/// Arguments of `shakedown gameday`.
#[derive(Debug, clap::Args)]
pub struct GamedayArgs {
    /// The control API and console: the same flags as `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// An experiment file whose services, proxies, load and steady-state probes run for the
    /// whole game day (its method is not run: nothing is injected but by people).
    #[arg(long, value_name = "FILE")]
    pub experiment: Option<PathBuf>,
    /// Set a variable used as `${var.KEY}` in the experiment (repeatable).
    #[arg(long = "var", value_name = "KEY=VALUE")]
    pub vars: Vec<String>,
    /// Where the journal is written at the end, as Markdown (and JSON beside it, `.json`);
    /// default `gameday-YYYYmmdd-HHMMSS.md` (UTC, at start) in the current folder.
    #[arg(long, value_name = "FILE")]
    pub journal: Option<PathBuf>,
}

/// `shakedown gameday`: exit 0 after a clean end on a signal, 2 for a bad file or flag, 3 when
/// the experiment's services or proxies cannot start.
pub(super) async fn gameday_main(args: GamedayArgs) -> anyhow::Result<Outcome> {
    let options = options(&args.vars)?;
    let experiment = match &args.experiment {
        Some(file) => Some(validate::load_file(file, &options)?),
        None => None,
    };
    for w in experiment.iter().flat_map(|e| &e.warnings) {
        warn(format_args!("{w}"));
    }
    let path = args.journal.clone().unwrap_or_else(default_journal);
    check_journal_path(&path)?;
    let mut stop = Stop::listen()?;
    let server = start(
        &args.serve,
        ServeOptions {
            console: true,
            ..ServeOptions::default()
        },
    )
    .await?;
    let feed = ServerFeed::of(&server);
    let clock = server.journal().clock();
    let gameday = match &experiment {
        None => None,
        Some(e) => {
            let logs = options.run_dir.join("logs");
            // A signal while services start drops the start: what it started is stopped.
            let started = tokio::select! {
                started = GameDay::start(e, &server, &logs, clock, Arc::new(feed)) => started,
                signal = stop.next() => Err(anyhow::anyhow!("{signal} while the game day was starting")),
            };
            match started {
                Ok(g) => Some(g),
                Err(e) => {
                    server.shutdown().await;
                    let _ = std::fs::remove_dir_all(&options.run_dir);
                    return Err(e);
                }
            }
        }
    };
    let title = experiment.as_ref().map_or(String::new(), |e| {
        format!(": {} ({})", e.title, e.file.display())
    });
    server.journal().record(
        ACTOR,
        Entry::new(
            EventKind::Other("gameday_started".into()),
            format!("game day started{title}"),
        ),
    );
    let addr = server.local_addr();
    print(format_args!("console: http://{addr}/ui\n"));
    print(format_args!("listening on {addr}\n"));
    let signal = stop.next().await;
    print(format_args!("{signal}: ending the game day\n"));
    match server.clear_faults(ACTOR).await {
        Ok(removed) if removed.is_empty() => print(format_args!("no fault was in place\n")),
        Ok(removed) => print(format_args!(
            "removed {} fault(s): {}\n",
            removed.len(),
            removed.join(", ")
        )),
        Err(e) => warn(format_args!(
            "shakedown: removing the faults: {}",
            e.message
        )),
    }
    let mut ending = Vec::new();
    if let Some(g) = gameday {
        ending = g.stop().await;
        ending
            .iter()
            .for_each(|line| print(format_args!("{line}\n")));
    }
    let _ = std::fs::remove_dir_all(&options.run_dir);
    let journal = server.journal();
    let summary = std::iter::once(format!("game day ended by {signal}"))
        .chain(ending)
        .collect::<Vec<_>>()
        .join("; ");
    journal.record(
        ACTOR,
        Entry::new(EventKind::Other("gameday_ended".into()), summary),
    );
    let written = write_journal(&journal, &path);
    server.shutdown().await;
    let json = written?;
    print(format_args!(
        "journal written to {} and {}\n",
        path.display(),
        json.display()
    ));
    Ok(Outcome::Passed)
}

/// A line on stderr; a terminal that went away (SIGHUP) is no reason to stop the teardown.
fn warn(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// `gameday-YYYYmmdd-HHMMSS.md` (UTC, now) in the current folder.
fn default_journal() -> PathBuf {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = now
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect::<String>()
        .replace('T', "-");
    PathBuf::from(format!("gameday-{stamp}.md"))
}

/// The JSON journal's path beside the Markdown one (`x.md` → `x.json`).
fn json_beside(md: &Path) -> PathBuf {
    md.with_extension("json")
}

/// The journal's folder must exist, so that the end of a game day cannot lose it.
fn check_journal_path(path: &Path) -> Result<(), InvalidInput> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if path.is_dir() || !dir.is_dir() {
        return Err(InvalidInput::new(format!(
            "--journal {}: {} is not a folder one can write into",
            path.display(),
            if path.is_dir() { path } else { dir }.display()
        )));
    }
    Ok(())
}

/// Write `journal` as Markdown to `md` and as JSON beside it; returns the JSON's path.
fn write_journal(journal: &Journal, md: &Path) -> anyhow::Result<PathBuf> {
    let json = json_beside(md);
    std::fs::write(md, journal.to_markdown())
        .with_context(|| format!("writing the journal to {}", md.display()))?;
    let text = serde_json::to_string_pretty(&journal.to_json())? + "\n";
    std::fs::write(&json, text)
        .with_context(|| format!("writing the journal to {}", json.display()))?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_journal_is_named_for_the_time_and_json_sits_beside_it() {
        let name = default_journal().display().to_string();
        let re = regex::Regex::new(r"^gameday-\d{8}-\d{6}\.md$").unwrap();
        assert!(re.is_match(&name), "{name}");
        assert_eq!(json_beside(Path::new("a/b.md")), Path::new("a/b.json"));
    }

    #[test]
    fn a_journal_in_a_missing_folder_or_on_a_folder_is_refused() {
        assert!(check_journal_path(Path::new("j.md")).is_ok());
        let e = check_journal_path(Path::new("/nonexistent/j.md")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--journal /nonexistent/j.md: /nonexistent is not a folder one can write into"
        );
        assert!(check_journal_path(Path::new("/tmp")).is_err());
    }
}
