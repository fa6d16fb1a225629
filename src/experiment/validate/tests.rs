use super::*;

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

#[test]
fn the_load_section_is_checked_by_the_load_driver_with_located_field_paths() {
    let text = r#"title: bad load
load:
  target: http://127.0.0.1:18081
  rate: 100/s
  scenarios:
    - {weight: 1, write: {method: "P UT", path: "/kv/{{seq}}"}, read_back: {path: "/kv/{{seq}}"}}
duration: 5s
"#;
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.contains("exp.yaml:6:")
            && shown.contains("load.scenarios[0].write.method: invalid method \"P UT\""),
        "{shown}"
    );
    // An unknown field inside the section is located at its key.
    let text =
        "title: t\nload:\n  target: http://127.0.0.1:1\n  rate: 1/s\n  rtae: 2/s\nduration: 1s\n";
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.contains("exp.yaml:5:3: load.rtae: unknown field `rtae`"),
        "{shown}"
    );
    // A read-back key that is not unique, and a load that would stop before the method ends.
    let text = r#"title: t
load:
  target: http://127.0.0.1:1
  rate: 1/s
  duration: 2s
  scenarios:
    - {write: {method: PUT, path: /kv/a}, read_back: {path: /kv/a}}
duration: 5s
"#;
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.contains("load.scenarios[0].read_back.path: must contain"),
        "{shown}"
    );
    let text = "title: t\nload:\n  target: http://127.0.0.1:1\n  rate: 1/s\n  duration: 2s\nduration: 5s\n";
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.contains("exp.yaml:5:13: load.duration: the load would stop at 2s"),
        "{shown}"
    );
}

#[test]
fn write_expectations_need_a_write_scenario() {
    let text = "title: t\nload:\n  target: http://127.0.0.1:1\n  rate: 1/s\nduration: 1s\nexpect: {lost_writes: 0, rpo_within: 1s}\n";
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.contains("expect.lost_writes: needs a `write` scenario")
            && shown.contains("expect.rpo_within: needs a `write` scenario"),
        "{shown}"
    );
    let e = parse(GOOD).unwrap();
    let load = e.load.unwrap();
    assert_eq!(load.target.as_deref(), Some("http://127.0.0.1:18081"));
}

#[test]
fn a_load_window_longer_than_the_histograms_kept_is_a_problem() {
    let text = "title: t\nload:\n  target: http://127.0.0.1:1\n  rate: 1/s\nsteady_state:\n  probes:\n    - {name: slow, load: p99, window: 5m, below: 1s}\nduration: 1s\n";
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.contains("steady_state.probes[0].window: at most 2m"),
        "{shown}"
    );
    assert!(parse(&text.replace("5m", "2m")).is_ok());
}

#[test]
fn a_stage_plan_that_ends_before_the_method_is_a_problem() {
    let text =
        "title: t\nload:\n  target: http://127.0.0.1:1\n  stages: 0s:10/s,2s:50/s\nduration: 10s\n";
    let shown = parse(text).unwrap_err().to_string();
    assert!(
        shown.contains(
            "load.stages: the plan ends at its last point, 2s, before the method ends at 10s"
        ),
        "{shown}"
    );
    assert!(parse(&text.replace("2s:50/s", "2s:50/s,10s:50/s")).is_ok());
    let users =
        "title: t\nload:\n  target: http://127.0.0.1:1\n  users_stages: 0s:1,3s:5\nduration: 10s\n";
    let shown = parse(users).unwrap_err().to_string();
    assert!(
        shown.contains("load.users_stages: the plan ends"),
        "{shown}"
    );
}

