//! The resource sampler against real processes with known use (fixtures/resource_target.py):
//! CPU of a busy and an idle child, RSS of a child that touched 100 MB, descriptors of one that
//! opened 50 files, a process that exits, a name; and, through `shakedown run`, a growth probe
//! that catches a 2 MB/s leak within 20%, passes a steady process, says "not enough samples" for
//! a too-short window, and `--csv` files with their headers and one row per sample.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use shakedown::resource::{Presence, ProcessSample, Query, Sampler};

/// The tests of this file one at a time: a spinning child would starve another test's sampler
/// of the ticks it counts on.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/resource_target.py");

/// A fixture child, killed when dropped.
struct Target(Child);

impl Target {
    /// Start `resource_target.py ARGS` and wait for its `ready` line.
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new("python3")
            .arg(FIXTURE)
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "{args:?}");
        Target(child)
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// CPU time of `pid` (user + system) from `/proc/PID/stat`: the ground truth.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which ends at the last `)`): utime is the 12th, stime 13th.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // In clock ticks of USER_HZ, which Linux fixes at 100 for what /proc reports.
    Duration::from_millis(ticks * 10)
}

/// A child spinning one core shows the CPU share the kernel gave it (more than half a core on
/// an idle machine; on a loaded 2-core machine a spinner gets less, so the truth is read from
/// `/proc/PID/stat` over the same time) within 15 points or 30%; a sleeping one less than 10%;
/// one that touched 100 MB has an RSS of 100 MB ± 30%; one that opened 50 files holds 50
/// descriptors plus its 3 standard ones (±3).
#[test]
fn cpu_rss_and_descriptors_of_known_children() {
    let _one = serial();
    let busy = Target::start(&["spin"]);
    let idle = Target::start(&["idle"]);
    let hold = Target::start(&["hold", "100000000"]);
    let files = Target::start(&["files", "50"]);
    let queries: Vec<Query> = [&busy, &idle, &hold, &files]
        .iter()
        .map(|t| Query::Pids(vec![t.pid()]))
        .collect();
    // The truth's window brackets the sampler's: from before its first reading to after its last.
    let (started, spent) = (tokio::time::Instant::now(), cpu_time(busy.pid()));
    let mut sampler = Sampler::new().expect("this system can be read");
    std::thread::sleep(Duration::from_secs(2));
    let got = sampler.processes(Duration::from_secs(2), &queries);
    let truth =
        (cpu_time(busy.pid()) - spent).as_secs_f64() / started.elapsed().as_secs_f64() * 100.0;
    let samples: Vec<&ProcessSample> = got
        .iter()
        .map(|(presence, s)| {
            assert!(matches!(presence, Presence::Running { .. }), "{presence:?}");
            s.as_ref().unwrap()
        })
        .collect();
    let (busy, idle, hold, files) = (samples[0], samples[1], samples[2], samples[3]);
    let margin = (truth * 0.3).max(15.0);
    eprintln!(
        "busy child: {:.1}% measured, {truth:.1}% by /proc/PID/stat",
        busy.cpu_percent
    );
    assert!(
        (busy.cpu_percent - truth).abs() <= margin,
        "busy child: {:.1}% measured, {truth:.1}% by /proc/PID/stat",
        busy.cpu_percent
    );
    assert!(idle.cpu_percent < 10.0, "idle child: {idle:?}");
    let mb = hold.rss_bytes as f64 / 1e6;
    assert!((70.0..=130.0).contains(&mb), "100 MB child: {mb} MB");
    let fds = files.fds.unwrap();
    assert!((50..=56).contains(&fds), "50 files open: {fds} descriptors");
    assert!(idle.fds.unwrap() <= 6, "idle child: {idle:?}");
    assert!(busy.threads >= 1 && files.tcp.as_ref().unwrap().is_empty());
}

