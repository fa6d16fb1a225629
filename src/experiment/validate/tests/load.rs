//! The `load:` section, checked by the load driver at located field paths, and what the rest of the file asks of it.

use super::*;

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

/// A rate so small that the window a percentile needs overflows a duration is a warning (or a
/// problem), never a panic (`load.rate: 1e-30/s` panicked in `validate`, exit 101).
#[test]
fn a_vanishing_rate_does_not_panic_the_percentile_window_check() {
    for rate in ["1e-30/s", "0.000001/s", "1e-300"] {
        let text = GOOD.replace("rate: 200/s", &format!("rate: {rate}"));
        let _ = parse(&text);
    }
}
