//! Each kind of input the importer meets, translated or listed, and every output accepted by
//! the experiment validator.

use std::path::Path;

use serde_json::{Value, json};

use super::import;
use crate::experiment::validate::{LoadOptions, parse_str};

/// Import `doc`: the output parsed back, and the dropped items as `path: reason` lines. The
/// output must be a valid shakedown experiment (given `--var nope=…`, the one unset variable).
fn imported(doc: Value) -> (Value, Vec<String>) {
    let t = import(&doc, "test.json").unwrap();
    let options = LoadOptions {
        vars: [("nope".to_string(), "x".to_string())].into(),
        ..LoadOptions::default()
    };
    if let Err(e) = parse_str(Path::new("out.yaml"), &t.yaml, &options) {
        panic!("invalid output: {e}\n{}", t.yaml);
    }
    let parsed = serde_saphyr::from_str(&t.yaml).unwrap();
    (parsed, t.dropped.iter().map(ToString::to_string).collect())
}

/// An experiment with one hypothesis probe.
fn with_probe(probe: Value) -> Value {
    json!({"title": "t", "steady-state-hypothesis": {"probes": [probe]}, "method": []})
}

fn http_probe(tolerance: Value) -> Value {
    with_probe(json!({"type": "probe", "name": "p", "tolerance": tolerance,
                      "provider": {"type": "http", "url": "http://127.0.0.1:1/"}}))
}

#[test]
fn only_http_statuses_become_expected_statuses() {
    for ok in [
        json!(200),
        json!([200, 503]),
        json!({"type": "range", "range": [500, 502]}),
    ] {
        let (doc, dropped) = imported(http_probe(ok.clone()));
        assert_eq!(dropped, Vec::<String>::new(), "{ok}");
        assert!(
            doc["steady_state"]["probes"][0]["expect"]["status"].is_number()
                || doc["steady_state"]["probes"][0]["expect"]["status"].is_array(),
            "{ok}"
        );
    }
    for bad in [
        json!(0),
        json!(700),
        json!([200, 99]),
        json!([]),
        json!("200"),
        json!(true),
        json!({"type": "range", "range": [299, 200]}),
        json!({"type": "probe"}),
    ] {
        let (doc, dropped) = imported(http_probe(bad.clone()));
        assert_eq!(dropped.len(), 1, "{bad}: {dropped:?}");
        assert!(
            dropped[0].starts_with("$.steady-state-hypothesis.probes[0].tolerance: tolerance "),
            "{bad}: {dropped:?}"
        );
        assert!(
            doc.get("steady_state").is_none(),
            "{bad}: the probe is left out"
        );
    }
}

#[test]
fn request_parts_become_valid_shakedown_values() {
    let (doc, dropped) = imported(with_probe(json!({
        "type": "probe", "name": "search for things", "tolerance": 200,
        "provider": {"type": "http", "url": "http://127.0.0.1:1/s", "method": "get",
                     "headers": {"X-Count": 3, "Accept": "text/html"},
                     "arguments": {"q": "a b&c", "n": 2}}
    })));
    assert_eq!(dropped, Vec::<String>::new());
    let p = &doc["steady_state"]["probes"][0];
    assert_eq!(p["name"], "search-for-things");
    assert_eq!(
        p["http"],
        json!({"url": "http://127.0.0.1:1/s?n=2&q=a%20b%26c",
                                 "headers": {"Accept": "text/html", "X-Count": "3"}})
    );
    // HTTPS URLs are kept (probes speak HTTPS); turning verification off is the experiment's.
    let (doc, dropped) = imported(with_probe(json!({
        "type": "probe", "name": "p", "tolerance": 200,
        "provider": {"type": "http", "url": "https://example.test/", "verify_tls": false}})));
    assert_eq!(
        doc["steady_state"]["probes"][0]["http"]["url"],
        "https://example.test/"
    );
    assert_eq!(
        dropped,
        [
            "$.steady-state-hypothesis.probes[0].provider.verify_tls: `verify_tls` is not kept (the experiment's `tls: {insecure: true}` turns verification off for every probe)"
        ]
    );
}

#[test]
fn metadata_that_is_not_text_is_listed_not_written() {
    let (doc, dropped) = imported(json!({"title": "t", "description": 3,
        "tags": ["a", 2, {"b": 1}], "method": []}));
    assert_eq!(doc["tags"], json!(["a"]));
    assert!(doc.get("description").is_none());
    assert_eq!(
        dropped,
        [
            "$.description: a description that is not text",
            "$.tags[1]: tag 2 is not text",
            "$.tags[2]: tag {\"b\":1} is not text",
        ]
    );
}

