//! Truth tests: the runner's measurements against targets whose behaviour is known.

mod support;

use std::time::Duration;

use support::runner::{Forgetful, SlowRecoverer, free_port, run_journaled};

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
    let (ran, doc) = run_journaled(&file).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
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
    // Detection: the first sample started after `touch` fails, so TTD ≤ one interval, plus
    // up to one more when the sample in flight at `touch` overran its interval (seen at load
    // average 10: 0.1995 s), plus 50 ms for scheduling.
    let ttd = on["measurement"]["time_to_detect"].as_f64().unwrap();
    assert!(ttd <= 2.0 * interval + 0.05, "ttd {ttd}");
}

/// A store that forgets exactly the writes it acknowledged in the last 300 ms when a flag
/// appears (it records which): the runner's lost count and keys must match that set exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_writes_match_a_known_drop_set_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("crash");
    let window = Duration::from_millis(300);
    let store = Forgetful::start(flag.clone(), window).await;
    let file = dir.path().join("drop.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: the runner counts exactly the writes the store forgot
load:
  target: http://{addr}
  rate: 100/s
  scenarios:
    - {{write: {{method: PUT, path: "/kv/{{{{seq}}}}", body: "{{{{uuid}}}}"}}, read_back: {{path: "/kv/{{{{seq}}}}"}}}}
method:
  - {{at: 2s, name: crash, action: {{command: [touch, "{flag}"]}}}}
duration: 3s
expect:
  lost_writes: 0
"#,
            addr = store.addr,
            flag = flag.display()
        ),
    )
    .unwrap();
    let (ran, doc) = run_journaled(&file).await;
    let truth = store.dropped();
    // The store crashed at its first request after the flag, under 100 writes/s: ~30 writes.
    assert!(truth.len() >= 10, "drop set {truth:?}");
    assert_eq!(
        ran.code, 1,
        "lost writes fail the expectation\n{}",
        ran.stdout
    );
    let w = &doc["experiments"][0]["runs"][0]["writes"];
    let lost: Vec<String> = w["lost_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(lost, truth, "journal writes: {w}");
    assert_eq!(w["lost"].as_u64().unwrap(), truth.len() as u64);
    assert_eq!(w["unexpected"], 0);
    assert_eq!(w["unknown"], 0, "{w}");
    // Observed RPO: the forgotten writes were acknowledged within the last 300 ms, so their
    // span is below it and above it minus a few gaps between writes (10 ms at 100/s), widened
    // by 100 ms for client-side timestamps on a busy 2-core machine.
    let rpo = w["observed_rpo"].as_f64().unwrap();
    assert!((0.2..=0.4).contains(&rpo), "rpo {rpo}: {w}");
    let expectation = &doc["experiments"][0]["runs"][0]["expectations"][0];
    assert_eq!(
        expectation["observed"],
        format!("{} lost, {} over", truth.len(), truth.len())
    );
}

/// The real demo target in write-behind mode killed with SIGKILL: every key the runner calls
/// lost is absent from the target's log (the durable truth), and the log holds exactly the
/// acknowledged writes that were not lost (plus, at most, writes whose answer never arrived).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_target_kill_9_losses_agree_with_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kv.data");
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_shakedown");
    let file = dir.path().join("wb.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: write-behind under kill -9
services:
  - {{name: kv, command: [{bin}, demo-target, --listen, "127.0.0.1:{port}", --data, "{data}", --write-behind, 400ms], ready: "http://127.0.0.1:{port}/health"}}
load:
  target: http://127.0.0.1:{port}
  rate: 100/s
  scenarios:
    - {{write: {{method: PUT, path: "/kv/{{{{seq}}}}", body: "{{{{uuid}}}}"}}, read_back: {{path: "/kv/{{{{seq}}}}"}}}}
method:
  - {{at: 2s, name: kill -9, action: {{kill: kv, signal: KILL}}}}
  - {{at: 2500ms, action: {{start: kv}}}}
duration: 4s
"#,
            data = data.display()
        ),
    )
    .unwrap();
    let (ran, doc) = run_journaled(&file).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let w = &doc["experiments"][0]["runs"][0]["writes"];
    let log = std::fs::read_to_string(&data).unwrap();
    let durable: std::collections::BTreeSet<String> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|r| r["key"].as_str().map(|k| format!("/kv/{k}")))
        .collect();
    let lost = w["lost_keys"].as_array().unwrap();
    assert!(lost.len() >= 10, "{w}");
    for k in lost {
        assert!(!durable.contains(k.as_str().unwrap()), "{k} is in the log");
    }
    let (acked, n_lost, unknown) = (
        w["acknowledged"].as_u64().unwrap(),
        w["lost"].as_u64().unwrap(),
        w["unknown"].as_u64().unwrap(),
    );
    let d = durable.len() as u64;
    assert!(
        acked - n_lost <= d && d <= acked - n_lost + unknown,
        "log holds {d} keys; acknowledged {acked}, lost {n_lost}, unknown {unknown}"
    );
}

