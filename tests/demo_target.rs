//! `shakedown demo-target` end to end: the real binary on loopback, real
//! HTTP, real SIGKILL/SIGTERM, and the documentation checked against it.

mod support;

use std::net::TcpListener;
use std::time::Duration;

use support::demo::{Curl, DemoTarget, binary, blocks, doc, long_flags, section, serve_ok, words};
use tokio::time::Instant;

#[test]
fn kv_round_trip_and_liveness() {
    let demo = DemoTarget::start(&[]);
    let health = demo.get("/health");
    assert_eq!(
        (health.status, health.json()),
        (200, serde_json::json!({"status": "ok"}))
    );
    assert_eq!(demo.get("/ready").status, 200);

    let value = "héllo, wörld {\"not\": json}\n  with spaces";
    let put = demo.request("PUT", "/kv/greeting", value);
    assert_eq!(put.status, 200);
    assert_eq!(
        put.json(),
        serde_json::json!({"key": "greeting", "version": 1})
    );
    assert_eq!(demo.put("greeting", "again"), 2);
    assert_eq!(demo.get("/kv/greeting").body, "again");
    demo.put("other", value);
    assert_eq!(
        demo.get("/kv/other").body,
        value,
        "GET returns the exact stored body"
    );

    assert_eq!(demo.request("DELETE", "/kv/greeting", "").status, 204);
    assert_eq!(demo.get("/kv/greeting").status, 404);
    assert_eq!(demo.get("/kv/never").status, 404);
    assert_eq!(demo.request("POST", "/kv/x", "v").status, 405);
    assert_eq!(demo.get("/nowhere").status, 404);

    let stats = demo.stats();
    // Memory only: 4 writes acknowledged, none persisted, none pending.
    assert_eq!(stats["acknowledged"], 4);
    assert_eq!(stats["flushed"], 0);
    assert_eq!(stats["pending"], 0);
    assert_eq!(stats["keys"], 1);
    assert_eq!(stats["breaker_state"], "disabled");
}

#[test]
fn default_mode_kill9_loses_nothing_acknowledged_and_skips_a_torn_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kv.log");
    let data = data.to_str().unwrap();
    let demo = DemoTarget::start(&["--data", data]);
    for i in 0..30 {
        demo.put(&format!("k{i}"), &format!("v{i}"));
    }
    demo.put("k0", "overwritten");
    assert_eq!(demo.request("DELETE", "/kv/k1", "").status, 204);
    let stats = demo.stats();
    assert_eq!(
        (stats["acknowledged"].as_u64(), stats["flushed"].as_u64()),
        (Some(32), Some(32))
    );
    demo.kill9();

    // A crash in the middle of an append leaves a torn last line.
    let mut log = std::fs::read(data).unwrap();
    log.extend_from_slice(br#"{"op":"put","key":"torn","val"#);
    std::fs::write(data, log).unwrap();

    let demo = DemoTarget::start(&["--data", data]);
    assert_eq!(demo.stats()["replayed"], 32);
    assert_eq!(demo.get("/kv/k0").body, "overwritten");
    assert_eq!(demo.get("/kv/k1").status, 404);
    for i in 2..30 {
        assert_eq!(demo.get(&format!("/kv/k{i}")).body, format!("v{i}"));
    }
    assert_eq!(demo.get("/kv/torn").status, 404);
    // Appends after the truncated tail start on a clean line.
    assert_eq!(demo.put("k0", "after"), 3);
    demo.kill9();
    let demo = DemoTarget::start(&["--data", data]);
    assert_eq!(demo.get("/kv/k0").body, "after");
}

