//! The HTML report (`report::html::render`) of fixed journals: figures, labels, fault windows,
//! escaping of user strings, failures first, and the size of a long run's page.

use std::path::Path;

use shakedown::experiment::record::Document;
use shakedown::report::html;

fn fixture(name: &str) -> Document {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    Document::read(&path).unwrap()
}

#[test]
fn scratch_writes_the_quickstart_page() {
    let page = html::render(&fixture("journal-v0.1.0.json"));
    std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("quickstart.html"),
        &page,
    )
    .unwrap();
}
