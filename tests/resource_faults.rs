//! Resource faults against real processes: the CPU burn's duty cycle and the memory pressure's
//! resident set measured from /proc, and every resource fault lifted whatever ends the run
//! (passes, fails, Ctrl-C): no stress child left, no service left stopped, connections
//! closed; a cgroup limit where cgroup v2 cannot be written here is refused before anything
//! starts (exit 3, `not available here`).

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use support::runner::{Ending, alive, free_port, journal, spawn, until, wait};

/// Nanoseconds every thread of `pid` spent on a CPU and waiting for one (runnable), summed
/// from /proc/PID/task/*/schedstat.
fn scheduled(pid: u32) -> (f64, f64) {
    let mut total = (0.0, 0.0);
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        let f: Vec<f64> = text
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        total.0 += f[0] / 1e9;
        total.1 += f[1] / 1e9;
    }
    total
}

/// A process's state letter (`T`: stopped), `None` when it is gone.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// `shakedown stress ARGS`, once it said `ready`.
async fn stress(args: &[&str]) -> (tokio::process::Child, u32) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("stress")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut out = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), out.read_line(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line.trim(), "ready");
    (child, pid)
}

/// A 1-core burn at 50% wants the CPU half of the time: over 3 s, the time its threads were
/// on a CPU or waiting for one (/proc/PID/task/*/schedstat) is 0.3–0.7 of the wall time, and
/// the time on a CPU at most 0.7. (On a host with more runnable threads than cores, as this
/// one often is, the time on a CPU alone is the host's share, not the burn's duty cycle.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_load_cpu_burn_uses_about_half_a_core() {
    let (mut child, pid) = stress(&["cpu", "--cores", "1", "--load", "50", "--for", "8s"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ((on0, wait0), w0) = (scheduled(pid), Instant::now());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ((on1, wait1), w1) = (scheduled(pid), Instant::now());
    let wall = (w1 - w0).as_secs_f64();
    let (on, wanted) = ((on1 - on0) / wall, (on1 - on0 + wait1 - wait0) / wall);
    assert!(
        (0.3..=0.7).contains(&wanted),
        "a 50% burn was runnable {wanted:.2} of the time (on a CPU {on:.2})"
    );
    assert!(on <= 0.7, "a 50% burn used {on:.2} cores");
    let _ = child.kill().await;
}

/// A 64 MiB memory pressure is resident: its RSS is at least 64 MiB once it says ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_pressure_is_resident() {
    let (mut child, pid) = stress(&["memory", "--bytes", "67108864", "--for", "8s"]).await;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    assert!(rss_kib >= 64 * 1024, "RSS {rss_kib} KiB");
    let _ = child.kill().await;
}

/// The live stress children of the runner `pid` (their argv ends `--owner PID`).
fn stress_children(runner: u32) -> Vec<u32> {
    let marker = format!("--owner\0{runner}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
                && alive(pid)
        })
        .collect()
}