#[test]
fn write_behind_kill9_loses_exactly_the_acknowledged_unflushed_writes() {
    const DELAY: Duration = Duration::from_secs(3);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kv.log");
    let data = data.to_str().unwrap();
    let demo = DemoTarget::start(&["--data", data, "--write-behind", "3s"]);
    for i in 0..10 {
        demo.put(&format!("k{i}"), "v1");
    }
    // Phase 1: wait (bounded) until all ten are in the log.
    let deadline = Instant::now() + DELAY + Duration::from_secs(15);
    while demo.stats()["pending"] != 0 {
        assert!(Instant::now() < deadline, "write-behind never flushed");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(demo.stats()["flushed"], 10);

    // Phase 2: eleven more acknowledged writes, then kill -9 before any is due.
    let started = Instant::now();
    for i in 5..10 {
        assert_eq!(demo.put(&format!("k{i}"), "v2"), 2);
    }
    for i in 0..5 {
        demo.put(&format!("n{i}"), "new");
    }
    assert_eq!(demo.request("DELETE", "/kv/k0", "").status, 204);
    let stats = demo.stats();
    assert_eq!(
        (stats["acknowledged"].as_u64(), stats["pending"].as_u64()),
        (Some(21), Some(11))
    );
    demo.kill9();
    // A phase-2 write is flushed no earlier than DELAY after its ack, which
    // came after `started`; so if the kill happened within DELAY of `started`
    // none of them can be on disk. Eleven loopback requests take milliseconds;
    // 3 s leaves room for a very busy machine, and this assert says so if not.
    assert!(
        started.elapsed() < DELAY,
        "phase 2 took {:?}",
        started.elapsed()
    );

    let demo = DemoTarget::start(&["--data", data]);
    assert_eq!(
        demo.stats()["replayed"],
        10,
        "exactly the flushed writes survive"
    );
    for i in 0..10 {
        let survivor = demo.get(&format!("/kv/k{i}"));
        assert_eq!(
            (survivor.status, survivor.body.as_str()),
            (200, "v1"),
            "k{i}"
        );
    }
    for i in 0..5 {
        assert_eq!(demo.get(&format!("/kv/n{i}")).status, 404, "n{i} was lost");
    }
}

#[test]
fn write_behind_graceful_stop_loses_nothing() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("kv.log");
        let data = data.to_str().unwrap();
        // A minute-long delay: nothing is flushed before the signal.
        let demo = DemoTarget::start(&["--data", data, "--write-behind", "60s"]);
        for i in 0..20 {
            demo.put(&format!("k{i}"), &format!("v{i}"));
        }
        assert_eq!(demo.request("DELETE", "/kv/k3", "").status, 204);
        assert_eq!(demo.stats()["pending"], 21);
        let status = demo.stop(signal);
        assert_eq!(status.code(), Some(0), "SIG{signal} is a clean stop");

        let demo = DemoTarget::start(&["--data", data]);
        assert_eq!(demo.stats()["replayed"], 21, "SIG{signal}");
        assert_eq!(demo.get("/kv/k3").status, 404);
        for i in (0..20).filter(|i| *i != 3) {
            assert_eq!(demo.get(&format!("/kv/k{i}")).body, format!("v{i}"));
        }
    }
}

#[test]
fn breaker_opens_after_threshold_fails_fast_then_recovers_after_cooldown() {
    const TIMEOUT: Duration = Duration::from_secs(1);
    const COOLDOWN: Duration = Duration::from_secs(4);
    let backend = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", backend.local_addr().unwrap());
    let demo = DemoTarget::start(&[
        "--backend",
        &url,
        "--backend-timeout",
        "1s",
        "--breaker-threshold",
        "3",
        "--breaker-cooldown",
        "4s",
    ]);
    assert_eq!(demo.stats()["breaker_state"], "closed");

    let mut tripped_at = Instant::now();
    for _ in 0..3 {
        tripped_at = Instant::now();
        let quote = demo.get("/api/quote");
        assert_eq!(quote.status, 504, "{}", quote.body);
        // Causal lower bound: the hung backend is only given up on at the timeout.
        assert!(tripped_at.elapsed() >= TIMEOUT);
    }
    // Open: 503 at once, without calling the backend. "At once" is checked
    // against half the backend timeout, far above a loopback round trip even
    // on a loaded machine, and far below what a backend call would cost.
    let started = Instant::now();
    let rejected = demo.get("/api/quote");
    assert!(
        started.elapsed() < TIMEOUT / 2,
        "503 took {:?}",
        started.elapsed()
    );
    assert_eq!(rejected.status, 503);
    assert_eq!(
        rejected.json(),
        serde_json::json!({"error": "circuit open"})
    );
    let retry_after: u64 = rejected.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=4).contains(&retry_after), "retry-after {retry_after}");
    assert_eq!(demo.get("/ready").status, 503);
    assert_eq!(demo.get("/health").status, 200, "liveness is not readiness");
    let stats = demo.stats();
    assert_eq!(
        (
            stats["breaker_state"].as_str(),
            stats["breaker_opens"].as_u64()
        ),
        (Some("open"), Some(1))
    );
    assert_eq!(stats["quote_failed"], 3);

    // The backend comes back; the breaker only notices after its cooldown.
    serve_ok(backend);
    let deadline = tripped_at + TIMEOUT + COOLDOWN + Duration::from_secs(10);
    let recovered_at = loop {
        let quote = demo.get("/api/quote");
        if quote.status == 200 {
            break Instant::now();
        }
        assert_eq!(quote.status, 503, "while open nothing reaches the backend");
        assert!(
            Instant::now() < deadline,
            "no recovery by {:?} after the trip",
            deadline - tripped_at
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    // The breaker opened when the third call timed out (>= tripped_at + TIMEOUT),
    // so no trial can have happened before that plus the cooldown.
    let recovery = recovered_at - tripped_at;
    assert!(
        recovery >= TIMEOUT + COOLDOWN,
        "recovered after only {recovery:?}"
    );
    // Upper bound: cooldown + one 100 ms poll + scheduling; 3 s of slack for a busy machine.
    assert!(
        recovery < TIMEOUT + COOLDOWN + Duration::from_secs(3),
        "recovery took {recovery:?}"
    );
    let stats = demo.stats();
    assert_eq!(
        (
            stats["breaker_state"].as_str(),
            stats["breaker_opens"].as_u64()
        ),
        (Some("closed"), Some(1))
    );
    assert_eq!(demo.get("/ready").status, 200);
}

#[test]
fn latency_is_added_to_every_kv_request() {
    let demo = DemoTarget::start(&["--latency", "300ms", "--jitter", "100ms", "--seed", "7"]);
    for path in ["/kv/a", "/kv/b"] {
        let started = Instant::now();
        assert_eq!(demo.request("PUT", path, "v").status, 200);
        // Causal lower bound: the service time is slept before answering.
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}

#[test]
fn bad_flags_are_invalid_input_exit_2() {
    for args in [
        &["--breaker-threshold", "0"][..],
        &["--backend", "ftp://127.0.0.1:1"],
        &["--write-behind", "1s"],
        &["--backend-timeout", "soon"],
    ] {
        let out = std::process::Command::new(binary())
            .arg("demo-target")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} must not start listening");
    }
}

#[test]
fn port_in_use_or_corrupt_log_is_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("kv.log");
    std::fs::write(&corrupt, "garbage\n{\"op\":\"delete\",\"key\":\"a\"}\n").unwrap();
    let running = DemoTarget::start(&[]);
    let taken = running.addr.to_string();
    let corrupt = corrupt.to_str().unwrap();
    for (args, says) in [
        (
            vec!["--listen", "127.0.0.1:0", "--data", corrupt],
            "kv.log:1: corrupt log record",
        ),
        (vec!["--listen", &taken], "cannot bind"),
    ] {
        let out = std::process::Command::new(binary())
            .arg("demo-target")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} must not report listening");
    }
}