/// A process that exits is recorded as gone, not as an error; a name finds its processes.
#[test]
fn an_exited_process_is_gone_and_a_name_finds_its_process() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    // A unique program name (the kernel's `comm`): a link to sleep.
    let name = format!("sdk-{}", std::process::id() % 100_000);
    let link = dir.path().join(&name);
    std::os::unix::fs::symlink("/bin/sleep", &link).unwrap();
    let mut named = Command::new(&link).arg("30").spawn().unwrap();
    let mut short = Command::new("sleep").arg("30").spawn().unwrap();
    let short_pid = short.id();
    std::thread::sleep(Duration::from_millis(200));
    let queries = [Query::Name(name.clone()), Query::Pids(vec![short_pid])];
    let mut sampler = Sampler::new().unwrap();
    let got = sampler.processes(Duration::ZERO, &queries);
    assert_eq!(
        got[0].0,
        Presence::Running {
            pids: vec![named.id()]
        },
        "{name}"
    );
    assert!(matches!(got[1].0, Presence::Running { .. }));
    short.kill().unwrap();
    short.wait().unwrap();
    let got = sampler.processes(Duration::from_secs(1), &queries);
    assert_eq!(got[1], (Presence::Gone, None));
    assert!(got[0].1.is_some());
    named.kill().unwrap();
    named.wait().unwrap();
}

