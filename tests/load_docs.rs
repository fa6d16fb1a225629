//! Every example in docs/load.md is checked: YAML and JSON specs validate,
//! stage and threshold examples parse, and the sample JSON report has exactly
//! the fields a real report has. (The Rust example is a doctest.)

mod support;

use std::collections::BTreeSet;

use shakedown::clock::Clock;
use shakedown::config::{Format, parse};
use shakedown::load::{self, LoadReport, LoadSpec, Stages, Threshold, UserStages};
use support::load::TestServer;

const DOC: &str = include_str!("../docs/load.md");

fn blocks(lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in DOC.lines() {
        match &mut current {
            None if line.trim_start() == format!("```{lang}") => current = Some(String::new()),
            Some(_) if line.trim_start() == "```" => out.extend(current.take()),
            Some(text) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    out
}

fn keys(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let path = format!("{prefix}.{k}");
                out.insert(path.clone());
                keys(v, &path, out);
            }
        }
        serde_json::Value::Array(items) => {
            if let Some(first) = items.first() {
                keys(first, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// PEM files made at run time (rcgen) for the paths the TLS examples name: the same
/// self-signed pair serves as CA, client certificate and key.
fn with_pem_files(text: &str, dir: &std::path::Path) -> String {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    text.replace("/etc/shakedown/mesh-ca.pem", &cert)
        .replace("/etc/shakedown/client.pem", &cert)
        .replace("/etc/shakedown/client.key", &key)
}

#[test]
fn yaml_and_json_specs_in_the_doc_validate() {
    let yaml = blocks("yaml");
    assert!(yaml.len() >= 3, "the doc has its YAML examples");
    let dir = tempfile::tempdir().unwrap();
    let yaml: Vec<String> = yaml.iter().map(|t| with_pem_files(t, dir.path())).collect();
    assert!(
        yaml.iter()
            .any(|t| t.contains("cert: ") && t.contains("key: ")),
        "the doc shows a client identity"
    );
    for (i, text) in yaml.iter().enumerate() {
        let spec: LoadSpec = parse(format!("docs/load.md yaml #{i}"), text, Format::Yaml).unwrap();
        load::validate(&spec).unwrap_or_else(|e| panic!("yaml #{i}: {e}"));
        // As `load --scenario FILE` reads it (strict YAML 1.2, typed field by field).
        let file = dir.path().join(format!("scenario-{i}.yaml"));
        std::fs::write(&file, text).unwrap();
        let read: LoadSpec = shakedown::config::typed::read(&file)
            .unwrap_or_else(|e| panic!("yaml #{i} as a --scenario file: {e}"));
        load::validate(&read).unwrap_or_else(|e| panic!("yaml #{i}: {e}"));
    }
    let specs: Vec<_> = blocks("json")
        .into_iter()
        .filter(|t| !t.contains("\"version\""))
        .collect();
    assert!(!specs.is_empty());
    for (i, text) in specs.iter().enumerate() {
        let spec: LoadSpec = parse("docs/load.md json", text, Format::Json).unwrap();
        load::validate(&spec).unwrap();
        let file = dir.path().join(format!("scenario-{i}.json"));
        std::fs::write(&file, text).unwrap();
        let read: LoadSpec = shakedown::config::typed::read(&file)
            .unwrap_or_else(|e| panic!("json #{i} as a --scenario file: {e}"));
        load::validate(&read).unwrap();
    }
}

#[test]
fn stage_and_threshold_examples_parse() {
    // Inline code spans only (fenced blocks are checked above).
    let prose: String = DOC.split("```").step_by(2).collect::<Vec<_>>().join("");
    let backticked: Vec<&str> = prose
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| !s.contains('\n'))
        .collect();
    // Rate stages carry a unit (`100/s`); user stages are bare counts.
    let users: Vec<&&str> = backticked
        .iter()
        .filter(|s| s.starts_with("0s:") && !s.contains('/'))
        .collect();
    assert!(users.len() >= 4, "{users:?}");
    for s in users {
        let parsed: UserStages = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        let spec = LoadSpec {
            target: Some("http://127.0.0.1:1".into()),
            users_stages: Some(parsed),
            ..LoadSpec::default()
        };
        load::validate(&spec).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    let stages: Vec<&&str> = backticked
        .iter()
        .filter(|s| s.starts_with("0s:") && s.contains('/'))
        .collect();
    assert!(stages.len() >= 5);
    for s in stages {
        let parsed: Stages = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
        let spec = LoadSpec {
            target: Some("http://127.0.0.1:1".into()),
            stages: Some(parsed),
            ..LoadSpec::default()
        };
        load::validate(&spec).unwrap_or_else(|e| panic!("{s}: {e}"));
    }
    let thresholds: Vec<&&str> = backticked
        .iter()
        .filter(|s| {
            let metric = s.split_whitespace().next().unwrap_or("");
            let known = ["error_rate", "rps", "max", "mean"].contains(&metric)
                || (metric.starts_with('p') && metric[1..].parse::<f64>().is_ok());
            known && s.contains(['<', '>'])
        })
        .collect();
    assert!(thresholds.len() >= 5, "{thresholds:?}");
    for t in thresholds {
        t.parse::<Threshold>().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_report_has_the_fields_of_a_real_one() {
    let sample = blocks("json")
        .into_iter()
        .find(|t| t.contains("\"version\""))
        .expect("sample report");
    let sample: serde_json::Value = serde_json::from_str(&sample).unwrap();
    let server = TestServer::start().await;
    let spec: LoadSpec = parse(
        "t.yaml",
        &format!(
            "target: {}\nrate: 200/s\nduration: 1s\nscenarios:\n  - {{write: {{method: PUT, path: \"/kv/{{{{seq}}}}\"}}, read_back: {{path: \"/kv/{{{{seq}}}}\"}}}}\nthresholds: ['p99 < 500ms']\n",
            server.url()
        ),
        Format::Yaml,
    )
    .unwrap();
    let report = load::start(spec, Clock::start(), Some(1))
        .unwrap()
        .finish()
        .await;
    let real = serde_json::to_value(&report).unwrap();
    let (mut a, mut b) = (BTreeSet::new(), BTreeSet::new());
    keys(&sample, "", &mut a);
    keys(&real, "", &mut b);
    assert_eq!(
        a, b,
        "docs/load.md's sample report and a real report differ in fields"
    );
    // Both read back as a typed report and write out the same JSON value (a saved
    // journal embeds them).
    for json in [&sample, &real] {
        let typed: LoadReport = serde_json::from_value(json.clone()).expect("reads back");
        assert_eq!(serde_json::to_value(&typed).unwrap(), *json);
    }
    // (The typed value itself matches to the microsecond, the wire's precision.)
}
