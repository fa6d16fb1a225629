use super::*;

mod load;
mod method;
mod probes;
mod resource;
mod system;
mod watch;

fn parse(text: &str) -> Result<Experiment, ConfigError> {
    let options = LoadOptions {
        vars: BTreeMap::from([("port".to_string(), "18080".to_string())]),
        run_dir: PathBuf::from("/tmp/run"),
        ..Default::default()
    };
    parse_str(Path::new("exp.yaml"), text, &options)
}

const GOOD: &str = r#"
title: The KV store keeps acknowledged writes
tags: [quickstart, writes]
services:
  - name: kv
    command: [shakedown, demo-target, --listen, "127.0.0.1:${var.port}", --data, "${run.dir}/kv.log"]
    ready: http://127.0.0.1:${var.port}/health
proxies:
  - {name: kv, listen: "127.0.0.1:18081", upstream: "127.0.0.1:${var.port}"}
load:
  target: http://127.0.0.1:18081
  rate: 200/s
  scenarios:
    - {weight: 8, write: {method: PUT, path: "/kv/{{seq}}", body: "{{uuid}}"}, read_back: {method: GET, path: "/kv/{{seq}}"}}
    - {weight: 2, request: {method: GET, path: /health}}
steady_state:
  interval: 250ms
  recovered_after: 3
  probes:
    - {name: up, http: {url: "http://127.0.0.1:18081/health"}, timeout: 500ms, expect: {status: 200, json: {"$.status": ok}}}
    - {name: errors, load: error_rate, window: 2s, below: 1%}
    - {name: latency, load: p99, window: 2s, below: 250ms}
guards:
  - {name: melting, load: error_rate, window: 5s, below: 50%, for: 10s}
method:
  - {at: 5s, for: 5s, fault: {proxy: kv, type: reset_peer, stream: downstream, toxicity: 0.5}}
  - {at: 15s, for: 3s, fault: {proxy: kv, type: latency, attributes: {latency: 300}}}
  - {at: 22s, action: {command: [kill, -9, "${service.kv.pid}"]}}
  - {at: 23s, action: {restart: kv}}
duration: 30s
expect:
  recovered_within: 10s
  lost_writes: 0
rollbacks:
  - {command: [echo, cleaned]}
"#;

#[test]
fn the_issue_sketch_validates_with_variables_expanded() {
    let e = parse(GOOD).unwrap();
    assert_eq!(e.services[0].command[3], "127.0.0.1:18080");
    assert_eq!(e.services[0].command[5], "/tmp/run/kv.log");
    assert_eq!(e.proxies[0].upstream, "127.0.0.1:18080");
    assert_eq!(e.method.len(), 4);
    assert!(e.method[0].measure && !e.method[2].measure);
    let StepKind::Action(Action::Command(c)) = &e.method[2].kind else {
        panic!()
    };
    assert_eq!(c.argv[2], "${service.kv.pid}");
    assert_eq!(e.steady_state.probes.len(), 3);
    assert!(
        matches!(e.steady_state.probes[1].check, Check::Load { bound: Bound::Below(b), .. } if b == 0.01)
    );
    assert!(
        matches!(e.steady_state.probes[2].check, Check::Load { bound: Bound::Below(b), .. } if b == 0.25)
    );
    assert_eq!(e.guards[0].for_, std::time::Duration::from_secs(10));
    assert_eq!(e.expect.lost_writes, Some(0));
    assert_eq!(e.control, Control::Embedded);
}

#[test]
fn every_problem_is_reported_at_once_with_line_column_and_field() {
    let text = r#"title: broken
colour: blue
proxies:
  - {name: kv, listen: "127.0.0.1:1", upstream: "127.0.0.1:2", extra: 1}
steady_state:
  interval: soon
  probes:
    - {name: up, tcp: "127.0.0.1:1", timeout: 1s}
    - {name: bad, load: p42, below: 1s}
method:
  - {at: 5s, for: 2s, fault: {proxy: db, type: latency, attributes: {latency: 100}}}
  - {at: 3s, for: 1s, fault: {proxy: kv, type: earthquake}}
  - {at: 4s, for: 9s, fault: {proxy: kv, type: latency, attributes: {lag: 1}}}
  - {at: 6s, action: {kill: nobody}}
duration: 10s
"#;
    let err = parse(text).unwrap_err();
    let shown = err.to_string();
    let expect = [
        "exp.yaml:2:1: colour: unknown field `colour`",
        "exp.yaml:4:",
        "proxies[0].extra: unknown field `extra`",
        "exp.yaml:6:13: steady_state.interval:",
        "steady_state.probes[1].load: unknown metric `p42`",
        "method[0].fault.proxy: proxy `db` is not declared",
        "exp.yaml:12:",
        "method[1].at: 3s comes before the previous step's 5s",
        "method[1].fault.type: unknown toxic type `earthquake`",
        "method[2].fault.attributes.lag: unknown attribute (expected latency, jitter)",
        "method[2].for: the step ends at 13s, after the experiment's duration 10s",
        "method[3].action.kill: service `nobody` is not declared",
    ];
    for e in expect {
        assert!(shown.contains(e), "missing {e:?} in:\n{shown}");
    }
}

#[test]
fn missing_sections_and_bad_variables_are_problems() {
    let err =
        parse("method: []\nservices: [{name: a, command: [x, \"${var.nope}\"]}]\n").unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("missing field `title`"), "{shown}");
    assert!(shown.contains("missing field `duration`"), "{shown}");
    assert!(
        shown.contains("exp.yaml:2:35: variable `${var.nope}` is not set"),
        "{shown}"
    );
    let err = parse("title: t\nduration: 1s\nmethod: [{at: 0s, action: {command: [kill, \"${service.db.pid}\"]}}]\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("names a service that is not declared"),
        "{err}"
    );
}

#[test]
fn a_whole_value_variable_takes_the_type_it_reads_as() {
    let text = "title: t\nduration: 10s\nseed: ${var.port}\n";
    assert_eq!(parse(text).unwrap().seed, Some(18080));
}
