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

/// `GET path` on `addr` with a fresh connection: the status code and the body.
async fn get(addr: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).await.unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_served_agent_answers_its_live_seconds() {
    use tokio::io::AsyncBufReadExt;
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("a.json");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(["load", &server.url(), "--rate", "200/s", "--duration", "3s"])
        .args(["--segment", "1/2", "--serve", "127.0.0.1:0", "-q", "--json"])
        .arg(&json)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next_line().await.unwrap().expect("the serving line");
        if let Some(rest) = line.strip_prefix("serving live intervals on http://") {
            break rest.trim_end_matches("/intervals").to_string();
        }
    };
    // Poll until second 0 is well over (2 s into the run).
    let live = loop {
        let (status, body) = get(&addr, "/intervals?from=0").await;
        assert_eq!(status, 200, "{body}");
        let live: shakedown::load::LiveIntervals = serde_json::from_str(&body).unwrap();
        if live.elapsed >= Duration::from_secs(2) {
            break live;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(live.segment.map(|s| s.to_string()), Some("1/2".into()));
    assert!(!live.finished);
    let first = &live.seconds[0];
    assert_eq!(first.second, 0);
    let hist = shakedown::load::from_base64(&first.latency).unwrap();
    assert_eq!(hist.len(), first.requests);
    assert_eq!(get(&addr, "/intervals?from=x").await.0, 400);
    assert_eq!(get(&addr, "/nope").await.0, 404);
    assert!(child.wait().await.unwrap().success());
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    // Second 0 of the 200/s plan holds 200 slots; this agent's half is 100, as served live.
    assert_eq!(report["timeline"][0]["requests"], 100);
    assert_eq!(first.requests, 100);
    // A bad address is invalid input, and nothing is sent.
    let before = server.state.requests.load(Ordering::SeqCst);
    let out = shakedown_load(
        &[
            &server.url(),
            "--rate",
            "10/s",
            "--duration",
            "1s",
            "--serve",
            "256.0.0.1:1",
        ],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--serve"), "{}", text(&out));
    assert_eq!(server.state.requests.load(Ordering::SeqCst), before);
}
