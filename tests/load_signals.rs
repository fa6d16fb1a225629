//! `shakedown load` as a process under real signals: SIGTERM, SIGHUP and SIGINT end the run
//! and an agent's `--linger` alike (exit 3, the summary and the JSON report written).

mod support;

use std::process::Output;

use support::load::TestServer;

fn text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Spawn `shakedown load ARGS…` with piped output.
fn spawn_load(args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("load")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("shakedown runs")
}

/// Wait (bounded) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn send(child: &tokio::process::Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id().expect("running") as i32);
    nix::sys::signal::kill(pid, signal).expect("kill");
}

/// SIGTERM and SIGHUP end a run as Ctrl-C does (docs/exit-codes.md): the run stops, the
/// summary and the `--json` report of what ran are written, exit 3. The same signals end an
/// agent's `--linger` (Kubernetes stops a pod with SIGTERM) with exit 3, long before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_stop_the_run_and_the_linger_with_exit_3_and_the_report() {
    use nix::sys::signal::Signal;
    let server = TestServer::start().await;
    let url = format!("{}/sig", server.url());
    let dir = tempfile::tempdir().unwrap();
    for signal in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGINT] {
        // Mid-run: a plain rate without a duration sends until a signal.
        let json = dir.path().join(format!("{signal}.json"));
        let json_arg = json.to_str().unwrap();
        let before = server.count("/sig");
        let child = spawn_load(&[&url, "--rate", "50/s", "--json", json_arg, "-q"]);
        until("requests arrive", || server.count("/sig") > before + 5).await;
        send(&child, signal);
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
                .await
                .expect("exits")
                .unwrap();
        assert_eq!(out.status.code(), Some(3), "{signal}: {}", text(&out));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert!(
            report["summary"]["requests"].as_u64().unwrap() > 0,
            "{report}"
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("requests"),
            "{}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&format!("interrupted by {signal}")),
            "{}",
            text(&out)
        );
        // An agent lingering for its report to be fetched.
        let json = dir.path().join(format!("{signal}-agent.json"));
        let json_arg = json.to_str().unwrap();
        let args = [
            &url,
            "--rate",
            "20/s",
            "--duration",
            "1s",
            "--json",
            json_arg,
            "-q",
        ];
        let linger = ["--serve", "127.0.0.1:0", "--linger", "5m"];
        let child = spawn_load(&[&args[..], &linger[..]].concat());
        // The report is written before the linger begins.
        until("the agent's report is written", || {
            std::fs::read(&json)
                .is_ok_and(|b| serde_json::from_slice::<serde_json::Value>(&b).is_ok())
        })
        .await;
        send(&child, signal);
        let out =
            tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
                .await
                .expect("exits long before --linger 5m")
                .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{signal} in linger: {}",
            text(&out)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("requests"),
            "{}",
            text(&out)
        );
    }
}