/// Harmless, adjacent and overlapping steps against a target that fails exactly while a flag
/// file exists: each breach is charged to the step that caused it, never to an earlier
/// harmless fault or to one still in place around it (issue 8, item 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_breach_is_charged_to_the_step_that_caused_it() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("fault");
    let target = SlowRecoverer::start(flag.clone(), Duration::ZERO).await;
    let file = dir.path().join("attribution.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: breaches belong to the steps that caused them
proxies:
  - {{name: t, listen: "127.0.0.1:{port}", upstream: "{addr}"}}
steady_state:
  interval: 100ms
  recovered_after: 3
  probes:
    - {{name: health, http: {{url: "http://127.0.0.1:{port}/health"}}, timeout: 500ms}}
method:
  - {{at: 500ms, for: 1s, name: harmless, fault: {{proxy: t, type: noop}}}}
  - {{at: 2s, name: break 1, action: {{command: [touch, "{flag}"]}}, measure: true}}
  - {{at: 2500ms, name: mend 1, action: {{command: [rm, "{flag}"]}}}}
  - {{at: 3s, for: 2s, name: umbrella, fault: {{proxy: t, type: noop}}}}
  - {{at: 3500ms, name: break 2, action: {{command: [touch, "{flag}"]}}, measure: true}}
  - {{at: 4s, name: mend 2, action: {{command: [rm, "{flag}"]}}}}
duration: 6s
expect:
  recovered_within: 1s
"#,
            port = free_port(),
            addr = target.addr,
            flag = flag.display()
        ),
    )
    .unwrap();
    let (ran, doc) = run_journaled(&file).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let run = &doc["experiments"][0]["runs"][0];
    let step = |name: &str| {
        run["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
            .clone()
    };
    for harmless in ["harmless", "umbrella"] {
        let m = &step(harmless)["measurement"];
        assert!(m["detected_at"].is_null(), "{harmless}: {m}");
        assert_eq!(step(harmless)["recovered_in_time"], true);
    }
    let interval = 0.1;
    for (brk, mend) in [("break 1", "mend 1"), ("break 2", "mend 2")] {
        let (b, m) = (step(brk), step(mend));
        // Truth: failing from the end of `touch` to the end of `rm`; seen by the first sample
        // started after each (≤ one interval, one more when the sample in flight overran),
        // widened by 50 ms for a busy 2-core machine.
        let ttd = b["measurement"]["time_to_detect"].as_f64().unwrap();
        assert!(ttd <= 2.0 * interval + 0.05, "{brk}: ttd {ttd}");
        let recovered = b["measurement"]["recovered_at"].as_f64().unwrap();
        let (from, to) = (
            m["injected_at"].as_f64().unwrap(),
            m["removed_at"].as_f64().unwrap(),
        );
        // A sample is stamped when it starts; its request may land just after `rm` has run,
        // so the first passing stamp can precede the mend's confirmation by up to one sample's
        // flight (at most one interval here).
        assert!(
            recovered >= from - interval && recovered <= to + interval + 0.05,
            "{brk}: recovered at {recovered}, flag removed during {from}..{to}"
        );
    }
    let mttr = &doc["experiments"][0]["mttr"];
    assert_eq!(
        mttr["n"], 2,
        "only the two breaks recovered from something: {mttr}"
    );
}