#[test]
fn a_fault_is_typed_from_validation_on() {
    use crate::fault::{Stream, ToxicKind};
    let text = r#"title: typed
proxies:
  - {name: kv, listen: "127.0.0.1:1", upstream: "127.0.0.1:2"}
method:
  - {at: 1s, for: 1s, fault: {proxy: kv, type: latency, stream: upstream, toxicity: 50%, attributes: {latency: 300}}}
  - {at: 3s, for: 1s, fault: {proxy: kv, type: noop}}
duration: 5s
"#;
    let e = parse(text).unwrap();
    let StepKind::Fault { fault, .. } = &e.method[0].kind else {
        panic!("{:?}", e.method[0].kind);
    };
    assert!(matches!(fault.kind, ToxicKind::Latency(_)), "{fault:?}");
    assert_eq!(fault.kind.attributes()["latency"], 300);
    assert_eq!(fault.stream, Stream::Upstream);
    assert_eq!(fault.toxicity.value(), 0.5);
    let StepKind::Fault { fault, .. } = &e.method[1].kind else {
        panic!("{:?}", e.method[1].kind);
    };
    assert_eq!(
        (fault.kind.clone(), fault.stream),
        (ToxicKind::Noop(crate::fault::Noop), Stream::Downstream)
    );
    assert_eq!(fault.toxicity.value(), 1.0);
    // Each bad field of a fault is its own problem, at its own path.
    let bad = text
        .replace("stream: upstream", "stream: sideways")
        .replace("toxicity: 50%", "toxicity: 1.5");
    let shown = parse(&bad).unwrap_err().to_string();
    for e in [
        "method[0].fault.stream: `sideways` must be downstream or upstream",
        "method[0].fault.toxicity: ",
    ] {
        assert!(shown.contains(e), "missing {e:?} in:\n{shown}");
    }
}

#[test]
fn http_toxics_are_checked_at_their_line_and_need_an_http_proxy() {
    let text = r#"title: http
proxies:
  - {name: web, listen: "127.0.0.1:1", upstream: "127.0.0.1:2", protocol: http}
  - {name: kv, listen: "127.0.0.1:3", upstream: "127.0.0.1:4"}
method:
  - {at: 1s, for: 1s, fault: {proxy: web, type: http_abort, toxicity: 20%, attributes: {status: 503, path: /health, headers: {retry-after: "1"}}}}
duration: 5s
"#;
    let e = parse(text).unwrap();
    assert_eq!(e.proxies[0].protocol, crate::proxy::Protocol::Http);
    assert_eq!(e.proxies[1].protocol, crate::proxy::Protocol::Tcp);
    let StepKind::Fault { fault, .. } = &e.method[0].kind else {
        panic!("{:?}", e.method[0].kind);
    };
    assert_eq!(fault.kind.attributes()["status"], 503);
    assert_eq!(fault.kind.attributes()["path"], "/health");
    let cases = [
        (
            "status: 503",
            "status: 600",
            "6:",
            "method[0].fault.attributes.status: must be a final HTTP status in 200..=599, got 600",
        ),
        (
            "path: /health",
            "path_regex: \"([\"",
            "6:",
            "method[0].fault.attributes.path_regex: does not compile",
        ),
        (
            "proxy: web",
            "proxy: kv",
            "6:",
            "method[0].fault.type: `http_abort` needs an HTTP-mode proxy: set `protocol: http` on proxy `kv`",
        ),
        (
            "protocol: http",
            "protocol: gopher",
            "3:",
            "proxies[0].protocol: expected \"tcp\" or \"http\", got \"gopher\"",
        ),
    ];
    for (from, to, line, says) in cases {
        let shown = parse(&text.replace(from, to)).unwrap_err().to_string();
        assert!(shown.contains(says), "missing {says:?} in:\n{shown}");
        let at = shown.lines().find(|l| l.contains(says)).unwrap_or_default();
        assert!(at.contains(&format!(":{line}")), "{at}");
    }
}

/// Two proxies on one fixed listen address pass nothing but a 409 at preflight; port 0 (any free
/// port) may repeat.
#[test]
fn two_proxies_cannot_listen_on_one_address() {
    let twice = GOOD.replace(
        "proxies:\n",
        "proxies:\n  - {name: other, listen: \"127.0.0.1:18081\", upstream: \"127.0.0.1:1\"}\n",
    );
    let e = parse(&twice).unwrap_err().to_string();
    assert!(
        e.contains("exp.yaml:10:24:")
            && e.contains(
                "proxies[1].listen: `127.0.0.1:18081` is the listen address of another proxy"
            ),
        "{e}"
    );
    let any = GOOD
        .replace("127.0.0.1:18081\", upstream", "127.0.0.1:0\", upstream")
        .replace(
            "proxies:\n",
            "proxies:\n  - {name: other, listen: \"127.0.0.1:0\", upstream: \"127.0.0.1:1\"}\n",
        );
    assert!(parse(&any).is_ok(), "{:?}", parse(&any).err());
}

