//! Renderings of a run's record ([`crate::experiment::record`]): the terminal summary, the JSON
//! journal, JUnit XML, the self-contained HTML page and the Markdown summary for CI pages. A
//! renderer reads a record and nothing else of the runner.

pub mod csv;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod terminal;

use std::path::Path;

use anyhow::Context;

use crate::experiment::record::Document;

/// Write the JSON journal of `document` to `path`.
pub fn write_json(path: &Path, document: &Document) -> anyhow::Result<()> {
    std::fs::write(path, document.to_json()).with_context(|| format!("writing {}", path.display()))
}
