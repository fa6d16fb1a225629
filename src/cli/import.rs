//! `shakedown import chaostoolkit FILE`: convert a Chaos Toolkit experiment.

use std::path::PathBuf;

use super::print;
use crate::exit::{InvalidInput, Outcome};
use crate::import::chaostoolkit;

/// Arguments of `shakedown import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The format of the input.
    #[arg(value_enum)]
    pub format: Format,
    /// The experiment to convert (`.json`, `.yaml` or `.yml`).
    pub file: PathBuf,
    /// Write the shakedown experiment here instead of stdout.
    #[arg(short, long, value_name = "OUT.yaml")]
    pub output: Option<PathBuf>,
}

/// A format `import` reads.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// A Chaos Toolkit experiment (JSON or YAML), with the chaostoolkit-toxiproxy extension.
    Chaostoolkit,
}

/// `shakedown import`: the experiment on stdout (or `-o`); every item left out on stderr as
/// `FILE: $.json.path: reason`. Exit 0 when everything translated, 4 when something was left
/// out, 2 when the input is not an experiment.
pub(crate) async fn import_main(args: ImportArgs) -> anyhow::Result<Outcome> {
    let Format::Chaostoolkit = args.format;
    let doc: serde_json::Value = crate::config::read(&args.file)?;
    let label = args.file.display().to_string();
    let source = args
        .file
        .file_name()
        .map_or(label.clone(), |n| n.to_string_lossy().into_owned());
    let translation = chaostoolkit::import(&doc, &source)
        .map_err(|e| InvalidInput::new(format!("{label}: {e}")))?;
    match &args.output {
        Some(out) => std::fs::write(out, &translation.yaml).map_err(|e| {
            InvalidInput::new(format!("-o {}: cannot write it: {e}", out.display()))
        })?,
        None => print(format_args!("{}", translation.yaml)),
    }
    for item in &translation.dropped {
        eprintln!("{label}: {item}");
    }
    // What was translated must also be a valid experiment (a name, a port or an attribute that
    // Chaos Toolkit passed through unchecked): each problem is listed, and the import is
    // incomplete. Variables left for `--var` count as set here.
    let invalid = output_problems(&translation.yaml);
    for problem in &invalid {
        eprintln!("{label}: translated, but not a valid experiment: {problem}");
    }
    Ok(if translation.dropped.is_empty() && invalid.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Incomplete
    })
}

/// The validator's problems with the translated experiment, one line each (none when valid).
fn output_problems(yaml: &str) -> Vec<String> {
    use crate::experiment::validate::{LoadOptions, parse_str};
    let mut options = LoadOptions::default();
    // Every `${var.NAME}` the translation left is a variable the user sets with `--var`.
    for name in yaml
        .split("${var.")
        .skip(1)
        .filter_map(|r| r.split('}').next())
    {
        options.vars.insert(name.to_string(), "1".to_string());
    }
    match parse_str(std::path::Path::new("<translated>"), yaml, &options) {
        Ok(_) => Vec::new(),
        Err(e) => e.to_string().lines().map(str::to_string).collect(),
    }
}