/// The growth probes' final details, by probe name.
fn last_details(run: &Value) -> Vec<(String, String, String)> {
    let last = run["samples"].as_array().unwrap().last().unwrap().clone();
    last["probes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["probe"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
                p["detail"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `rss growth 2.01 MB/s ± …` → 2.01e6 (bytes per second).
fn slope_of(detail: &str) -> f64 {
    let rest = detail
        .strip_prefix("rss growth ")
        .unwrap_or_else(|| panic!("{detail}"));
    let mut words = rest.split(' ');
    let value: f64 = words.next().unwrap().parse().unwrap();
    let factor = match words.next().unwrap() {
        "B/s" => 1.0,
        "kB/s" => 1e3,
        "MB/s" => 1e6,
        other => panic!("unit {other} in {detail}"),
    };
    value * factor
}

/// A process leaking 2 MB/s is caught by a growth probe with a slope within 20% of that; a
/// steady one is not (the window, 4 s, ends a run of 9 s: a loaded machine takes seconds to
/// start python, whose RSS jumps meanwhile); a window too short for 8 samples says so. `--watch-pid` adds a process,
/// and `--csv` writes one file per series with a header and a row per sample.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// Held on purpose: the whole test runs alone (each test has its own runtime; none waits on another).
#[allow(clippy::await_holding_lock)]
async fn growth_probes_catch_a_leak_and_csv_has_every_sample() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let outsider = Target::start(&["idle"]);
    let file = dir.path().join("leak.yaml");
    std::fs::write(
        &file,
        format!(
            "title: a 2 MB/s leak is caught, a steady process is not
services:
  - {{name: leaky, command: [python3, {FIXTURE}, leak, \"2000000\"]}}
  - {{name: steady, command: [python3, {FIXTURE}, hold, \"20000000\"]}}
watch: {{interval: 250ms}}
steady_state:
  interval: 250ms
  probes:
    - {{name: leak, resource: rss, service: leaky, growth: below 1MB/s, window: 4s}}
    - {{name: flat, resource: rss, service: steady, growth: below 1MB/s, window: 4s}}
    - {{name: short, resource: rss, service: steady, growth: below 1MB/s, window: 1s}}
    - {{name: size, resource: rss, service: steady, below: 500MB}}
duration: 9s
"
        ),
    )
    .unwrap();
    let csv = dir.path().join("csv");
    let json = dir.path().join("run.json");
    let ran = support::runner::shakedown(&[
        "run",
        file.to_str().unwrap(),
        "-q",
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
        "--watch-pid",
        &outsider.pid().to_string(),
    ])
    .await;
    let doc = support::runner::journal(&json);
    let run = &doc["experiments"][0]["runs"][0];
    let details = last_details(run);
    // The leak fails the steady state: exit 1.
    assert_eq!(ran.code, 1, "{}\n{}\n{details:?}", ran.stdout, ran.stderr);
    let by = |name: &str| details.iter().find(|d| d.0 == name).unwrap().clone();
    let (_, status, detail) = by("leak");
    assert_eq!(status, "fail", "{detail}");
    let slope = slope_of(&detail);
    assert!((1.6e6..=2.4e6).contains(&slope), "{detail}");
    let (_, status, detail) = by("flat");
    assert_eq!(status, "pass", "{detail}");
    assert!(slope_of(&detail).abs() < 0.2e6, "{detail}");
    let (_, status, detail) = by("short");
    assert_eq!(status, "error", "{detail}");
    // 1 s at 250 ms holds 5 samples (fewer when a loaded machine skipped a tick).
    let n: usize = detail
        .strip_prefix("not enough samples (")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{detail}"));
    assert!(
        (2..=5).contains(&n) && detail.contains(" of 8)"),
        "{detail}"
    );
    assert_eq!(by("size").1, "pass");
    assert!(ran.stdout.contains("service leaky"), "{}", ran.stdout);
    assert!(ran.stdout.contains("rss growth"), "{}", ran.stdout);

    // The journal's series and the CSV files agree, row for row.
    let resources = &run["resources"];
    let hosts = resources["host"].as_array().unwrap().len();
    assert!(hosts >= 18, "9 s at 250 ms: {hosts} samples");
    let targets: Vec<String> = resources["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["target"].to_string())
        .collect();
    let outsider_target = format!("{{\"pid\":{}}}", outsider.pid());
    assert_eq!(
        targets,
        [
            r#"{"service":"leaky"}"#,
            r#"{"service":"steady"}"#,
            outsider_target.as_str()
        ],
    );
    assert_rows(
        &csv.join("host.csv"),
        "t_s,wall,cpu_percent,memory_used_bytes",
        hosts,
    );
    for (i, name) in [
        "service-leaky",
        "service-steady",
        &format!("pid-{}", outsider.pid()),
    ]
    .iter()
    .enumerate()
    {
        let n = resources["processes"][i]["samples"]
            .as_array()
            .unwrap()
            .len();
        assert!(n >= hosts - 1, "{name}: {n} of {hosts}");
        assert_rows(
            &csv.join(format!("process-{name}.csv")),
            "t_s,wall,pids,cpu_percent,rss_bytes,threads,fds,tcp",
            n,
        );
    }
    let peak = resources["processes"][1]["peak"]["rss_bytes"]
        .as_f64()
        .unwrap();
    assert!((14e6..=40e6).contains(&peak), "20 MB held: {peak}");
}

/// `path` starts with a header beginning `header` and holds `rows` rows after it.
fn assert_rows(path: &Path, header: &str, rows: usize) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with(header), "{text}");
    assert_eq!(lines.count(), rows, "{}", path.display());
}

/// Seed 004's monitor: `--csv DIR` writes the host's and the API's series beside the latency
/// figures of the journal, one row per sample, and the API's resource probes hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// Held on purpose: the whole test runs alone (each test has its own runtime; none waits on another).
#[allow(clippy::await_holding_lock)]
async fn the_locust_seed_writes_its_resource_samples_to_csv() {
    let _one = serial();
    let dir = tempfile::tempdir().unwrap();
    let (csv, json) = (dir.path().join("results"), dir.path().join("run.json"));
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"));
    cmd.args(["run", "experiments/locust-style-users.yaml", "-q", "--csv"])
        .arg(&csv)
        .arg("--json")
        .arg(&json)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DURATION", "3s")
        .env("TMPDIR", dir.path())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the run finished within 2 minutes")
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    let doc = support::runner::journal(&json);
    let run = &doc["experiments"][0]["runs"][0];
    let hosts = run["resources"]["host"].as_array().unwrap().len();
    assert!(hosts >= 3, "3 s at 1 s: {hosts}");
    assert_rows(&csv.join("host.csv"), "t_s,wall,cpu_percent", hosts);
    let api = run["resources"]["processes"][0]["samples"]
        .as_array()
        .unwrap()
        .len();
    assert_rows(
        &csv.join("process-service-api.csv"),
        "t_s,wall,pids,cpu_percent,rss_bytes",
        api,
    );
    assert!(text.contains("csv: "), "{text}");
}

/// The sampler's flags refuse what cannot work before anything starts (exit 2): an interval
/// under 100 ms (on `run`, `test` and `load`), a `--csv` folder that cannot be written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sampler_flags_are_refused_before_anything_starts() {
    for command in [
        vec!["run", "experiments/quickstart.yaml"],
        vec!["test", "experiments/quickstart.yaml"],
        vec![
            "load",
            "http://127.0.0.1:9/",
            "--rate",
            "1/s",
            "--duration",
            "1s",
        ],
    ] {
        let mut args = command.clone();
        args.extend(["--sample-interval", "10ms"]);
        let ran = support::runner::shakedown(&args).await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("must be at least 100ms"),
            "{}",
            ran.stderr
        );
    }
    let ran = support::runner::shakedown(&[
        "run",
        "experiments/quickstart.yaml",
        "--csv",
        "/proc/no-such-folder",
    ])
    .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("--csv /proc/no-such-folder: cannot write into it"),
        "{}",
        ran.stderr
    );
}

/// `shakedown load --watch-pid PID --csv DIR --json FILE`: the load report gains the process's
/// series (JSON `resources`, the summary's resources block) and the CSV files are written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
// Held on purpose: the whole test runs alone (each test has its own runtime; none waits on another).
#[allow(clippy::await_holding_lock)]
async fn load_watches_a_pid_beside_its_requests() {
    let _one = serial();
    let target = Target::start(&["hold", "30000000"]);
    let dir = tempfile::tempdir().unwrap();
    let (csv, json) = (dir.path().join("csv"), dir.path().join("load.json"));
    let pid = target.pid().to_string();
    // Port 9 (discard) refuses on loopback: the requests fail fast; the sampler is what counts.
    let ran = support::runner::shakedown(&[
        "load",
        "http://127.0.0.1:9/",
        "--rate",
        "5/s",
        "--duration",
        "2s",
        "-q",
        "--watch-pid",
        &pid,
        "--sample-interval",
        "250ms",
        "--csv",
        csv.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ])
    .await;
    assert!(ran.code <= 1, "{}\n{}", ran.stdout, ran.stderr);
    let report = support::runner::journal(&json);
    assert!(
        report["summary"]["requests"].as_u64().unwrap() > 0,
        "{report}"
    );
    let series = &report["resources"]["processes"][0];
    assert_eq!(
        series["target"]["pid"].as_u64(),
        Some(u64::from(target.pid()))
    );
    let samples = series["samples"].as_array().unwrap().len();
    assert!(samples >= 4, "2 s at 250 ms: {samples}");
    let rss = series["peak"]["rss_bytes"].as_f64().unwrap() / 1e6;
    assert!((20.0..=45.0).contains(&rss), "30 MB held: {rss} MB");
    assert!(ran.stdout.contains(&format!("pid {pid}")), "{}", ran.stdout);
    assert_rows(
        &csv.join(format!("process-pid-{pid}.csv")),
        "t_s,wall,pids",
        samples,
    );
    assert!(csv.join("host.csv").exists());
}

/// A process the sampler may not read says so: run as `nobody`, `shakedown load --watch-pid 1`
/// records init as unreadable, with CPU and RSS but no descriptors. Needs root to change user
/// (as CI runs); elsewhere it checks nothing and says why on stderr.
#[test]
fn a_process_that_may_not_be_read_says_so() {
    use std::os::unix::process::CommandExt;
    // The effective uid: the second figure of `Uid:` in /proc/self/status.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap();
    if euid != "0" {
        eprintln!("skipped: only root can run the sampler as another user");
        return;
    }
    let _one = serial();
    let out = Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args([
            "load",
            "http://127.0.0.1:9/",
            "--rate",
            "2/s",
            "--duration",
            "1s",
            "-q",
        ])
        .args([
            "--watch-pid",
            "1",
            "--sample-interval",
            "250ms",
            "--json",
            "-",
        ])
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    let init = &report["resources"]["processes"][0];
    let change = &init["changes"][0]["presence"];
    assert_eq!(change["state"], "unreadable", "{init}");
    assert!(
        change["why"].as_str().unwrap().contains("/proc/1/fd"),
        "{change}"
    );
    let sample = &init["samples"][0];
    assert!(
        sample["fds"].is_null() && sample["rss_bytes"].as_u64().unwrap() > 0,
        "{sample}"
    );
}