/// A sampling interval under 10 ms is refused at its field (1 ns kept 9,386 samples in 2 s).
#[test]
fn the_sampling_interval_has_a_floor() {
    for (interval, ok) in [
        ("0s", false),
        ("1ns", false),
        ("9ms", false),
        ("10ms", true),
    ] {
        let text = GOOD.replace("interval: 250ms", &format!("interval: {interval}"));
        let got = parse(&text);
        assert_eq!(got.is_ok(), ok, "{interval}: {:?}", got.as_ref().err());
        if let Err(e) = got {
            assert!(
                e.to_string()
                    .contains("steady_state.interval: must be at least 10ms"),
                "{e}"
            );
        }
    }
}

/// A rate so small that the window a percentile needs overflows a duration is a warning (or a
/// problem), never a panic (`load.rate: 1e-30/s` panicked in `validate`, exit 101).
#[test]
fn a_vanishing_rate_does_not_panic_the_percentile_window_check() {
    for rate in ["1e-30/s", "0.000001/s", "1e-300"] {
        let text = GOOD.replace("rate: 200/s", &format!("rate: {rate}"));
        let _ = parse(&text);
    }
}

/// Every service is watched by default, `watch:` and resource probes add theirs, and a growth
/// window too short for a slope is a located warning (the file stays valid).
#[test]
fn services_and_probe_targets_are_watched_and_a_short_growth_window_warns() {
    let e = parse(
        r#"
title: watched
services:
  - {name: kv, command: [sleep, "5"]}
  - {name: db, command: [sleep, "5"]}
watch:
  interval: 500ms
  processes: [{pid: 1}, {name: postgres}, {service: kv}]
steady_state:
  probes:
    - {name: leak, resource: rss, process: redis, growth: below 1MB/min, window: 2s}
    - {name: big, resource: connections, state: established, service: db, above: 3}
duration: 1s
"#,
    )
    .unwrap();
    use crate::resource::Target;
    assert_eq!(e.watch.interval, std::time::Duration::from_millis(500));
    assert_eq!(
        e.watch.targets,
        [
            Target::Service("kv".into()),
            Target::Service("db".into()),
            Target::Pid(1),
            Target::Name("postgres".into()),
            Target::Name("redis".into()),
        ]
    );
    let Check::Growth { limit, .. } = &e.steady_state.probes[0].check else {
        panic!()
    };
    assert!((limit - 1e6 / 60.0).abs() < 1e-9);
    let Check::Resource { metric, bound, .. } = &e.steady_state.probes[1].check else {
        panic!()
    };
    assert_eq!(
        *metric,
        ResourceMetric::Connections(Some("ESTABLISHED".into()))
    );
    assert_eq!(*bound, Bound::Above(3.0));
    assert_eq!(e.warnings.len(), 1, "{:?}", e.warnings);
    assert!(
        e.warnings[0].starts_with(
            "exp.yaml:11:82: steady_state.probes[0].window: warning: holds at most 5 resource \
             samples at the 500ms interval and a slope needs 8"
        ),
        "{}",
        e.warnings[0]
    );
}

