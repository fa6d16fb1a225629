//! Nothing is left behind: a run interrupted by SIGTERM or SIGINT mid-fault, or stopped by a
//! guard, removes its faults from an external `shakedown serve`, stops its services, runs its
//! rollbacks and exits 3; a runner killed with SIGKILL leaves a leased fault that expires and no service.

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::proxy::http;
use support::runner::{Ending, alive, free_port, journal, signal, spawn, until, wait};

/// An external `shakedown serve` on a free port, ready.
async fn serve() -> (support::runner::Spawned, SocketAddr) {
    let port = free_port();
    let child = spawn(&["serve", "--port", &port.to_string()]);
    let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let up = until(Duration::from_secs(20), async || {
        tokio::net::TcpStream::connect(api).await.is_ok()
    })
    .await;
    assert!(up.is_some(), "shakedown serve did not start");
    (child, api)
}

/// The toxics of proxy `kv` (an empty list when the proxy is gone too).
async fn toxics(api: SocketAddr) -> Vec<Value> {
    let r = http(api, "GET", "/proxies/kv/toxics", None).await;
    if r.status == 404 {
        return Vec::new();
    }
    r.json().as_array().cloned().unwrap_or_default()
}

/// An experiment with a service (its pid written to `pid`), a proxy on `api` and one long
/// latency fault from 1 s; `extra` adds sections.
fn experiment(dir: &Path, api: SocketAddr, extra: &str) -> std::path::PathBuf {
    let (port, proxy) = (free_port(), free_port());
    let bin = env!("CARGO_BIN_EXE_shakedown");
    let text = format!(
        r#"title: cleanup
control: http://{api}
services:
  - {{name: kv, command: [sh, -c, "echo $$ > {pid}; exec {bin} demo-target --listen 127.0.0.1:{port}"], ready: "http://127.0.0.1:{port}/health"}}
proxies:
  - {{name: kv, listen: "127.0.0.1:{proxy}", upstream: "127.0.0.1:{port}"}}
steady_state:
  interval: 200ms
  probes:
    - {{name: up, http: {{url: "http://127.0.0.1:{proxy}/health"}}, timeout: 1s}}
method:
  - {{at: 1s, for: 60s, fault: {{proxy: kv, type: latency, attributes: {{latency: 20}}}}}}
duration: 61s
expect:
  recovered_within: 5s
rollbacks:
  - {{command: [touch, "{rolled}"]}}
{extra}"#,
        pid = dir.join("pid").display(),
        rolled = dir.join("rolled-back").display(),
    );
    let file = dir.join("exp.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

fn pid_of(dir: &Path) -> u32 {
    std::fs::read_to_string(dir.join("pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

async fn interrupted_mid_fault_cleans_up(sig: &'static str) {
    let dir = tempfile::tempdir().unwrap();
    let (_serve, api) = serve().await;
    let file = experiment(dir.path(), api, "");
    let json = dir.path().join("out.json");
    let runner = spawn(&[
        "run",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let injected = until(Duration::from_secs(30), async || {
        !toxics(api).await.is_empty()
    })
    .await;
    if injected.is_none() {
        let ran = wait(runner, Duration::from_secs(60)).await;
        panic!(
            "the fault was never injected:\n{}\n{}",
            ran.stdout, ran.stderr
        );
    }
    let service = pid_of(dir.path());
    assert!(alive(service));
    let expected = Ending::Interrupted(sig).end(runner.id().unwrap());
    let ran = wait(runner, Duration::from_secs(30)).await;
    assert_eq!(ran.code, expected, "{}\n{}", ran.stdout, ran.stderr);
    // Nothing left on the control server: no toxic, and the proxy the run created is gone.
    assert!(toxics(api).await.is_empty());
    assert_eq!(
        http(api, "GET", "/proxies", None).await.json(),
        serde_json::json!({})
    );
    assert!(!alive(service), "service {service} still runs");
    assert!(
        dir.path().join("rolled-back").exists(),
        "rollback did not run"
    );
    let doc = journal(&json);
    let run = &doc["experiments"][0]["runs"][0];
    assert_eq!(run["status"], "aborted");
    assert!(
        run["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("SIG{sig}")),
        "{run}"
    );
    assert_eq!(run["rollbacks"][0]["ok"], true);
    let cleanup = run["cleanup"].to_string();
    assert!(
        cleanup.contains("removed 1 fault(s) still in place"),
        "{cleanup}"
    );
    assert!(cleanup.contains("service `kv`"), "{cleanup}");
    // The recovery expectation was never evaluated; it is not reported as passed.
    let recovered = run["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"].as_str().unwrap().starts_with("recovered_within"))
        .unwrap();
    assert_eq!(
        (recovered["evaluated"].clone(), recovered["passed"].clone()),
        (false.into(), false.into())
    );
    assert!(
        ran.stdout.contains("--   recovered_within"),
        "{}",
        ran.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_fault_exits_3_and_leaves_nothing_behind() {
    interrupted_mid_fault_cleans_up("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_fault_exits_3_and_leaves_nothing_behind() {
    interrupted_mid_fault_cleans_up("INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guard_aborts_the_run_early_and_removes_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let (_serve, api) = serve().await;
    // The guard fails as soon as the 20 ms fault is in place (its bound is 1 ms) and for
    // 600 ms in a row aborts the run, long before the 60 s method would end.
    let file = experiment(
        dir.path(),
        api,
        "guards:\n  - {name: slow, command: [sh, -c, \"test ! -e GUARD || exit 1\"], for: 600ms}\n",
    );
    // The guard reads a flag the test sets once the fault is in (a command guard keeps the
    // test independent of latency measurements on a busy machine).
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("GUARD", &dir.path().join("guard").display().to_string());
    std::fs::write(&file, text).unwrap();
    let json = dir.path().join("out.json");
    let started = tokio::time::Instant::now();
    let runner = spawn(&[
        "run",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let injected = until(Duration::from_secs(30), async || {
        !toxics(api).await.is_empty()
    })
    .await;
    assert!(injected.is_some(), "the fault was never injected");
    let service = pid_of(dir.path());
    std::fs::write(dir.path().join("guard"), "").unwrap();
    let ran = wait(runner, Duration::from_secs(30)).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    // Aborted early: well before the 60 s method (generous for a loaded machine).
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    assert!(toxics(api).await.is_empty());
    assert!(!alive(service));
    let doc = journal(&json);
    let run = &doc["experiments"][0]["runs"][0];
    assert_eq!(run["status"], "aborted", "{run}");
    assert!(
        run["guard"]
            .as_str()
            .unwrap()
            .contains("guard `slow` failed"),
        "{run}"
    );
    assert!(
        ran.stdout.contains("verdict: ABORTED: guard `slow`"),
        "{}",
        ran.stdout
    );
    assert!(dir.path().join("rolled-back").exists());
    // Durations are rounded for people (`failed for 0.60 s`), not `0.600063773s`.
    let guard = run["guard"].as_str().unwrap();
    let secs = guard
        .split_once("failed for ")
        .and_then(|(_, rest)| rest.split_once(" s ("))
        .map(|(n, _)| n);
    assert!(
        secs.is_some_and(|n| n.len() == n.find('.').unwrap_or(0) + 3),
        "{guard}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runner_killed_with_sigkill_leaves_a_leased_fault_that_expires_and_no_service() {
    let dir = tempfile::tempdir().unwrap();
    let (_serve, api) = serve().await;
    // The runner can run no cleanup of its own: the lease removes the fault, and the
    // kernel's parent-death signal (SIGTERM) stops the service it started.
    let file = experiment(dir.path(), api, "");
    let runner = spawn(&["run", file.to_str().unwrap()]);
    let injected = until(Duration::from_secs(30), async || {
        !toxics(api).await.is_empty()
    })
    .await;
    assert!(injected.is_some(), "the fault was never injected");
    let leased = toxics(api).await;
    assert_eq!(leased[0]["lease_ms"], 3000, "{leased:?}");
    // Let a renewal or two happen, then kill the runner outright.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(toxics(api).await.len(), 1, "renewed, still in place");
    signal(runner.id().unwrap(), "KILL");
    let ran = wait(runner, Duration::from_secs(10)).await;
    assert_eq!(ran.code, -1, "killed by a signal");
    // The lease is 3 s from the last renewal (at most 1 s before the kill): gone within 3 s;
    // 2 s of margin for polling and a busy 2-core machine.
    let gone = until(Duration::from_secs(5), async || {
        toxics(api).await.is_empty()
    })
    .await;
    let gone = gone.expect("the leased toxic expired");
    assert!(gone <= Duration::from_secs(5), "{gone:?}");
    // SIGTERM reaches the service at once; demo-target drains in well under 5 s.
    let service = pid_of(dir.path());
    let stopped = until(Duration::from_secs(5), async || !alive(service)).await;
    assert!(
        stopped.is_some(),
        "service {service} outlived its SIGKILLed runner"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_mid_fault_exits_3_and_leaves_nothing_behind() {
    interrupted_mid_fault_cleans_up("HUP").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigquit_mid_fault_exits_3_and_leaves_nothing_behind() {
    interrupted_mid_fault_cleans_up("QUIT").await;
}

/// SIGUSR1 (like SIGUSR2 and SIGALRM) ends a process by default: unhandled, it skipped the
/// teardown (exit 138, rollbacks not run) although the docs say only SIGKILL does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigusr1_mid_fault_exits_3_and_leaves_nothing_behind() {
    interrupted_mid_fault_cleans_up("USR1").await;
}

/// The live processes whose command line contains `marker` (zombies excluded).
fn processes_with(marker: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(marker))
                && alive(pid)
        })
        .collect()
}

/// A service `sh -c "sleep MARKER; true"` (the shell and its `sleep` in one group) and a
/// command action that leaves a `sleep` running in the background: after the run ends in
/// `ending`, no process of either is left.
async fn no_child_of_a_service_outlives_the_run(ending: Ending) {
    let dir = tempfile::tempdir().unwrap();
    // A unique sleep length marks this test's processes.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let (service_mark, action_mark) = (format!("3000.{nanos}"), format!("3001.{nanos}"));
    let (last, duration) = match ending {
        Ending::Passes => ("[true]", "2s"),
        Ending::Fails => ("[\"false\"]", "2s"),
        Ending::Interrupted(_) | Ending::Killed => ("[true]", "60s"),
    };
    let file = dir.path().join("forks.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: a service and an action that fork
services:
  - {{name: forks, command: [sh, -c, "sleep {service_mark}; true"], stop_timeout: 2s}}
method:
  - {{at: 200ms, action: {{command: [sh, -c, "sleep {action_mark} >/dev/null 2>&1 &"]}}}}
  - {{at: 1s, action: {{command: {last}}}}}
duration: {duration}
"#
        ),
    )
    .unwrap();
    let runner = spawn(&["run", file.to_str().unwrap()]);
    let started = until(Duration::from_secs(30), async || {
        !processes_with(&service_mark).is_empty()
    })
    .await;
    assert!(started.is_some(), "the service's sleep never ran");
    if matches!(ending, Ending::Interrupted(_) | Ending::Killed) {
        // Past the action, so that its leftover is gone too.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let expected = ending.end(runner.id().unwrap());
    let ran = wait(runner, Duration::from_secs(60)).await;
    assert_eq!(
        ran.code, expected,
        "{ending:?}\n{}\n{}",
        ran.stdout, ran.stderr
    );
    // After SIGKILL the watchdog stops the group (SIGTERM at once): a few seconds at most.
    let gone = until(Duration::from_secs(10), async || {
        processes_with(&service_mark).is_empty() && processes_with(&action_mark).is_empty()
    })
    .await;
    assert!(
        gone.is_some(),
        "{ending:?}: left running: service {:?}, action {:?}",
        processes_with(&service_mark),
        processes_with(&action_mark)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_child_of_a_service_outlives_a_passing_run() {
    no_child_of_a_service_outlives_the_run(Ending::Passes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_child_of_a_service_outlives_a_failing_run() {
    no_child_of_a_service_outlives_the_run(Ending::Fails).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_child_of_a_service_outlives_sigint() {
    no_child_of_a_service_outlives_the_run(Ending::Interrupted("INT")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_child_of_a_service_outlives_sigterm() {
    no_child_of_a_service_outlives_the_run(Ending::Interrupted("TERM")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_child_of_a_service_outlives_a_sigkilled_runner() {
    no_child_of_a_service_outlives_the_run(Ending::Killed).await;
}

/// The `shakedown-*` folders in `tmp`.
fn run_folders(tmp: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("shakedown-"))
        })
        .collect()
}

/// `shakedown ARGS` with `tmp` as its temporary folder.
async fn run_with_tmpdir(tmp: &Path, args: &[&str]) -> support::runner::Ran {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .env("TMPDIR", tmp)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("finished within a minute")
        .unwrap();
    support::runner::Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run folders (issue 8, item 17): a passing run, a failing run with nothing to keep and an
/// invalid file leave no `shakedown-*` folder; a failing run with service logs keeps exactly
/// the folder its output names, and that folder holds the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_run_folder_the_output_names_is_left_and_it_exists() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        f.display().to_string()
    };
    let service = r#"services:
  - {name: talker, command: [sh, -c, "echo hello from the service; exec sleep 30"]}
"#;
    let passing = file(
        "pass.yaml",
        &format!(
            "title: passes\n{service}method:\n  - {{at: 0s, action: {{command: [\"true\"]}}}}\nduration: 500ms\n"
        ),
    );
    let failing = file(
        "fail.yaml",
        &format!(
            "title: fails\n{service}method:\n  - {{at: 0s, action: {{command: [\"false\"]}}}}\nduration: 500ms\n"
        ),
    );
    let failing_bare = file(
        "bare.yaml",
        "title: fails with nothing to keep\nmethod:\n  - {at: 0s, action: {command: [\"false\"]}}\nduration: 500ms\n",
    );
    let invalid = file("invalid.yaml", "title: invalid\nduration: soon\n");
    for (f, code) in [(&passing, 0), (&failing_bare, 1), (&invalid, 2)] {
        let tmp = tempfile::tempdir().unwrap();
        let ran = run_with_tmpdir(tmp.path(), &["run", f]).await;
        assert_eq!(ran.code, code, "{f}: {}{}", ran.stdout, ran.stderr);
        assert_eq!(
            run_folders(tmp.path()),
            Vec::<std::path::PathBuf>::new(),
            "{f}"
        );
        assert!(!ran.stderr.contains("kept"), "{f}: {}", ran.stderr);
        assert!(
            !ran.stderr.contains("shakedown-"),
            "{f} names a folder: {}",
            ran.stderr
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let ran = run_with_tmpdir(tmp.path(), &["run", &failing]).await;
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    let left = run_folders(tmp.path());
    assert_eq!(left.len(), 1, "{left:?}");
    let kept = &left[0];
    let told = format!(
        "run 1/1: files kept in {} (service logs in {})",
        kept.display(),
        kept.join("logs").display()
    );
    assert!(ran.stderr.contains(&told), "{told:?} not in {}", ran.stderr);
    let log = std::fs::read_to_string(kept.join("logs/talker.log")).unwrap();
    assert_eq!(log, "hello from the service\n");
}

/// Service logs are text (issue 8, item 21): the demo target's log lines, written to a file,
/// carry no ANSI escape codes, and neither does the runner's own log on a pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_logs_and_the_runners_log_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_shakedown");
    let f = dir.path().join("colour.yaml");
    std::fs::write(
        &f,
        format!(
            r#"title: fails, keeping the demo target's log
services:
  - {{name: kv, command: [{bin}, demo-target, --listen, "127.0.0.1:{port}"], ready: "http://127.0.0.1:{port}/health"}}
method:
  - {{at: 0s, action: {{command: ["false"]}}}}
duration: 500ms
"#
        ),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(bin)
        .args(["run", f.to_str().unwrap()])
        .env("TMPDIR", tmp.path())
        .env("RUST_LOG", "shakedown=info")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !out.stderr.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let kept = &run_folders(tmp.path())[0];
    let log = std::fs::read(kept.join("logs/kv.log")).unwrap();
    let text = String::from_utf8_lossy(&log);
    assert!(text.contains("demo-target seed"), "{text}");
    assert!(
        !log.contains(&0x1b),
        "escape codes in the service log: {text:?}"
    );
}
