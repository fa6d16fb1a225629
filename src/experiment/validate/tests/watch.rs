//! What is watched: services, `watch:` and resource probes' targets.

use super::*;

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
