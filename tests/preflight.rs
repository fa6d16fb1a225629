//! `shakedown preflight FILE`: the quickstart is ready here (and nothing it started is left);
//! a file with a missing command, a port in use and an unreachable target is not ready, each
//! named in its own row; an address another process answers on where the experiment itself
//! means to listen is not taken for the experiment's own; an invalid file is exit 2.

mod support;

use support::runner::{free_port, shakedown};

/// Every row of the table: (ready, the check, the detail).
fn rows(stdout: &str) -> Vec<(bool, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix("ok  ")
                .map(|r| (true, r.trim().to_string()))
                .or_else(|| {
                    l.strip_prefix("FAIL")
                        .map(|r| (false, r.trim().to_string()))
                })
        })
        .collect()
}

/// `shakedown preflight` of an experiment file holding `text` (written in `dir`), which must
/// be not ready (exit 1): its outcome and its rows.
async fn not_ready(
    dir: &std::path::Path,
    text: &str,
) -> (support::runner::Ran, Vec<(bool, String)>) {
    let file = dir.join("experiment.yaml");
    std::fs::write(&file, text).unwrap();
    let ran = shakedown(&["preflight", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    let rows = rows(&ran.stdout);
    (ran, rows)
}

/// Whether a row failed the check `check` (its start) saying `why`.
fn failed(rows: &[(bool, String)], check: &str, why: &str) -> bool {
    rows.iter()
        .any(|(ok, r)| !ok && r.starts_with(check) && r.contains(why))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_is_ready_and_leaves_nothing_running() {
    let (port, proxy) = (free_port(), free_port());
    let ran = shakedown(&[
        "preflight",
        "experiments/quickstart.yaml",
        "--var",
        &format!("port={port}"),
        "--var",
        &format!("proxy_port={proxy}"),
    ])
    .await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let rows = rows(&ran.stdout);
    let checks: Vec<&str> = rows.iter().map(|(_, r)| r.as_str()).collect();
    for expected in [
        "command `shakedown`".to_string(),
        format!("port 127.0.0.1:{port} free (service kv listens)"),
        format!("port 127.0.0.1:{proxy} free (proxy kv listens)"),
        "service `kv` starts and is ready".into(),
        "proxies can be created".into(),
        format!("127.0.0.1:{port} reachable (upstream of proxy kv)"),
        format!("127.0.0.1:{proxy} reachable (the load's target)"),
        "probe `up` passes".into(),
    ] {
        assert!(
            checks.iter().any(|c| c.starts_with(&expected)),
            "no row `{expected}`:\n{}",
            ran.stdout
        );
    }
    assert!(rows.iter().all(|(ok, _)| *ok), "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains(&format!("ready: {} checks passed", rows.len()))
    );
    // Torn down: the service's and the proxy's ports are free again.
    for p in [port, proxy] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", p)).is_ok(),
            "port {p} still taken after preflight"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_command_a_port_in_use_and_an_unreachable_target_are_each_named() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let (nowhere, service_port) = (free_port(), free_port());
    let (ran, rows) = not_ready(
        dir.path(),
        &format!(
            r#"title: not ready
services:
  - {{name: db, command: [shakedown-no-such-program, --serve], ready: "tcp://127.0.0.1:{service_port}", ready_timeout: 2s}}
proxies:
  - {{name: kv, listen: "127.0.0.1:{taken_port}", upstream: "127.0.0.1:{nowhere}"}}
method:
  - {{at: 0s, for: 1s, action: {{hold_connections: {{target: "127.0.0.1:{nowhere}", count: 1}}}}}}
duration: 1s
"#
        ),
    )
    .await;
    let failed = |check: &str, why: &str| failed(&rows, check, why);
    assert!(
        failed(
            "command `shakedown-no-such-program`",
            "`shakedown-no-such-program` is not found in PATH"
        ),
        "{}",
        ran.stdout
    );
    assert!(
        failed(
            &format!("port 127.0.0.1:{taken_port} free (proxy kv listens)"),
            "in use"
        ),
        "{}",
        ran.stdout
    );
    assert!(
        failed(
            &format!("127.0.0.1:{nowhere} reachable (upstream of proxy kv)"),
            "refused"
        ),
        "{}",
        ran.stdout
    );
    assert!(
        failed(
            &format!(
                "127.0.0.1:{nowhere} reachable (target of `hold_connections 1 to 127.0.0.1:{nowhere}`)"
            ),
            "refused"
        ),
        "{}",
        ran.stdout
    );
    assert!(
        failed("service `db` starts and is ready", "cannot start"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("NOT READY: "), "{}", ran.stdout);
    // The resource fault needs no privilege: its row is ready.
    assert!(
        rows.iter()
            .any(|(ok, r)| *ok && r.starts_with("resource fault `hold_connections")),
        "{}",
        ran.stdout
    );
    drop(taken);
}

/// Before: the load's target (the proxy's own port, held by another process) and the proxy's
/// upstream (the service's own port, held by another process) read `ok`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_another_process_answers_on_is_not_the_experiments_own() {
    let dir = tempfile::tempdir().unwrap();
    // Both accept connections (the kernel completes the handshake) without being the experiment's.
    let (proxy_port_holder, service_port_holder) = (
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    );
    let proxy_port = proxy_port_holder.local_addr().unwrap().port();
    let service_port = service_port_holder.local_addr().unwrap().port();
    let (ran, rows) = not_ready(
        dir.path(),
        &format!(
            r#"title: someone else's ports
services:
  - {{name: db, command: [sleep, "30"], ready: "tcp://127.0.0.1:{service_port}", ready_timeout: 2s}}
proxies:
  - {{name: kv, listen: "127.0.0.1:{proxy_port}", upstream: "127.0.0.1:{service_port}"}}
load:
  target: http://127.0.0.1:{proxy_port}
  rate: 10/s
  scenarios:
    - {{request: {{method: GET, path: /}}}}
duration: 1s
"#
        ),
    )
    .await;
    let failed = |check: &str, why: &str| failed(&rows, check, why);
    for (check, why) in [
        (
            format!("port 127.0.0.1:{proxy_port} free (proxy kv listens)"),
            "in use".to_string(),
        ),
        (
            format!("127.0.0.1:{proxy_port} reachable (the load's target)"),
            "reachable, but the port is in use by another process: the experiment's own proxy kv \
             cannot bind it"
                .into(),
        ),
        (
            format!("127.0.0.1:{service_port} reachable (upstream of proxy kv)"),
            "the experiment's own service db cannot bind it".into(),
        ),
        (
            "service `db` starts and is ready".into(),
            "another process holds its address".into(),
        ),
    ] {
        assert!(
            failed(&check, &why),
            "no FAIL `{check}` … `{why}`:\n{}",
            ran.stdout
        );
    }
    drop((proxy_port_holder, service_port_holder));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_file_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "title: bad\nmethod:\n  - {at: 0s, for: 1s, action: {cpu_burn: {cores: 0}}}\nduration: 1s\n",
    )
    .unwrap();
    let ran = shakedown(&["preflight", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains(":3:")
            && ran
                .stderr
                .contains("method[0].action.cpu_burn.cores: 0 must be 1..1024"),
        "{}",
        ran.stderr
    );
}
