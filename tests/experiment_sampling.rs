//! The steady state is sampled on a fixed schedule: a probe slower than the interval does not
//! stretch the gap between samples (each sample is stamped with the time it started); a
//! percentile probe whose window holds too few requests to mean anything is warned about.

mod support;

use support::runner::{free_port, run_journaled, shakedown};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_probe_does_not_stretch_the_sampling_interval() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_shakedown");
    let file = dir.path().join("slow.yaml");
    // Every /kv answer takes 600 ms; samples are due every 200 ms for 3 s.
    std::fs::write(
        &file,
        format!(
            r#"title: slow probe
services:
  - {{name: kv, command: [{bin}, demo-target, --listen, "127.0.0.1:{port}", --latency, 600ms], ready: "http://127.0.0.1:{port}/health"}}
steady_state:
  interval: 200ms
  probes:
    - {{name: slow, http: {{url: "http://127.0.0.1:{port}/kv/absent"}}, timeout: 2s, expect: {{status: 404}}}}
duration: 3s
"#
        ),
    )
    .unwrap();
    let (ran, j) = run_journaled(&file).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let at: Vec<f64> = j["experiments"][0]["runs"][0]["samples"]
        .as_array()
        .expect("samples in the journal")
        .iter()
        .map(|s| s["at"].as_f64().unwrap())
        .collect();
    // Fixed schedule: ~15 samples in 3 s. Delayed by the probe it would be ~5 (one per 600 ms).
    // 9 leaves room for a busy 2-core machine skipping a few ticks.
    assert!(at.len() >= 9, "{} samples: {at:?}", at.len());
    assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "in schedule order: {at:?}"
    );
    let gaps: Vec<f64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    let median = {
        let mut g = gaps.clone();
        g.sort_by(f64::total_cmp);
        g[g.len() / 2]
    };
    assert!(median < 0.35, "median gap {median:.3}s, gaps {gaps:?}");
}

/// Issue 8, item 25: `validate` warns (exit 0, located) when a percentile probe's window holds
/// fewer than 100 requests at the load's rate, for steady-state probes and guards alike, and not
/// when it holds enough; no committed experiment draws the warning.
#[tokio::test]
async fn validate_warns_when_a_percentile_window_holds_fewer_than_100_requests() {
    let dir = tempfile::tempdir().unwrap();
    let file = |rate: &str, window: &str| {
        let f = dir
            .path()
            .join(format!("p-{rate}-{window}.yaml").replace('/', "per"));
        std::fs::write(
            &f,
            format!(
                r#"title: percentile windows
load:
  target: http://127.0.0.1:1
  rate: {rate}
  scenarios:
    - {{weight: 1, request: {{method: GET, path: /health}}}}
steady_state:
  probes:
    - {{name: p99, load: p99, window: {window}, below: 100ms}}
    - {{name: errors, load: error_rate, window: {window}, below: 1%}}
guards:
  - {{name: p95-guard, load: p95, window: {window}, below: 1s, for: 2s}}
duration: 5s
"#
            ),
        )
        .unwrap();
        f.display().to_string()
    };
    let few = shakedown(&["validate", &file("50/s", "1s")]).await;
    assert_eq!(few.code, 0, "a warning is not a problem: {}", few.stderr);
    let warnings: Vec<&str> = few
        .stderr
        .lines()
        .filter(|l| l.contains("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", few.stderr);
    assert!(
        warnings[0].ends_with(
            ":9:38: steady_state.probes[0].window: warning: p99 over 1s at 50/s \
             holds about 50 requests, fewer than 100: its p99 is then the largest few of them (one \
             slow request decides); give the window at least 2s at this rate, or raise the rate"
        ),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].contains(":12:42: guards[0].window: warning: p95 over 1s at 50/s"),
        "{}",
        warnings[1]
    );
    for (rate, window) in [("100/s", "1s"), ("50/s", "2s")] {
        let enough = shakedown(&["validate", &file(rate, window)]).await;
        assert_eq!(enough.code, 0);
        assert!(
            !enough.stderr.contains("warning"),
            "{rate} {window}: {}",
            enough.stderr
        );
    }
    let ours = shakedown(&[
        "validate",
        concat!(env!("CARGO_MANIFEST_DIR"), "/experiments"),
    ])
    .await;
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    assert!(!ours.stderr.contains("warning"), "{}", ours.stderr);
}