/// A proxy's TLS files and the experiment's CA file are read by validation: a bad one is a
/// problem at its own line and field; TLS on a TCP proxy is one too.
#[test]
fn tls_settings_are_checked_at_their_line() {
    let text = r#"title: tls
tls: {ca: /nonexistent/ca.pem}
proxies:
  - {name: web, listen: "127.0.0.1:1", upstream: "127.0.0.1:2", protocol: http, tls_cert: /nonexistent/c.pem, tls_key: /nonexistent/k.pem}
  - {name: kv, listen: "127.0.0.1:3", upstream: "127.0.0.1:4", upstream_tls: true, http_header_timeout: 5s}
  - {name: mesh, listen: "127.0.0.1:5", upstream: "127.0.0.1:6", protocol: http, upstream_tls: true,
     upstream_cert: /nonexistent/uc.pem, upstream_key: /nonexistent/uk.pem, http_header_timeout: 50ms}
  - {name: gate, listen: "127.0.0.1:7", upstream: "127.0.0.1:8", protocol: http, tls_client_ca: /nonexistent/ca.pem}
duration: 5s
"#;
    let shown = parse(text).unwrap_err().to_string();
    for says in [
        "exp.yaml:2:11: tls.ca: /nonexistent/ca.pem: No such file",
        "exp.yaml:4:",
        "proxies[0].tls_cert: /nonexistent/c.pem: No such file",
        "exp.yaml:5:",
        "exp.yaml:5:78: proxies[1].upstream_tls: TLS (upstream_tls) needs `protocol: http`",
        "proxies[1].http_header_timeout: needs `protocol: http`",
        "exp.yaml:7:21: proxies[2].upstream_cert: /nonexistent/uc.pem: No such file",
        "exp.yaml:7:98: proxies[2].http_header_timeout: must be between 100ms and 600s, got 50ms",
        "exp.yaml:8:",
        "proxies[3].tls_client_ca: needs tls_cert and tls_key",
    ] {
        assert!(shown.contains(says), "missing {says:?} in:\n{shown}");
    }
    // A client identity needs both halves; the missing one is named.
    let half = "title: tls\ntls: {cert: /nonexistent/client.pem}\nduration: 5s\n";
    let shown = parse(half).unwrap_err().to_string();
    assert!(shown.contains("tls.key: needed with tls.cert"), "{shown}");
    let fine = "title: tls\ntls: {insecure: true}\nload: {target: \"https://localhost:1/\", rate: 1/s}\nduration: 5s\n";
    let e = parse(fine).unwrap();
    assert!(e.tls.insecure);
    // The load inherits the experiment's TLS settings.
    assert_eq!(e.load.unwrap().tls, Some(e.tls));
}

/// Every field of every resource fault is checked at its own line and column: absurd numbers
/// (0 or 2000 cores, a 0% or 150% load, more bytes than this host has, more connections than
/// the open-file limit), unknown services and proxies, a missing `for`, and two kinds at once.
#[test]
fn resource_faults_are_checked_at_each_field() {
    let text = r#"title: resource faults
services:
  - {name: kv, command: [sleep, "30"]}
proxies:
  - {name: px, listen: "127.0.0.1:18081", upstream: "127.0.0.1:18080"}
method:
  - at: 1s
    for: 1s
    action:
      cpu_burn: {cores: 0, load: 150%}
  - at: 1s
    for: 1s
    action:
      cpu_burn: {cores: 2000, load: 0%}
  - at: 1s
    for: 1s
    action:
      memory_pressure: {bytes: 64PB}
  - at: 1s
    for: 1s
    action:
      memory_limit: {service: db, bytes: 1000GiB}
  - at: 1s
    for: 1s
    action:
      cpu_limit: {service: kv, cores: 0}
  - at: 1s
    for: 1s
    action:
      pause: nobody
  - at: 1s
    for: 1s
    action:
      hold_connections: {proxy: nope, count: 0}
  - at: 1s
    for: 1s
    action:
      hold_connections: {target: "localhost", count: 4000000000}
  - at: 1s
    action:
      pause: kv
  - at: 1s
    for: 1s
    action: {pause: kv, kill: kv}
  - at: 1s
    for: 1s
    action: {pause: kv, signal: TERM}
  - at: 1s
    for: 1s
    action: {hold_connections: {service: kv, count: 5}}
duration: 5s
"#;
    let err = parse(text).unwrap_err().to_string();
    let expect = [
        "exp.yaml:10:25: method[0].action.cpu_burn.cores: 0 must be 1..1024",
        "exp.yaml:10:34: method[0].action.cpu_burn.load: \"150%\" is outside 0..1",
        "exp.yaml:14:25: method[1].action.cpu_burn.cores: 2000 must be 1..1024",
        "exp.yaml:14:37: method[1].action.cpu_burn.load: must be 1%..100%",
        "exp.yaml:18:32: method[2].action.memory_pressure.bytes: `64PB` is not a size",
        "exp.yaml:22:31: method[3].action.memory_limit.service: service `db` is not declared",
        "exp.yaml:22:42: method[3].action.memory_limit.bytes: 1024000 MiB is more than this host's physical memory",
        "exp.yaml:26:39: method[4].action.cpu_limit.cores: 0 must be above 0 and at most 1024",
        "exp.yaml:30:14: method[5].action.pause: service `nobody` is not declared",
        "exp.yaml:34:33: method[6].action.hold_connections.proxy: proxy `nope` is not declared",
        "exp.yaml:34:46: method[6].action.hold_connections.count: must be at least 1",
        "exp.yaml:38:34: method[7].action.hold_connections.target: `localhost` must be host:port",
        "exp.yaml:38:54: method[7].action.hold_connections.count: 4000000000 connections do not fit under this process's open-file limit",
        "exp.yaml:41:7: method[8].action: a resource fault needs `for` on its step",
        "exp.yaml:44:13: method[9].action: an action has exactly one of `command`",
        "exp.yaml:47:33: method[10].action.signal: `signal` does not go with a resource fault",
        "exp.yaml:50:42: method[11].action.hold_connections.service: service `kv` has no `ready` check",
    ];
    for e in expect {
        assert!(err.contains(e), "missing {e:?} in:\n{err}");
    }
}

