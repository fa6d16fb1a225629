//! `shakedown load --segment I/N` as processes: N agents on loopback send exactly the one
//! plan (keyed writes with globally unique keys, closed-model users split), `--start-at`
//! and the bad inputs of both flags.

mod support;

use std::process::Output;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use support::load::{TestServer, shakedown_load};

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An instant `ahead` from now, as `--start-at` takes it.
fn instant_in(ahead: Duration) -> String {
    humantime::format_rfc3339_millis(SystemTime::now() + ahead).to_string()
}

/// Run one `shakedown load` per argument list, all at once.
async fn agents(runs: Vec<Vec<String>>) -> Vec<Output> {
    let handles: Vec<_> = runs
        .into_iter()
        .map(|args| {
            tokio::spawn(async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                shakedown_load(&args, Duration::from_secs(60)).await
            })
        })
        .collect();
    let mut outs = Vec::new();
    for h in handles {
        outs.push(h.await.expect("agent task"));
    }
    outs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_agents_write_the_plans_keys_once_each_from_one_start_instant() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("writes.yaml");
    std::fs::write(
        &file,
        "scenarios:\n  - write: {method: PUT, path: \"/kv/{{seq}}\", body: \"v{{seq}}\"}\n    read_back: {method: GET, path: \"/kv/{{seq}}\"}\n",
    )
    .unwrap();
    let start = instant_in(Duration::from_secs(2));
    let runs = (0..3)
        .map(|i| {
            let json = dir.path().join(format!("a{i}.json"));
            vec![
                server.url(),
                "--scenario".into(),
                file.display().to_string(),
                "--rate".into(),
                "200/s".into(),
                "--duration".into(),
                "1s".into(),
                "--segment".into(),
                format!("{i}/3"),
                "--start-at".into(),
                start.clone(),
                "--json".into(),
                json.display().to_string(),
                "-q".into(),
            ]
        })
        .collect();
    let outs = agents(runs).await;
    let mut planned = 0;
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out.status.code(), Some(0), "agent {i}: {}", text(out));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join(format!("a{i}.json"))).unwrap())
                .unwrap();
        // 200 slots split 67, 67, 66.
        let share = if i < 2 { 67 } else { 66 };
        assert_eq!(report["summary"]["planned"], share, "agent {i}");
        assert_eq!(report["writes"]["lost"], 0, "agent {i}");
        planned += report["summary"]["planned"].as_u64().unwrap();
    }
    assert_eq!(planned, 200);
    // Every key 0..200 written exactly once across the agents.
    let mut keys: Vec<u64> = server
        .state
        .kv
        .lock()
        .unwrap()
        .keys()
        .map(|k| k.parse().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, (0..200).collect::<Vec<_>>());
    assert_eq!(server.state.writes.load(Ordering::SeqCst), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_model_agents_run_users_i_i_plus_n() {
    let server = TestServer::start().await;
    let runs = (0..2)
        .map(|i| {
            vec![
                format!("{}/u/{{{{user}}}}", server.url()),
                "--users".into(),
                "5".into(),
                "--requests-per-user".into(),
                "3".into(),
                "--threads".into(),
                (i + 1).to_string(),
                "--segment".into(),
                format!("{i}/2"),
                "-q".into(),
            ]
        })
        .collect();
    for out in agents(runs).await {
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    for user in 0..5 {
        assert_eq!(server.count(&format!("/u/{user}")), 3, "user {user}");
    }
    assert_eq!(server.count("/u/5"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_segments_and_start_instants_are_invalid_input() {
    let server = TestServer::start().await;
    let url = server.url();
    let base = [url.as_str(), "--rate", "10/s", "--duration", "1s"];
    let past = humantime::format_rfc3339(SystemTime::now() - Duration::from_secs(5)).to_string();
    let cases: [(&[&str], &str); 6] = [
        (&["--segment", "4/4"], "invalid segment"),
        (&["--segment", "1/0"], "invalid segment"),
        (&["--segment", "a/b"], "invalid segment"),
        (&["--start-at", "tomorrow"], "--start-at"),
        (&["--start-at", &past], "start_at"),
        (&["--poisson", "--segment", "0/2"], "need a seed"),
    ];
    for (extra, says) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = shakedown_load(&args, Duration::from_secs(30)).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{extra:?}: {}", text(&out));
    }
    assert_eq!(server.state.requests.load(Ordering::SeqCst), 0);
    // An interval log that cannot be created, and one refused with the run: nothing sent,
    // nothing left behind.
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("no/such/dir/x.hlog").display().to_string();
    let kept = dir.path().join("refused.hlog");
    let refused = kept.display().to_string();
    let cases: [(&[&str], &str); 2] = [
        (&["--hlog", &nowhere], "--hlog"),
        (&["--hlog", &refused, "--start-at", &past], "start_at"),
    ];
    for (extra, says) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = shakedown_load(&args, Duration::from_secs(30)).await;
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{extra:?}: {}", text(&out));
    }
    assert!(!kept.exists());
    assert_eq!(server.state.requests.load(Ordering::SeqCst), 0);
    // In a scenario file: the file, line and field.
    let file = dir.path().join("load.yaml");
    std::fs::write(&file, "rate: 10/s\nduration: 1s\nsegment: \"3/3\"\n").unwrap();
    let out = shakedown_load(
        &[&url, "--scenario", &file.display().to_string()],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("load.yaml:3"), "{err}");
    assert!(err.contains("invalid segment"), "{err}");
}
