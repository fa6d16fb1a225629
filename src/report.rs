//! Renderings of results: the terminal summary, the JSON journal and JUnit XML.

pub mod journal;
pub mod junit;
pub mod terminal;

use std::path::Path;

use anyhow::Context;

/// Write the JSON journal of `document` to `path`.
pub fn write_json(path: &Path, document: &journal::Document) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(document).context("rendering the journal")?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// The JSON Schema of the journal (committed as `docs/journal.schema.json`).
pub fn journal_schema() -> String {
    let schema = schemars::schema_for!(journal::Document);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/journal.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        if committed != super::journal_schema() {
            if std::env::var_os("SHAKEDOWN_BLESS").is_some() {
                std::fs::write(path, super::journal_schema()).unwrap();
            } else {
                panic!("docs/journal.schema.json is stale: rerun with SHAKEDOWN_BLESS=1");
            }
        }
    }
}