// ---- docs/demo-target.md is checked against the binary ----

#[test]
fn doc_lists_exactly_the_flags_of_help() {
    let help = std::process::Command::new(binary())
        .args(["demo-target", "--help"])
        .output()
        .unwrap();
    let help = long_flags(&String::from_utf8(help.stdout).unwrap());
    let doc = doc();
    // The Flags table lists exactly the flags of --help.
    let table = section(&doc, "Flags");
    let row = regex::Regex::new(r"(?m)^\| `(--[a-z-]+)").unwrap();
    let mut documented: std::collections::BTreeSet<String> =
        row.captures_iter(table).map(|c| c[1].to_owned()).collect();
    documented.insert("--help".into());
    // And every flag the prose mentions (outside curl's session) exists.
    let prose: String = doc
        .split("```console")
        .enumerate()
        .map(|(i, part)| match i {
            0 => part,
            _ => part.split_once("```").map_or("", |(_, after)| after),
        })
        .collect();
    let unknown: Vec<_> = long_flags(&prose)
        .into_iter()
        .filter(|f| !help.contains(f))
        .collect();
    assert!(
        unknown.is_empty(),
        "flags in the doc but not in --help: {unknown:?}"
    );
    assert_eq!(documented, help, "docs/demo-target.md flags vs --help");
}

#[test]
fn doc_command_lines_start_and_stop_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kv.log");
    let mut started = 0;
    for line in blocks(&doc(), "sh").iter().flat_map(|b| b.lines()) {
        let mut args = words(line);
        assert_eq!(
            args.first().map(String::as_str),
            Some("shakedown"),
            "{line}"
        );
        args.remove(0);
        // Run on a free port and a temporary log instead of the documented ones.
        if let Some(i) = args.iter().position(|a| a == "--listen") {
            args.drain(i..i + 2);
        }
        if let Some(i) = args.iter().position(|a| a == "--data") {
            args[i + 1] = data.to_str().unwrap().to_owned();
        }
        args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let demo = DemoTarget::start_raw(&args);
        assert_eq!(demo.get("/health").status, 200, "{line}");
        assert_eq!(demo.stop("TERM").code(), Some(0), "{line}");
        started += 1;
    }
    assert_eq!(started, 5, "every documented command line was tried");
}

#[test]
fn doc_console_session_replays_exactly() {
    let doc = doc();
    let session = blocks(&doc, "console").pop().expect("a console session");
    let demo = DemoTarget::start(&[]);
    let mut exercised = Vec::new();
    let mut lines = session.lines().peekable();
    while let Some(line) = lines.next() {
        let command = line.strip_prefix("$ curl ").expect("a `$ curl` line");
        let Curl {
            method,
            path,
            body,
            status_only,
        } = Curl::parse(command);
        let mut expected = Vec::new();
        while let Some(out) = lines.next_if(|l| !l.starts_with("$ ")) {
            expected.push(out);
        }
        let response = demo.request(&method, &path, &body);
        let actual = if status_only {
            response.status.to_string()
        } else {
            response.body
        };
        assert_eq!(actual, expected.join("\n"), "{line}");
        exercised.push(format!("{method} {path}"));
    }
    // Every endpoint in the table is exercised by the session.
    let section = section(&doc, "Endpoints");
    let row = regex::Regex::new(r"(?m)^\| `([A-Z]+ /[^`]*)`").unwrap();
    let endpoints: Vec<&str> = row
        .captures_iter(section)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(endpoints.len(), 7);
    for endpoint in endpoints {
        let pattern = format!("^{}$", endpoint.replace("{key}", "[^/]+"));
        let pattern = regex::Regex::new(&pattern).unwrap();
        assert!(
            exercised.iter().any(|e| pattern.is_match(e)),
            "{endpoint} not in the session"
        );
    }
}
