//! The command line: parsed arguments dispatched to each module's entry point.
//!
//! The command-line face of each subcommand (its clap arguments, its `*_main` entry point, what
//! it prints and which files it writes) lives in a submodule here (`run`, `test`, `validate`,
//! `demo`, …); the modules below (experiment, load, control, report) never import this one.
//! This root assembles them, starts the runtime and logging, and maps the outcome to a
//! documented exit code (see [`crate::exit`]).

mod access;
mod completions;
mod demo;
mod fault;
mod gameday;
mod import;
mod journal;
mod listen;
mod load;
mod man;
mod merge;
mod note;
mod preflight;
mod report;
mod run;
mod schema;
mod serve;
mod stress;
mod test;
mod validate;
mod vars;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::Outcome;

/// `shakedown --version`: the crate's version and the git commit it was built from (`unknown`
/// outside a git checkout, `dev build near COMMIT` in a debug build; see build.rs), e.g.
/// `0.1.0 (509c2f8)`.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("SHAKEDOWN_COMMIT"),
    ")"
);

/// shakedown: fault-injecting proxy, load driver and experiment runner.
#[derive(Debug, Parser)]
#[command(name = "shakedown", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Toxiproxy-compatible control API and the proxies it manages.
    Serve(serve::ServeArgs),
    /// Serve the control API with the game-day console at /ui; run an experiment's load and probes.
    Gameday(gameday::GamedayArgs),
    /// Apply load to an HTTP target and report honest latencies.
    Load(Box<load::LoadArgs>),
    /// Add agents' load reports (`load --segment I/N --histograms`) into one and judge thresholds once.
    Merge(merge::MergeArgs),
    /// Run one experiment file and report detection, recovery and lost writes.
    Run(run::RunArgs),
    /// Run a folder of experiments as a suite (JUnit XML, non-zero exit on failure).
    Test(test::TestArgs),
    /// Validate experiment files without running anything.
    Validate(validate::ValidateArgs),
    /// Check that an experiment can run here (commands, ports, services, proxies, probes,
    /// resource faults) without injecting anything: a ready / not-ready table.
    Preflight(preflight::PreflightArgs),
    /// Re-render a saved JSON journal (`run`/`test --json`): terminal summary, HTML, Markdown.
    Report(report::ReportArgs),
    /// Serve the embedded demo target (an HTTP key-value service).
    DemoTarget(demo::DemoArgs),
    /// Print the JSON Schema of the experiment file or of the journal.
    Schema(schema::SchemaArgs),
    /// Print a shell completion script (bash, zsh, fish).
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff).
    Man(man::ManArgs),
    /// Convert a Chaos Toolkit experiment into a shakedown experiment.
    Import(import::ImportArgs),
    /// Add, list and remove a running server's toxics (`fault add db latency latency=300`).
    Fault(fault::FaultArgs),
    /// Write a note into a running server's event journal.
    Note(note::NoteArgs),
    /// Export a running server's event journal (Markdown or JSON).
    Journal(journal::JournalArgs),
    /// The child process of a `cpu_burn` or `memory_pressure` step (started by the runner).
    #[command(hide = true)]
    Stress(stress::StressArgs),
}

/// Parse the process arguments, run the command, and return its exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Outcome::Invalid
            } else {
                Outcome::Passed
            };
            let _ = e.print();
            return code.into();
        }
    };
    // `run`, `test` and `validate` print their own report; their stderr carries only warnings
    // (RUST_LOG still overrides). The servers log their lifecycle at info.
    let quiet = matches!(
        cli.command,
        Command::Run(_)
            | Command::Test(_)
            | Command::Validate(_)
            | Command::Preflight(_)
            | Command::Report(_)
            | Command::Schema(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Import(_)
            | Command::Fault(_)
            | Command::Note(_)
            | Command::Journal(_)
            | Command::Stress(_)
    );
    init_tracing(if quiet {
        "shakedown=warn"
    } else {
        "shakedown=info"
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shakedown: cannot start the async runtime: {e}");
            return Outcome::Aborted.into();
        }
    };
    let outcome = match runtime.block_on(run(cli.command)) {
        Ok(outcome) => outcome,
        Err(error) => {
            eprintln!("shakedown: {}", chain(&error));
            Outcome::of_error(&error)
        }
    };
    if let Some(failure) = stdout_failure() {
        eprintln!("shakedown: writing to stdout failed: {failure}");
        return Outcome::Aborted.into();
    }
    outcome.into()
}

/// Run one parsed command.
pub async fn run(command: Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Serve(args) => serve::serve_main(args).await,
        Command::Gameday(args) => gameday::gameday_main(args).await,
        Command::Load(args) => load::cli_main(*args).await,
        Command::Merge(args) => merge::merge_main(args).await,
        Command::Run(args) => run::run_main(args).await,
        Command::Test(args) => test::test_main(args).await,
        Command::Validate(args) => validate::validate_main(args).await,
        Command::Preflight(args) => preflight::preflight_main(args).await,
        Command::Report(args) => report::report_main(args).await,
        Command::DemoTarget(args) => demo::demo_main(args).await,
        Command::Schema(args) => schema::schema_main(args).await,
        Command::Completions(args) => completions::completions_main(args).await,
        Command::Man(args) => man::man_main(args).await,
        Command::Import(args) => import::import_main(args).await,
        Command::Fault(args) => fault::fault_main(args).await,
        Command::Note(args) => note::note_main(args).await,
        Command::Journal(args) => journal::journal_main(args).await,
        Command::Stress(args) => stress::stress_main(args).await,
    }
}

/// An error and its causes on one line, as `outer: cause: root`; a
/// multi-line root (such as a file's list of problems) keeps its lines.
fn chain(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Print `text` on stdout. A reader that went away (`shakedown validate … | head -1`) is not a
/// failure of the command: the rest of the text is dropped and the command still exits with its
/// own documented code (`print!` would panic: exit 101). Any other write failure (a full disk,
/// `>/dev/full`) is kept and turns the command's exit into 3 (see `stdout_failure`).
/// Control characters other than newline and tab (an escape sequence in a journal's title, say)
/// are shown as `\u{1b}`, so no text shakedown prints can drive the terminal.
pub fn print(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let text = text.to_string();
    let shown = if text.chars().any(is_unprintable) {
        text.chars()
            .fold(String::with_capacity(text.len()), |mut out, c| {
                if is_unprintable(c) {
                    out.extend(c.escape_unicode());
                } else {
                    out.push(c);
                }
                out
            })
    } else {
        text
    };
    if let Err(e) = std::io::stdout().lock().write_all(shown.as_bytes()) {
        note_stdout_error(e);
    }
}

fn is_unprintable(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// The first stdout write failure that was not a closed pipe.
static STDOUT_FAILURE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn note_stdout_error(error: std::io::Error) {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        return;
    }
    if let Ok(mut first) = STDOUT_FAILURE.lock() {
        first.get_or_insert_with(|| error.to_string());
    }
}

/// Flush stdout and return the first write failure of the run, if any (a closed pipe is none).
fn stdout_failure() -> Option<String> {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().flush() {
        note_stdout_error(e);
    }
    STDOUT_FAILURE.lock().ok().and_then(|f| f.clone())
}

fn init_tracing(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colour only on a terminal: a service's log file must hold text, not escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}
