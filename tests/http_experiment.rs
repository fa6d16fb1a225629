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
