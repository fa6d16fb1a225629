//! docs/experiment.schema.json (issue 15) accepts every example the project ships, each example
//! in experiments/ points editors at it, and it refuses what the validator refuses as written:
//! unknown keys, a duration without a unit, a missing title.

mod support;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::demo::blocks;

/// The first line of every example: where yaml-language-server finds the schema.
const SCHEMA_LINE: &str = "# yaml-language-server: $schema=../docs/experiment.schema.json";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("docs/experiment.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

/// The schema's complaints about `doc`, one line each (empty when it is valid).
fn errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path))
        .collect()
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("experiments"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// The experiment blocks of docs/*.md (YAML with a `title:` line), labelled by page.
fn doc_examples() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for page in support::demo::doc_pages() {
        let doc = std::fs::read_to_string(&page).unwrap();
        for block in blocks(&doc, "yaml") {
            if block.lines().any(|l| l.starts_with("title:")) {
                out.push((name(&page), block));
            }
        }
    }
    out
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_example_in_experiments_is_valid_against_the_schema() {
    let validator = validator();
    let files = example_files();
    assert!(files.len() >= 10, "only {} examples", files.len());
    for file in files {
        let doc = yaml(&std::fs::read_to_string(&file).unwrap());
        assert_eq!(
            errors(&validator, &doc),
            Vec::<String>::new(),
            "{}",
            name(&file)
        );
    }
}

#[test]
fn every_experiment_example_in_the_docs_names_the_schema_and_is_valid_against_it() {
    let validator = validator();
    let examples = doc_examples();
    assert!(examples.len() >= 4, "only {} examples", examples.len());
    for (page, text) in examples {
        assert_eq!(
            text.lines().next(),
            Some(SCHEMA_LINE),
            "docs/{page}:\n{text}"
        );
        let problems = errors(&validator, &yaml(&text));
        assert_eq!(problems, Vec::<String>::new(), "docs/{page}:\n{text}");
    }
}

#[test]
fn every_example_in_experiments_names_the_schema_on_its_first_line() {
    for file in example_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text.lines().next(), Some(SCHEMA_LINE), "{}", name(&file));
    }
}

/// A small valid experiment to break one field at a time.
fn base() -> Value {
    json!({
        "title": "t",
        "proxies": [{"name": "kv", "listen": "127.0.0.1:1", "upstream": "127.0.0.1:2"}],
        "steady_state": {"interval": "200ms", "probes": [
            {"name": "up", "http": {"url": "http://127.0.0.1:1/"}, "expect": {"status": [200, 204]}}
        ]},
        "method": [{"at": "1s", "for": "2s", "fault": {"proxy": "kv", "type": "latency",
            "toxicity": "50%", "attributes": {"latency": 100}}}],
        "duration": "5s",
        "load": {"target": "http://127.0.0.1:1", "rate": "${env.RATE:-50/s}", "users": "${env.U:-2}"},
    })
}

#[test]
fn the_schema_refuses_what_the_validator_refuses_as_written() {
    let validator = validator();
    assert_eq!(errors(&validator, &base()), Vec::<String>::new());
    type Break = fn(&mut Value);
    let cases: [(&str, Break); 12] = [
        ("unknown top-level key", |d| d["titel"] = json!("x")),
        ("missing title", |d| {
            d.as_object_mut().unwrap().remove("title");
        }),
        ("empty title", |d| d["title"] = json!("")),
        ("missing duration", |d| {
            d.as_object_mut().unwrap().remove("duration");
        }),
        ("duration without unit", |d| d["duration"] = json!("5")),
        ("unknown step field", |d| {
            d["method"][0]["fro"] = json!("2s")
        }),
        ("step time a number", |d| d["method"][0]["at"] = json!(1)),
        ("status out of range", |d| {
            d["steady_state"]["probes"][0]["expect"]["status"] = json!(700)
        }),
        ("users quoted but not a reference", |d| {
            d["load"]["users"] = json!("twenty")
        }),
        ("unknown toxic type", |d| {
            d["method"][0]["fault"]["type"] = json!("latencyy")
        }),
        ("unknown stream", |d| {
            d["method"][0]["fault"]["stream"] = json!("sideways")
        }),
        ("unknown load metric", |d| {
            d["steady_state"]["probes"][0] = json!({"name": "m", "load": "p42", "below": "1ms"})
        }),
    ];
    for (what, break_it) in cases {
        let mut doc = base();
        break_it(&mut doc);
        assert!(
            !errors(&validator, &doc).is_empty(),
            "the schema accepted: {what}"
        );
    }
}
