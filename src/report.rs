//! Renderings of a run's record ([`crate::experiment::record`]): the terminal summary, the JSON
//! journal and JUnit XML. A renderer reads a record and nothing else of the runner.

pub mod junit;
pub mod terminal;

use std::path::Path;

use anyhow::Context;

use crate::experiment::record::Document;

/// Write the JSON journal of `document` to `path`.
pub fn write_json(path: &Path, document: &Document) -> anyhow::Result<()> {
    std::fs::write(path, document.to_json()).with_context(|| format!("writing {}", path.display()))
}
