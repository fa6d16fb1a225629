//! Resource faults: every field at its line, typed steps.

use super::*;

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
