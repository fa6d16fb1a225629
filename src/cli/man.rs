//! `shakedown man`: the manual pages (roff) generated from the clap definition.

use std::path::PathBuf;

use anyhow::Context;
use clap::CommandFactory;

use super::{Cli, print};
use crate::exit::{InvalidInput, Outcome};

/// Arguments of `shakedown man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// The page of one subcommand (shakedown-run(1)); default: shakedown(1).
    pub subcommand: Option<String>,
    /// Write every page (shakedown.1, shakedown-run.1, …) into this folder instead.
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    pub dir: Option<PathBuf>,
}

/// `shakedown man [SUBCOMMAND]`: the page in roff on stdout (`shakedown man | man -l -`);
/// `--dir DIR` writes all pages (creating the folder) and prints it. An unknown subcommand is exit 2.
pub(crate) async fn man_main(args: ManArgs) -> anyhow::Result<Outcome> {
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    if let Some(dir) = args.dir {
        std::fs::create_dir_all(&dir)
            .and_then(|()| clap_mangen::generate_to(command, &dir))
            .map_err(|e| {
                InvalidInput::new(format!(
                    "--dir {}: cannot write the pages: {e}",
                    dir.display()
                ))
            })?;
        print(format_args!("{}\n", dir.display()));
        return Ok(Outcome::Passed);
    }
    let page = match args.subcommand {
        None => command,
        Some(name) => command
            .find_subcommand(&name)
            .cloned()
            .ok_or_else(|| InvalidInput::new(format!("no subcommand `{name}`")))?,
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .context("rendering the man page")?;
    print(format_args!("{}", String::from_utf8_lossy(&roff)));
    Ok(Outcome::Passed)
}
