//! `shakedown schema`: print the JSON Schema of a file format, for editors and other tools.

use super::print;
use crate::exit::Outcome;

/// Arguments of `shakedown schema`.
#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which format: `experiment` (an experiment file, docs/experiment.schema.json) or `journal`
    /// (the `--json` journal of `run` and `test`, docs/journal.schema.json).
    #[arg(value_enum)]
    pub format: Format,
}

/// A file format with a JSON Schema.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// An experiment file (YAML).
    Experiment,
    /// The JSON journal written by `run --json` and `test --json`.
    Journal,
}

/// `shakedown schema FORMAT`: the schema on stdout (draft 2020-12), exit 0.
pub(crate) async fn schema_main(args: SchemaArgs) -> anyhow::Result<Outcome> {
    let text = match args.format {
        Format::Experiment => crate::experiment::schema::experiment_schema(),
        Format::Journal => crate::experiment::record::schema(),
    };
    print(format_args!("{text}"));
    Ok(Outcome::Passed)
}
