//! Truth tests: the runner's measurements against targets whose behaviour is known.

mod support;

use std::time::Duration;

use support::runner::{SlowRecoverer, journal, shakedown};

/// A target that fails while a flag file exists and for exactly 1.5 s after it is removed:
/// the runner's recovery time from removal must be 1.5 s within one sampling interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_to_recover_matches_a_known_recovery_within_one_interval() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("fault");
    let recovery = Duration::from_millis(1500);
    let target = SlowRecoverer::start(flag.clone(), recovery).await;
    let file = dir.path().join("truth.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: recovery takes exactly 1.5s after the fault clears
steady_state:
  interval: 100ms
  recovered_after: 3
  probes:
    - {{name: health, http: {{url: "http://{addr}/health"}}, timeout: 500ms, expect: {{status: 200}}}}
method:
  - {{at: 1s, name: fault on, action: {{command: [touch, "{flag}"]}}, measure: true}}
  - {{at: 2s, name: fault off, action: {{command: [rm, "{flag}"]}}}}
duration: 3s
expect:
  recovered_within: 5s
"#,
            addr = target.addr,
            flag = flag.display()
        ),
    )
    .unwrap();
    let json = dir.path().join("out.json");
    let ran = shakedown(&[
        "run",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--quiet",
    ])
    .await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let doc = journal(&json);
    let run = &doc["experiments"][0]["runs"][0];
    let on = &run["steps"][0];
    let off = &run["steps"][1];
    let removed = off["removed_at"].as_f64().unwrap();
    let recovered = on["measurement"]["recovered_at"].as_f64().unwrap();
    let interval = 0.1;
    // Truth: healthy from (flag removed + 1.5 s). The flag is removed between the `rm`
    // action's start and end; the target stamps removal at its first request after it
    // (≤ one interval later), and the runner sees recovery at the next sample (≤ one
    // interval later). So recovered_at ∈ [removed + 1.5, removed + 1.5 + 2 intervals],
    // widened by 50 ms for scheduling on a busy 2-core machine.
    let truth = removed + recovery.as_secs_f64();
    assert!(
        recovered >= truth - 0.05 && recovered <= truth + 2.0 * interval + 0.05,
        "recovered at {recovered}, truth {truth}; journal: {run}"
    );
    // Detection: the first sample after `touch` fails, so TTD ≤ one interval (+ margin).
    let ttd = on["measurement"]["time_to_detect"].as_f64().unwrap();
    assert!(ttd <= interval + 0.05, "ttd {ttd}");
}
