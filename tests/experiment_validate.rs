//! Every experiment in experiments/ validates, every bad fixture is rejected with all its
//! problems located, and every YAML example in the runner's docs parses.

mod support;

use std::path::{Path, PathBuf};

use support::runner::shakedown;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_experiment_validates_and_dry_runs() {
    let files = yaml_files("experiments");
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        let ran = shakedown(&["validate", f.to_str().unwrap()]).await;
        assert_eq!(ran.code, 0, "{}: {}", f.display(), ran.stderr);
        let dry = shakedown(&["run", "--dry-run", f.to_str().unwrap()]).await;
        assert_eq!(dry.code, 0, "{}", dry.stderr);
        assert!(dry.stdout.contains("end of the method"), "{}", dry.stdout);
    }
    let quick = shakedown(&["run", "--dry-run", "experiments/quickstart.yaml"]).await;
    assert!(
        quick.stdout.contains("2s      + latency on kv"),
        "{}",
        quick.stdout
    );
    assert!(
        quick.stdout.contains("8s      ! kill -9 kv"),
        "{}",
        quick.stdout
    );
}

#[tokio::test]
async fn every_fixture_is_rejected_with_each_expected_problem() {
    let files = yaml_files("fixtures");
    assert!(files.len() >= 4);
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let expected: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expected.is_empty(),
            "{} lists no `# expect:` lines",
            f.display()
        );
        let rel = Path::new("fixtures").join(f.file_name().unwrap());
        let ran = shakedown(&["validate", rel.to_str().unwrap()]).await;
        assert_eq!(ran.code, 2, "{}", f.display());
        for e in expected {
            assert!(
                ran.stderr.contains(e),
                "{}: missing {e:?} in\n{}",
                f.display(),
                ran.stderr
            );
        }
        // Every problem line is located: file:line:col.
        for line in ran.stderr.lines().filter(|l| l.starts_with("fixtures/")) {
            let mut parts = line.splitn(4, ':');
            let (_, l, c) = (
                parts.next(),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            assert!(
                l.parse::<u32>().is_ok() && c.parse::<u32>().is_ok(),
                "unlocated: {line}"
            );
        }
    }
}

#[tokio::test]
async fn usage_errors_exit_2_and_var_sets_values() {
    let ran = shakedown(&["run", "experiments/no-such-file.yaml"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let ran = shakedown(&[
        "run",
        "--dry-run",
        "--var",
        "port=19999",
        "experiments/quickstart.yaml",
    ])
    .await;
    assert!(ran.stdout.contains("127.0.0.1:19999"), "{}", ran.stdout);
    let ran = shakedown(&[
        "run",
        "--dry-run",
        "--var",
        "oops",
        "experiments/quickstart.yaml",
    ])
    .await;
    assert_eq!(ran.code, 2);
}

/// The ```yaml blocks of a doc page that are whole experiments (they have a `title:`).
fn doc_examples(page: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("docs").join(page)).unwrap();
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                out.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn every_yaml_example_in_the_docs_validates() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for page in ["experiments.md", "journal.md", "exit-codes.md"] {
        for (i, block) in doc_examples(page).into_iter().enumerate() {
            let file = dir.path().join(format!("{page}-{i}.yaml"));
            std::fs::write(&file, &block).unwrap();
            let ran = shakedown(&["validate", file.to_str().unwrap()]).await;
            if block.contains("title:") {
                assert_eq!(
                    ran.code, 0,
                    "docs/{page} example {i}:\n{block}\n{}",
                    ran.stderr
                );
            } else {
                // A fragment: it must at least be YAML the validator reads (it then reports
                // the missing title/duration, not a syntax error).
                assert!(
                    ran.stderr.contains("missing field `title`"),
                    "docs/{page} example {i}:\n{block}\n{}",
                    ran.stderr
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 3, "only {checked} examples");
    // The journal example is JSON with the documented top-level shape.
    let text = std::fs::read_to_string(root().join("docs/journal.md")).unwrap();
    let block = text
        .split("```json\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(block).unwrap();
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/journal.schema.json")).unwrap(),
    )
    .unwrap();
    for key in doc.as_object().unwrap().keys() {
        assert!(
            schema["properties"].get(key).is_some(),
            "journal.md shows `{key}`, not in the schema"
        );
    }
}
