//! experiments/breaker-on-503.yaml: an HTTP toxic in a method step finds a real behaviour of the
//! demo target: its breaker opens on backend 503s and outlives the fault by its cooldown.

mod support;

use std::path::Path;

use support::runner::run_journaled;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_breaker_opens_on_injected_503s_and_recovers_after_its_cooldown() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("breaker-on-503.yaml");
    std::fs::copy(Path::new("experiments/breaker-on-503.yaml"), &file).unwrap();
    let (ran, doc) = run_journaled(&file).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let step = &doc["experiments"][0]["runs"][0]["steps"][0];
    assert_eq!(step["kind"], "fault", "{step}");
    let m = &step["measurement"];
    // Detected: 503s from the backend make /api/quote fail at once (502), then the breaker's 503.
    assert!(m["time_to_detect"].as_f64().unwrap() < 1.0, "{m}");
    // The backend is healthy the moment the toxic goes; the quote API is not: it waits out the
    // 3 s cooldown that began when the breaker opened (3 failed probes, ~0.4 s in), so it
    // recovers about 1.4 s after the removal, never at once.
    let after_removal = m["recovery_from_removal"].as_f64().unwrap();
    assert!((0.5..5.0).contains(&after_removal), "{m}");
}

/// A fault step under load counts the load's failures while it was in effect, injected ones
/// (an `http_abort`, marked) apart from the target's own 500s, in the journal and the terminal
/// summary. Ground truth: an aborted request never reaches the upstream, so the injected count
/// is the load's requests minus the upstream's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_counts_injected_failures_apart_from_the_targets_own() {
    let up = support::http::Upstream::start().await;
    let port = support::runner::free_port();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("counts.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: injected and upstream failures are counted apart
seed: 7
proxies:
  - {{name: web, listen: "127.0.0.1:{port}", upstream: "{up}", protocol: http}}
load:
  target: http://127.0.0.1:{port}
  rate: 100/s
  scenarios:
    - {{weight: 3, request: {{method: GET, path: /ok}}}}
    - {{weight: 1, request: {{method: GET, path: /status/500}}}}
steady_state:
  probes:
    - {{name: up, command: ["true"]}}
method:
  - {{at: 1s, for: 2s, fault: {{proxy: web, type: http_abort, toxicity: 0.5, attributes: {{status: 503, path: /ok}}}}}}
duration: 4s
"#,
            up = up.addr
        ),
    )
    .unwrap();
    let (ran, doc) = run_journaled(&file).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let run = &doc["experiments"][0]["runs"][0];
    let load = &run["load"];
    let requests = load["summary"]["requests"].as_u64().unwrap();
    let injected_total = load["errors_by_class"]["injected"].as_u64().unwrap();
    assert_eq!(injected_total, requests - up.requests(), "{load}");
    let f = &run["steps"][0]["load_failures"];
    let (injected, upstream, in_window) = (
        f["injected"].as_u64().unwrap(),
        f["upstream"].as_u64().unwrap(),
        f["requests"].as_u64().unwrap(),
    );
    // Every abort happened while the step was in effect: all of them are the step's.
    assert_eq!(injected, injected_total, "{f}");
    // About half of the ~150 /ok requests of the 2 s (3 s with the window's edges).
    assert!((50..=230).contains(&injected), "{f}");
    // The target's own 500s: a quarter of the requests, never counted as injected.
    assert!(upstream > 0 && upstream <= load["errors_by_class"]["http_5xx"].as_u64().unwrap());
    assert!(
        injected + upstream < in_window && in_window < requests,
        "{f}"
    );
    assert!(
        ran.stdout.contains(&format!(
            "load while in effect: {in_window} requests, {injected} injected failures, {upstream} upstream failures"
        )),
        "{}",
        ran.stdout
    );
}
