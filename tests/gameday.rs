//! `shakedown gameday` as a real process: it starts an experiment's services and proxies and
//! serves the console; SIGINT, SIGTERM or SIGHUP removes every fault, runs the rollbacks, stops
//! the services and writes the journal (Markdown and JSON), leaving nothing behind. A bad file
//! or journal path exits 2 and starts nothing.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::proxy::http;
use support::runner::{alive, free_port, signal, spawn, until, wait};

/// An experiment with a service (its pid written to `pid`), a proxy, a small load and a probe.
fn experiment(dir: &Path, service: u16, proxy: u16) -> PathBuf {
    let bin = env!("CARGO_BIN_EXE_shakedown");
    let text = format!(
        r#"title: game day
services:
  - {{name: kv, command: [sh, -c, "echo $$ > {pid}; exec {bin} demo-target --listen 127.0.0.1:{service}"], ready: "http://127.0.0.1:{service}/health"}}
proxies:
  - {{name: kv, listen: "127.0.0.1:{proxy}", upstream: "127.0.0.1:{service}"}}
load:
  target: http://127.0.0.1:{proxy}
  rate: 20/s
  duration: 1s
  scenarios:
    - {{write: {{method: PUT, path: "/kv/{{{{seq}}}}", body: x}}, read_back: {{method: GET, path: "/kv/{{{{seq}}}}"}}}}
steady_state:
  interval: 200ms
  probes:
    - {{name: up, http: {{url: "http://127.0.0.1:{proxy}/health"}}, timeout: 1s}}
    - {{name: fast, load: p50, window: 1s, below: 80ms}}
method:
  - {{at: 0s, for: 1s, fault: {{proxy: kv, type: latency, attributes: {{latency: 20}}}}}}
duration: 1s
rollbacks:
  - {{command: [touch, "{rolled}"]}}
"#,
        pid = dir.join("pid").display(),
        rolled = dir.join("rolled-back").display(),
    );
    let file = dir.join("exp.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

async fn connects(addr: SocketAddr) -> bool {
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

async fn ends_cleanly_on(sig: &str) {
    let Day {
        gameday,
        api,
        proxy: proxy_addr,
        service,
        dir,
    } = start().await;
    let md = dir.path().join("day.md");
    let page = http(api, "GET", "/ui", None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Clear all faults"));
    let added = http(
        api,
        "POST",
        "/proxies/kv/toxics",
        Some(r#"{"type":"latency","attributes":{"latency":50}}"#),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    // The method is not run: its step would have come and gone; only the people's toxic is there.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let toxics = http(api, "GET", "/proxies/kv/toxics", None).await.json();
    assert_eq!(toxics.as_array().map(Vec::len), Some(1), "{toxics}");
    // The load runs past its 1 s duration: the service still gets writes through the proxy.
    let stats = support::demo::request(service, "GET", "/stats", "");
    let pid: u32 = std::fs::read_to_string(dir.path().join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(pid));
    signal(gameday.id().unwrap(), sig);
    let ran = wait(gameday, Duration::from_secs(30)).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let json = dir.path().join("day.json");
    let lines: Vec<&str> = ran.stdout.lines().collect();
    assert!(
        lines.contains(&format!("SIG{sig}: ending the game day").as_str()),
        "{}",
        ran.stdout
    );
    assert!(
        lines.contains(&"removed 1 fault(s): kv/latency_downstream"),
        "{}",
        ran.stdout
    );
    assert_eq!(
        lines.last().copied(),
        Some(format!("journal written to {} and {}", md.display(), json.display()).as_str())
    );
    assert!(md.is_file() && json.is_file());
    assert!(
        dir.path().join("rolled-back").exists(),
        "the rollback did not run"
    );
    assert!(!alive(pid), "service {pid} still runs");
    assert!(!connects(proxy_addr).await, "the proxy still listens");
    assert!(!connects(api).await, "the API still listens");
    // 20 writes a second: a load that stopped at its 1 s duration would have made about 20.
    let writes = stats.json()["acknowledged"].as_u64();
    assert!(writes.is_some_and(|n| n >= 30), "{}", stats.body);
}

/// The events of `GET /events` read for `span`: (name, data) in order.
async fn stream_for(api: SocketAddr, span: Duration) -> Vec<(String, Value)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(api).await.unwrap();
    let req = format!("GET /events HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(span, s.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw).replace("\r\n", "\n");
    let mut out = Vec::new();
    let mut name = String::new();
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("event: ") {
            name = n.to_string();
        } else if let Some(d) = line.strip_prefix("data: ")
            && let Ok(v) = serde_json::from_str(d)
        {
            out.push((std::mem::take(&mut name), v));
        }
    }
    out
}

/// A started game day of [`experiment`].
struct Day {
    gameday: support::runner::Spawned,
    api: SocketAddr,
    proxy: SocketAddr,
    service: SocketAddr,
    dir: tempfile::TempDir,
}

/// Start a game day of [`experiment`] on free ports (journal to `day.md`), ready.
async fn start() -> Day {
    let dir = tempfile::tempdir().unwrap();
    let addr = |port: u16| -> SocketAddr { format!("127.0.0.1:{port}").parse().unwrap() };
    let (port, service, proxy) = (free_port(), free_port(), free_port());
    let file = experiment(dir.path(), service, proxy);
    let md = dir.path().join("day.md");
    let gameday = spawn(&[
        "gameday",
        "--experiment",
        file.to_str().unwrap(),
        "--port",
        &port.to_string(),
        "--journal",
        md.to_str().unwrap(),
    ]);
    let (api, proxy, service) = (addr(port), addr(proxy), addr(service));
    let ready = until(Duration::from_secs(30), async || {
        connects(api).await && connects(proxy).await
    })
    .await;
    if ready.is_none() {
        let ran = wait(gameday, Duration::from_secs(30)).await;
        panic!(
            "the game day did not start:\n{}\n{}",
            ran.stdout, ran.stderr
        );
    }
    Day {
        gameday,
        api,
        proxy,
        service,
        dir,
    }
}

/// The load's figures on the stream are true (20 requests a second; p50 under a 200 ms
/// latency toxic at least 200 ms, before it far less); probe strips come with every sample,
/// and each probe's change is journaled once.
#[tokio::test]
async fn the_stream_carries_true_load_figures_probe_strips_and_the_journal_probe_changes() {
    let Day {
        gameday,
        api,
        dir: _dir,
        ..
    } = start().await;
    let reading = tokio::spawn(stream_for(api, Duration::from_secs(7)));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let added = http(
        api,
        "POST",
        "/proxies/kv/toxics",
        Some(r#"{"type":"latency","attributes":{"latency":200}}"#),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let events = reading.await.unwrap();
    let journal = http(api, "GET", "/journal.json", None).await.json();
    signal(gameday.id().unwrap(), "TERM");
    let ran = wait(gameday, Duration::from_secs(30)).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);

    let entries = journal["events"].as_array().unwrap();
    let injected = entries
        .iter()
        .find(|e| e["kind"] == "toxic_added")
        .expect("the toxic is journaled")["t"]
        .as_f64()
        .unwrap();
    let loads: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "load")
        .map(|(_, d)| d)
        .collect();
    assert!(loads.len() >= 4, "{events:?}");
    let t = |d: &Value| d["t"].as_f64().unwrap();
    let p50 = |d: &Value| d["p50_ms"].as_f64().unwrap_or(f64::NAN);
    // Whole seconds before the toxic: about 20 requests a second, fast.
    for d in loads.iter().filter(|d| t(d) < injected && t(d) > 1.5) {
        let rps = d["rps"].as_f64().unwrap();
        assert!((10.0..=30.0).contains(&rps), "{d}");
        assert!(p50(d) < 80.0, "{d}");
    }
    // Two seconds after it, every request waits for the toxic.
    let after: Vec<_> = loads.iter().filter(|d| t(d) > injected + 2.0).collect();
    assert!(!after.is_empty(), "{loads:?}");
    for d in after {
        assert!(p50(d) >= 200.0 && p50(d) < 1000.0, "{d}");
    }
    let strips: Vec<&Value> = events
        .iter()
        .filter(|(n, _)| n == "probe")
        .map(|(_, d)| d)
        .collect();
    assert!(strips.len() >= 10, "a strip every 200 ms: {strips:?}");
    let up = &strips[0]["probes"][0];
    assert_eq!(
        (&up["name"], &up["pass"]),
        (&Value::from("up"), &Value::from(true))
    );
    let fast = |d: &Value| d["probes"][1]["pass"].as_bool().unwrap();
    assert!(!fast(strips.last().unwrap()), "{strips:?}");
    // Only changes are journaled: fails and passes alternate (a busy start may fail first),
    // and the last is the toxic's.
    let changes: Vec<&Value> = entries.iter().filter(|e| e["kind"] == "probe").collect();
    let texts: Vec<&str> = changes
        .iter()
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    for (i, text) in texts.iter().rev().enumerate() {
        let expected = if i % 2 == 0 {
            "probe `fast` fails: p50 "
        } else {
            "probe `fast` passes again: p50 "
        };
        assert!(text.starts_with(expected), "{texts:?}");
    }
    let last = changes.last().expect("the toxic fails the fast probe");
    assert!(last["t"].as_f64().unwrap() > injected, "{texts:?}");
    assert_eq!(last["detail"]["pass"], false);
}

#[tokio::test]
async fn sigint_ends_the_game_day_leaving_nothing_behind() {
    ends_cleanly_on("INT").await;
}

#[tokio::test]
async fn sigterm_ends_the_game_day_leaving_nothing_behind() {
    ends_cleanly_on("TERM").await;
}

#[tokio::test]
async fn sighup_ends_the_game_day_leaving_nothing_behind() {
    ends_cleanly_on("HUP").await;
}

#[tokio::test]
async fn a_bad_experiment_or_journal_path_exits_2_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "title: bad\nproxies: 3\n").unwrap();
    let good = experiment(dir.path(), free_port(), free_port());
    let cases = [
        vec!["--experiment".to_string(), bad.display().to_string()],
        vec![
            "--experiment".to_string(),
            good.display().to_string(),
            "--journal".to_string(),
            dir.path().join("missing/day.md").display().to_string(),
        ],
    ];
    for args in cases {
        let port = free_port();
        let mut argv = vec!["gameday", "--port"];
        let port_text = port.to_string();
        argv.push(&port_text);
        argv.extend(args.iter().map(String::as_str));
        let ran = wait(spawn(&argv), Duration::from_secs(30)).await;
        assert_eq!(ran.code, 2, "{args:?}\n{}\n{}", ran.stdout, ran.stderr);
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
        assert!(!dir.path().join("pid").exists(), "a service started");
    }
}

/// `serve` has no console (only `gameday` serves `/ui`), and SIGHUP ends it cleanly too.
#[tokio::test]
async fn serve_has_no_console_and_ends_cleanly_on_sighup() {
    let port = free_port();
    let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let serve = spawn(&["serve", "--port", &port.to_string()]);
    assert!(
        until(Duration::from_secs(30), async || connects(api).await)
            .await
            .is_some()
    );
    assert_eq!(http(api, "GET", "/ui", None).await.status, 404);
    signal(serve.id().unwrap(), "HUP");
    let ran = wait(serve, Duration::from_secs(30)).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(!connects(api).await);
}

/// docs/gameday.md's synopsis names exactly the flags of `gameday --help`, and its prose no other.
#[test]
fn the_doc_names_exactly_the_flags_of_help() {
    use support::demo::{long_flags, section};
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(["gameday", "--help"])
        .output()
        .unwrap();
    let mut help = long_flags(&String::from_utf8(help.stdout).unwrap());
    help.remove("--help");
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/gameday.md")).unwrap();
    let synopsis = section(&doc, "The command")
        .split("```")
        .nth(1)
        .expect("the synopsis block");
    assert_eq!(
        long_flags(synopsis),
        help,
        "docs/gameday.md synopsis vs --help"
    );
    let before_terminal = doc.split("\n## From the terminal\n").next().unwrap();
    let unknown: Vec<_> = long_flags(before_terminal)
        .into_iter()
        .filter(|f| !help.contains(f))
        .collect();
    assert!(
        unknown.is_empty(),
        "flags in the doc but not in --help: {unknown:?}"
    );
}

/// A signal while a service is still starting ends the game day at once: the service is
/// stopped, nothing listens, exit 3 (aborted).
#[tokio::test]
async fn a_signal_during_the_start_stops_what_was_started() {
    let dir = tempfile::tempdir().unwrap();
    let (port, never) = (free_port(), free_port());
    let file = dir.path().join("slow.yaml");
    let pid_file = dir.path().join("pid");
    std::fs::write(
        &file,
        format!(
            "title: never ready\nduration: 1s\nservices:\n  - {{name: slow, command: [sh, -c, \"echo $$ > {}; exec sleep 60\"], ready: \"http://127.0.0.1:{never}/health\"}}\n",
            pid_file.display()
        ),
    )
    .unwrap();
    let gameday = spawn(&[
        "gameday",
        "--experiment",
        file.to_str().unwrap(),
        "--port",
        &port.to_string(),
        "--journal",
        dir.path().join("day.md").to_str().unwrap(),
    ]);
    let started = until(Duration::from_secs(30), async || {
        std::fs::read_to_string(&pid_file).is_ok_and(|p| p.ends_with('\n'))
    })
    .await;
    assert!(started.is_some(), "the service never started");
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    signal(gameday.id().unwrap(), "TERM");
    let ran = wait(gameday, Duration::from_secs(30)).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr
            .contains("SIGTERM while the game day was starting"),
        "{}",
        ran.stderr
    );
    let gone = until(Duration::from_secs(10), async || !alive(pid)).await;
    assert!(gone.is_some(), "service {pid} still runs");
    let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(!connects(api).await);
}
