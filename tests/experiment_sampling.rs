//! The steady state is sampled on a fixed schedule: a probe slower than the interval does not
//! stretch the gap between samples (each sample is stamped with the time it started).

mod support;

use support::runner::{free_port, run_journaled};

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