/// A demo-target service (its pid written to `pid`) and the four resource faults that need no
/// cgroup, held from 200 ms; then a command that passes or fails.
fn experiment(dir: &Path, ending: Ending) -> PathBuf {
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_shakedown");
    let (hold, last, duration) = match ending {
        Ending::Passes => ("1s", "[true]", "2s"),
        Ending::Fails => ("1s", "[\"false\"]", "2s"),
        Ending::Interrupted(_) | Ending::Killed => ("60s", "[true]", "61s"),
    };
    let at_last = if matches!(ending, Ending::Interrupted(_) | Ending::Killed) {
        "60s"
    } else {
        "1500ms"
    };
    let text = format!(
        r#"title: resource faults are lifted
services:
  - {{name: kv, command: [sh, -c, "echo $$ > {pid}; exec {bin} demo-target --listen 127.0.0.1:{port}"], ready: "tcp://127.0.0.1:{port}"}}
method:
  - {{at: 200ms, for: {hold}, action: {{cpu_burn: {{cores: 1, load: 20%}}}}}}
  - {{at: 200ms, for: {hold}, action: {{memory_pressure: {{bytes: 32MiB}}}}}}
  - {{at: 200ms, for: {hold}, action: {{hold_connections: {{service: kv, count: 10}}}}}}
  - {{at: 200ms, for: {hold}, action: {{pause: kv}}}}
  - {{at: {at_last}, action: {{command: {last}}}}}
duration: {duration}
"#,
        pid = dir.join("pid").display(),
    );
    let file = dir.join("exp.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

async fn resource_faults_are_lifted(ending: Ending) {
    let dir = tempfile::tempdir().unwrap();
    let file = experiment(dir.path(), ending);
    let json = dir.path().join("out.json");
    let runner = spawn(&[
        "run",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let runner_pid = runner.id().unwrap();
    let pid_file = dir.path().join("pid");
    let service = || {
        std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    // Every fault in place: the service stopped (paused) and the stress children running.
    let in_place = until(Duration::from_secs(30), async || {
        service().and_then(state) == Some('T') && stress_children(runner_pid).len() == 2
    })
    .await;
    assert!(
        in_place.is_some(),
        "{ending:?}: the faults were never all in place"
    );
    let expected = ending.end(runner_pid);
    let ran = wait(runner, Duration::from_secs(60)).await;
    assert_eq!(
        ran.code, expected,
        "{ending:?}\n{}\n{}",
        ran.stdout, ran.stderr
    );
    let service = service().unwrap();
    if matches!(ending, Ending::Killed) {
        // The kernel's parent-death signal ends the stress children; the watchdog resumes and
        // stops the paused service's group (SIGTERM, SIGCONT): a few seconds at most.
        let gone = until(Duration::from_secs(10), async || {
            stress_children(runner_pid).is_empty() && !alive(service)
        })
        .await;
        assert!(
            gone.is_some(),
            "after SIGKILL: stress children {:?}, service {service} state {:?}",
            stress_children(runner_pid),
            state(service)
        );
        return;
    }
    assert!(
        stress_children(runner_pid).is_empty(),
        "{ending:?}: stress children left: {:?}",
        stress_children(runner_pid)
    );
    assert!(
        !alive(service) || state(service) != Some('T'),
        "{ending:?}: the service {service} was left stopped"
    );
    let doc = journal(&json);
    let steps = doc["experiments"][0]["runs"][0]["steps"]
        .as_array()
        .unwrap()
        .clone();
    let detail = |i: usize| steps[i]["detail"].as_str().unwrap_or_default().to_string();
    for (i, step) in steps.iter().take(4).enumerate() {
        assert_eq!(step["kind"], "fault", "{ending:?}: {step}");
        assert_eq!(step["ok"], true, "{ending:?}: {step}");
        assert!(step["injected_at"].as_f64().unwrap() >= 0.2, "{step}");
        if !matches!(ending, Ending::Interrupted(_)) {
            // Lifted at the step's end (1.2 s planned), recorded on the run's clock.
            let removed = step["removed_at"].as_f64().unwrap();
            assert!(
                (1.2..5.0).contains(&removed),
                "step {i}: removed at {removed}"
            );
        }
    }
    assert!(detail(0).starts_with("1 thread busy"), "{}", detail(0));
    assert!(
        detail(1).starts_with("32 MiB allocated and touched"),
        "{}",
        detail(1)
    );
    assert!(
        detail(2).starts_with("held 10 of 10 connections to 127.0.0.1:"),
        "{}",
        detail(2)
    );
    assert!(detail(3).starts_with("SIGSTOP to `kv`"), "{}", detail(3));
    let cleanup = doc["experiments"][0]["runs"][0]["cleanup"].to_string();
    match ending {
        Ending::Interrupted(_) => {
            // Teardown lifted all four, the pause resumed among them.
            assert_eq!(cleanup.matches("lifted").count(), 4, "{cleanup}");
            assert!(cleanup.contains("SIGCONT to `kv`"), "{cleanup}");
        }
        _ => {
            assert!(detail(0).contains("CPU-seconds"), "{}", detail(0));
            assert!(
                detail(2).contains("closed 10 connection(s)"),
                "{}",
                detail(2)
            );
            assert!(detail(3).ends_with("; SIGCONT to `kv`"), "{}", detail(3));
            // The terminal summary shows each fault's window and what it did.
            assert!(ran.stdout.contains("pause kv"), "{}", ran.stdout);
            assert!(
                ran.stdout.contains("held 10 of 10 connections"),
                "{}",
                ran.stdout
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_faults_are_lifted_when_the_run_passes() {
    resource_faults_are_lifted(Ending::Passes).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_faults_are_lifted_when_the_run_fails() {
    resource_faults_are_lifted(Ending::Fails).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_faults_are_lifted_on_ctrl_c() {
    resource_faults_are_lifted(Ending::Interrupted("INT")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_runner_leaves_no_stress_child_and_no_stopped_service() {
    resource_faults_are_lifted(Ending::Killed).await;
}

/// `cpu_limit` and `memory_limit` on a host where cgroup v2 cannot take them (here: cpu and
/// memory are bound to cgroup v1) are refused before any service starts: exit 3, the reason
/// names the step and says `not available here`. Where cgroup v2 is writable, the run passes
/// and the limit is lifted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cgroup_limit_is_applied_or_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let started = dir.path().join("started");
    let file = dir.path().join("limit.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: cgroup limits
services:
  - {{name: kv, command: [sh, -c, "touch {started}; exec {bin} demo-target --listen 127.0.0.1:{port}"], ready: "tcp://127.0.0.1:{port}"}}
method:
  - {{at: 100ms, for: 500ms, action: {{cpu_limit: {{service: kv, cores: 0.5}}}}}}
  - {{at: 100ms, for: 500ms, action: {{memory_limit: {{service: kv, bytes: 256MiB}}}}}}
duration: 1s
"#,
            started = started.display(),
            bin = env!("CARGO_BIN_EXE_shakedown"),
        ),
    )
    .unwrap();
    let json = dir.path().join("out.json");
    let ran = wait(
        spawn(&[
            "run",
            file.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]),
        Duration::from_secs(60),
    )
    .await;
    let run = journal(&json)["experiments"][0]["runs"][0].clone();
    let v2_has_cpu = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .find(|l| l.contains(" - cgroup2 "))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
        .and_then(|m| std::fs::read_to_string(format!("{m}/cgroup.controllers")).ok())
        .is_some_and(|c| c.split_whitespace().any(|w| w == "cpu"));
    if v2_has_cpu && ran.code == 0 {
        let steps = run["steps"].as_array().unwrap();
        assert!(
            steps[0]["detail"].as_str().unwrap().contains("removed"),
            "{run}"
        );
        return;
    }
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    let reason = run["reason"].as_str().unwrap();
    assert!(
        reason.contains("cpu_limit kv to 0.5 cores: not available here: "),
        "{reason}"
    );
    assert!(
        reason.contains("memory_limit kv to 256 MiB: not available here: "),
        "{reason}"
    );
    assert!(!started.exists(), "the service started before the refusal");
}

/// The `method:` fragments of docs/resource-faults.md (the cgroup limits, which cannot run
/// here) validate once given a title, the service they name and a duration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_method_fragments_in_the_resource_faults_doc_validate() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/resource-faults.md"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fragments: Vec<&str> = doc
        .split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split_once("```").map(|(text, _)| text))
        .filter(|text| text.starts_with("method:"))
        .collect();
    assert!(!fragments.is_empty());
    for (i, fragment) in fragments.into_iter().enumerate() {
        let file = dir.path().join(format!("fragment-{i}.yaml"));
        std::fs::write(
            &file,
            format!(
                "title: fragment\nservices:\n  - {{name: kv, command: [sleep, \"60\"]}}\n{fragment}duration: 20s\n"
            ),
        )
        .unwrap();
        let ran = support::runner::shakedown(&["validate", file.to_str().unwrap()]).await;
        assert_eq!(ran.code, 0, "{fragment}\n{}", ran.stderr);
    }
}
