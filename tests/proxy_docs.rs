//! Every example in docs/faults.md and docs/control-api.md is checked:
//! `json toxic` blocks are valid toxics, `json proxy` blocks valid proxies,
//! `json patch` valid toxic updates, `yaml config` valid config files, and
//! every other `json` block is valid JSON. docs/benchmarks.md: its commands exist.

use std::path::Path;

use shakedown::control::{config_file, wire};

fn blocks(doc: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(doc)).unwrap();
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.trim().to_string(), String::new())),
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some((_, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(current.is_none(), "{doc}: unclosed code block");
    out
}

/// PEM files made at run time for the paths the TLS examples name.
struct Pem {
    _dir: tempfile::TempDir,
    replacements: Vec<(&'static str, String)>,
}

impl Pem {
    fn new() -> Pem {
        let dir = tempfile::tempdir().unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let write = |name: &str, text: String| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let cert = write("proxy.pem", ck.cert.pem());
        let key = write("proxy.key", ck.signing_key.serialize_pem());
        Pem {
            replacements: vec![
                ("/etc/shakedown/proxy.pem", cert.clone()),
                ("/etc/shakedown/proxy.key", key.clone()),
                ("/etc/shakedown/upstream-ca.pem", cert.clone()),
                ("/etc/shakedown/client-ca.pem", cert.clone()),
                ("/etc/shakedown/client.pem", cert),
                ("/etc/shakedown/client.key", key),
            ],
            _dir: dir,
        }
    }

    /// `body` with the example paths replaced by the files made here.
    fn made(&self, body: &str) -> String {
        self.replacements
            .iter()
            .fold(body.to_string(), |b, (from, to)| b.replace(from, to))
    }
}

fn check(doc: &str) -> usize {
    let mut checked = 0;
    let pem = Pem::new();
    for (info, body) in blocks(doc) {
        let body = pem.made(&body);
        let json = || {
            serde_json::from_str::<serde_json::Value>(&body)
                .unwrap_or_else(|e| panic!("{doc}: {e}\n{body}"))
        };
        match info.as_str() {
            "json toxic" => {
                wire::toxic_request(&json()).unwrap_or_else(|e| panic!("{doc}: {e}\n{body}"));
            }
            "json proxy" => {
                wire::proxy_request(&json()).unwrap_or_else(|e| panic!("{doc}: {e}\n{body}"));
            }
            "json patch" => {
                wire::toxic_patch(&json()).unwrap_or_else(|e| panic!("{doc}: {e}\n{body}"));
            }
            "yaml config" => {
                config_file::parse(Path::new(doc), &body).unwrap_or_else(|e| panic!("{e}"));
            }
            s if s.starts_with("json") => {
                json();
            }
            _ => continue,
        }
        checked += 1;
    }
    checked
}

#[test]
fn fault_examples_are_valid_toxics() {
    assert!(check("docs/faults.md") >= 10);
}

/// What 0 means for an attribute, where `/toxic-types` gives it a meaning (`(0: no limit)`,
/// `; 0 never closes`), docs/faults.md says too, as `` `name: 0` ``.
#[test]
fn faults_md_says_what_zero_means_wherever_the_catalog_does() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/faults.md"))
        .unwrap();
    let mut checked = 0;
    for kind in shakedown::fault::ToxicKind::CATALOG {
        for attr in kind.attributes {
            if attr.doc.contains("(0: ") || attr.doc.contains("; 0 ") {
                let said = format!("`{}: 0`", attr.name);
                assert!(
                    doc.contains(&said),
                    "{}: faults.md lacks {said} ({})",
                    kind.name,
                    attr.doc
                );
                checked += 1;
            }
        }
    }
    // first_n and max_active on each of the 6 HTTP toxics, timeout, reset_peer, limit_data.
    assert!(checked >= 15, "{checked}");
}

/// Every series `/metrics` serves (a proxy, its HTTP figures, a TCP and an HTTP toxic) is a
/// row of docs/control-api.md's metrics table, and every row is served: the table lacked
/// `shakedown_proxy_http_requests_total` and `shakedown_proxy_http_errors_total`.
#[test]
fn the_metrics_table_lists_every_series_served() {
    use shakedown::fault::{Toxic, ToxicKind};
    let metrics = shakedown::proxy::Metrics::new();
    let _p = metrics.proxy("p");
    let h = metrics.http("p");
    h.requests.inc();
    for (t, attrs) in [("latency", "{}"), ("http_reset", "{}")] {
        let kind = ToxicKind::from_wire(t, &serde_json::from_str(attrs).unwrap()).unwrap();
        let toxic = Toxic {
            name: t.to_string(),
            stream: Default::default(),
            toxicity: Default::default(),
            kind,
        };
        metrics.toxic("p", &toxic).connections.inc();
    }
    let mut served: Vec<String> = metrics
        .render()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next().map(str::to_string))
        .collect();
    served.sort();
    served.dedup();
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/control-api.md"))
            .unwrap();
    let table = doc.split("## Metrics").nth(1).expect("a Metrics section");
    let mut listed: Vec<String> = table
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.strip_prefix("| `shakedown_"))
        .filter_map(|l| l.split('`').next().map(|n| format!("shakedown_{n}")))
        .collect();
    listed.sort();
    assert_eq!(listed, served);
}

#[test]
fn control_api_examples_are_valid() {
    assert!(check("docs/control-api.md") >= 5);
}

#[test]
fn benchmark_commands_exist() {
    // docs/benchmarks.md: every `sh` block names scripts and benches that exist.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for (info, body) in blocks("docs/benchmarks.md") {
        if info != "sh" {
            continue;
        }
        let words: Vec<&str> = body.split_whitespace().collect();
        for word in &words {
            if word.starts_with("scripts/") {
                assert!(root.join(word).is_file(), "docs/benchmarks.md: no {word}");
                checked += 1;
            }
        }
        for pair in words.windows(2) {
            if pair[0] == "--bench" {
                let bench = root.join("benches").join(format!("{}.rs", pair[1]));
                assert!(bench.is_file(), "docs/benchmarks.md: no bench {}", pair[1]);
                checked += 1;
            }
        }
    }
    assert!(checked >= 2, "docs/benchmarks.md names its commands");
}