fn toxi(module: &str, func: &str, args: Value, pause: f64) -> Value {
    json!({"type": "action", "name": func, "pauses": {"after": pause},
           "provider": {"type": "python", "module": format!("chaostoxi.{module}.actions"),
                        "func": func, "arguments": args}})
}

fn proxy() -> Value {
    toxi(
        "proxy",
        "create_proxy",
        json!({"proxy_name": "db", "listen_port": 15432,
        "upstream_host": "127.0.0.1", "upstream_port": 5432}),
        0.0,
    )
}

#[test]
fn faults_last_until_their_deletion_a_reset_or_the_end() {
    let (doc, dropped) = imported(json!({"title": "t", "method": [
        proxy(),
        toxi("toxic", "create_timeout_toxic", json!({"for_proxy": "db", "toxic_name": "a", "timeout": 0}), 1.0),
        toxi("toxic", "create_latency_toxic", json!({"for_proxy": "db", "toxic_name": "b", "latency": 5}), 1.5),
        toxi("proxy", "reset", json!({}), 2.0),
        toxi("proxy", "disable_proxy", json!({"proxy_name": "db"}), 0.0),
    ]}));
    assert_eq!(dropped, Vec::<String>::new());
    let spans: Vec<(&str, &str, &str)> = doc["method"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["at"].as_str().unwrap(),
                s["for"].as_str().unwrap(),
                s["fault"]["type"].as_str().unwrap(),
            )
        })
        .collect();
    // Reset at 2.5s ends both; the proxy disabled at the very end lasts the 1s added for it.
    assert_eq!(
        spans,
        [
            ("0s", "2500ms", "timeout"),
            ("1s", "1500ms", "latency"),
            ("4500ms", "1s", "reset_peer")
        ]
    );
    assert_eq!(doc["duration"], "5500ms");
}

#[test]
fn toxiproxy_calls_that_cannot_translate_are_listed_at_their_argument() {
    let (doc, dropped) = imported(json!({"title": "t", "method": [
        proxy(),
        toxi("toxic", "create_latency_toxic", json!({"for_proxy": "db", "toxic_name": "x"}), 1.0),
        toxi("toxic", "create_latency_toxic", json!({"for_proxy": "db", "latency": 1}), 1.0),
        {"ref": "nothing-by-this-name"},
        {"type": "action", "name": "p", "pauses": {"before": "soon"},
         "provider": {"type": "process", "path": "true"}},
    ], "rollbacks": [
        toxi("toxic", "create_timeout_toxic", json!({"for_proxy": "db", "toxic_name": "a", "timeout": 0}), 0.0),
    ]}));
    assert_eq!(
        dropped,
        [
            "$.method[1].provider.arguments.latency: `create_latency_toxic` without `latency`",
            "$.method[2].provider.arguments.toxic_name: missing `toxic_name`",
            "$.method[3].ref: no activity is named `nothing-by-this-name`",
            "$.method[4].pauses.before: \"soon\" is not a number of seconds from 0 to 604800",
            "$.rollbacks[0].provider.func: `create_timeout_toxic` in a rollback: shakedown's rollbacks are commands",
        ]
    );
    assert_eq!(
        doc["method"],
        json!([{"at": "2s", "name": "p", "action": {"command": ["true"]}}])
    );
}

#[test]
fn configuration_values_become_variables_and_unknown_ones_are_listed() {
    let (doc, dropped) = imported(json!({"title": "${svc} survives",
        "configuration": {"svc": "api", "port": {"type": "env", "key": "PORT", "default": 8080},
                          "odd": {"type": "vault", "path": "x"}},
        "method": [{"type": "action", "name": "a", "provider": {"type": "process",
            "path": "echo", "arguments": ["${svc}", "${port}", "${nope}"]}}]}));
    assert_eq!(doc["title"], "${var.svc:-api} survives");
    assert_eq!(
        doc["method"][0]["action"]["command"],
        json!([
            "echo",
            "${var.svc:-api}",
            "${env.PORT:-8080}",
            "${var.nope}"
        ])
    );
    assert_eq!(
        dropped,
        [
            "$.configuration.odd: only literal and environment (`type: env`) values translate",
            "$.method[0].provider.arguments[2]: `${nope}` is not in the configuration: written as `${var.nope}` (set it with --var nope=…)",
        ]
    );
}

#[test]
fn what_is_not_an_experiment_is_refused() {
    for (doc, why) in [
        (json!([]), "the file is not a mapping"),
        (json!({"title": " ", "method": []}), "no `title`"),
        (json!({"title": "t", "method": {}}), "no `method` list"),
    ] {
        assert_eq!(import(&doc, "x").unwrap_err().why, why);
    }
}
