//! `shakedown completions SHELL`: a shell completion script generated from the clap definition.

use clap::CommandFactory;
use clap_complete::Shell;

use super::{Cli, print};
use crate::exit::Outcome;

/// Arguments of `shakedown completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish (also elvish, powershell).
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `shakedown completions SHELL`: the script on stdout, exit 0 (docs/editors.md says where to
/// put it).
pub(crate) async fn completions_main(args: CompletionsArgs) -> anyhow::Result<Outcome> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "shakedown", &mut script);
    print(format_args!("{}", String::from_utf8_lossy(&script)));
    Ok(Outcome::Passed)
}