/// The resource faults validate into typed steps, measured by default, named by what they do.
#[test]
fn resource_faults_validate_into_typed_steps() {
    use crate::experiment::resource::{ResourceFault, Target};
    use std::time::Duration;
    let e = parse(
        r#"title: ok
services:
  - {name: kv, command: [sleep, "30"], ready: "http://127.0.0.1:18080/health"}
method:
  - {at: 1s, for: 2s, action: {cpu_burn: {cores: 2, load: 80%}}}
  - {at: 1s, for: 2s, action: {memory_pressure: {bytes: 256MiB}}}
  - {at: 1s, for: 2s, action: {cpu_limit: {service: kv, cores: 0.5}}}
  - {at: 1s, for: 2s, action: {memory_limit: {service: kv, bytes: 64MB}}}
  - {at: 1s, for: 2s, action: {pause: kv}}
  - {at: 1s, for: 2s, action: {hold_connections: {service: kv, count: 100}}}
duration: 5s
"#,
    )
    .unwrap();
    let faults: Vec<(&str, &ResourceFault, bool, Duration)> = e
        .method
        .iter()
        .map(|s| match &s.kind {
            StepKind::Resource { fault, for_ } => (s.name.as_str(), fault, s.measure, *for_),
            other => panic!("{other:?}"),
        })
        .collect();
    let two = Duration::from_secs(2);
    assert_eq!(
        faults,
        vec![
            (
                "cpu_burn 2 cores at 80%",
                &ResourceFault::CpuBurn { cores: 2, load: 80 },
                true,
                two
            ),
            (
                "memory_pressure 256 MiB",
                &ResourceFault::MemoryPressure { bytes: 256 << 20 },
                true,
                two
            ),
            (
                "cpu_limit kv to 0.5 cores",
                &ResourceFault::CpuLimit {
                    service: "kv".into(),
                    cores: 0.5
                },
                true,
                two
            ),
            (
                "memory_limit kv to 61 MiB",
                &ResourceFault::MemoryLimit {
                    service: "kv".into(),
                    bytes: 64_000_000
                },
                true,
                two
            ),
            ("pause kv", &ResourceFault::Pause("kv".into()), true, two),
            (
                "hold_connections 100 to service kv",
                &ResourceFault::HoldConnections {
                    target: Target::Service("kv".into()),
                    count: 100
                },
                true,
                two
            ),
        ]
    );
    assert_eq!(e.method[0].end(), Duration::from_secs(3));
}
