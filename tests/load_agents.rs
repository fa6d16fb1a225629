//! Live load agents for experiments (issue 14): real `shakedown load --segment I/N --serve`
//! processes on loopback standing in for N pods, merged live by the runner.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use support::demo::{DemoTarget, binary};
use support::runner::{free_port, run_journaled, shakedown};

/// A running `shakedown load … --serve 127.0.0.1:0`, killed on drop.
struct Agent {
    child: Child,
    url: String,
}

impl Agent {
    /// Segment `index`/`count` of `rate` (the whole plan's) to `target`, beginning at `start`.
    fn start(target: &str, rate: &str, index: u32, count: u32, start: SystemTime) -> Agent {
        let segment = format!("{index}/{count}");
        let start_at = humantime::format_rfc3339_millis(start).to_string();
        let mut child = Command::new(binary())
            .args([
                "load",
                target,
                "--rate",
                rate,
                "--duration",
                "60s",
                "--segment",
                &segment,
                "--start-at",
                &start_at,
                "--serve",
                "127.0.0.1:0",
                "--linger",
                "5s",
                "-q",
            ])
            .env("RUST_LOG", "shakedown=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn an agent");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("serving live intervals on ") {
                    let _ = tx.send(rest.trim_end_matches("/intervals").to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the agent prints where it serves");
        Agent { child, url }
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The experiment: `load` as given, a connection-reset fault from 2 s to 4 s, a load probe.
fn experiment(
    dir: &Path,
    name: &str,
    proxy: u16,
    upstream: &str,
    load: &str,
) -> std::path::PathBuf {
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &file,
        format!(
            r#"title: resets are detected and recovered from ({name})
proxies:
  - {{name: api, listen: "127.0.0.1:{proxy}", upstream: "{upstream}"}}
load: {load}
steady_state:
  interval: 250ms
  recovered_after: 2
  probes:
    - {{name: errors, load: error_rate, window: 1s, below: 5%}}
method:
  - {{at: 2s, for: 2s, name: resets, fault: {{proxy: api, type: reset_peer}}, measure: true}}
duration: 4s
expect:
  recovered_within: 10s
"#
        ),
    )
    .unwrap();
    file
}

fn secs(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not seconds: {v}"))
}

/// Issue 14: two live agents (segments 0/2 and 1/2 of 100/s) against the demo target through a
/// proxy detect and recover from a fault as the same experiment with the runner's own 100/s
/// does: time to detect and time to recover within one sampling interval (250 ms) of each
/// other, plus one poll (100 ms) and scheduling slack on a busy 2-core machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_live_agents_detect_and_recover_like_a_local_load() {
    let dir = tempfile::tempdir().unwrap();
    let (demo_a, demo_b) = (DemoTarget::start(&[]), DemoTarget::start(&[]));
    let (local_port, agents_port) = (free_port(), free_port());
    let start = SystemTime::now() + Duration::from_secs(4);
    let target = format!("http://127.0.0.1:{agents_port}/health");
    let agents = [
        Agent::start(&target, "100/s", 0, 2, start),
        Agent::start(&target, "100/s", 1, 2, start),
    ];
    let local = experiment(
        dir.path(),
        "local",
        local_port,
        &demo_a.addr.to_string(),
        &format!("{{target: \"http://127.0.0.1:{local_port}/health\", rate: 100/s}}"),
    );
    let live = experiment(
        dir.path(),
        "agents",
        agents_port,
        &demo_b.addr.to_string(),
        &format!(
            "{{agents: [\"{}\", \"{}\"], thresholds: [\"error_rate < 50%\"]}}",
            agents[0].url, agents[1].url
        ),
    );
    let ((ran_l, doc_l), (ran_a, doc_a)) =
        tokio::join!(run_journaled(&local), run_journaled(&live));
    assert_eq!(ran_l.code, 0, "{}\n{}", ran_l.stdout, ran_l.stderr);
    assert_eq!(ran_a.code, 0, "{}\n{}", ran_a.stdout, ran_a.stderr);
    let run_l = &doc_l["experiments"][0]["runs"][0];
    let run_a = &doc_a["experiments"][0]["runs"][0];
    let m_l = &run_l["steps"][0]["measurement"];
    let m_a = &run_a["steps"][0]["measurement"];
    let slack = 0.25 + 0.1 + 0.15;
    for field in ["time_to_detect", "recovery_from_removal"] {
        let (l, a) = (secs(&m_l[field]), secs(&m_a[field]));
        eprintln!("{field}: local {l:.3}s, agents {a:.3}s");
        assert!(
            (l - a).abs() <= slack,
            "{field}: local {l:.3}s, agents {a:.3}s\nlocal: {m_l}\nagents: {m_a}"
        );
    }
    // Both agents took part and none was lost; the merged report is one whole plan's.
    let recorded = run_a["agents"]
        .as_array()
        .expect("the record lists the agents");
    assert_eq!(recorded.len(), 2, "{run_a}");
    let segments: Vec<&str> = recorded
        .iter()
        .map(|a| a["segment"].as_str().unwrap())
        .collect();
    assert_eq!(segments, ["0/2", "1/2"]);
    assert!(
        recorded.iter().all(|a| a.get("lost").is_none()),
        "{recorded:?}"
    );
    assert!(
        recorded.iter().all(|a| a["offset_s"] == 0),
        "one --start-at: {recorded:?}"
    );
    let load = &run_a["load"];
    assert!(load.get("segment").is_none(), "{load}");
    // Thresholds judged once, on the merged report.
    let thresholds = load["thresholds"].as_array().unwrap();
    assert_eq!(thresholds.len(), 1, "{load}");
    assert_eq!(thresholds[0]["threshold"], "error_rate < 50%");
    // The agents sent 100/s together from their start to the runner's stop, like the local load.
    let (req_l, req_a) = (load_requests(run_l), load_requests(run_a));
    assert!(
        req_a >= 400 && req_l >= 400,
        "local {req_l}, agents {req_a}"
    );
    // Agents stopped by the runner hand over their reports and exit on their own.
    for mut agent in agents {
        let exited = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(100));
            matches!(agent.child.try_wait(), Ok(Some(_)))
        });
        assert!(
            exited,
            "agent {} still runs after the experiment",
            agent.url
        );
        agent.kill9();
    }
}

fn load_requests(run: &serde_json::Value) -> u64 {
    run["load"]["summary"]["requests"]
        .as_u64()
        .unwrap_or_else(|| panic!("no load summary: {}", run["load"]))
}

/// A demo target and two agents (segments 0/2 and 1/2 of `rate`) to its `/health`, beginning
/// their plan in 3 s (returned).
fn two_agents(rate: &str) -> (DemoTarget, SystemTime, [Agent; 2]) {
    let demo = DemoTarget::start(&[]);
    let start = SystemTime::now() + Duration::from_secs(3);
    let target = format!("http://{}/health", demo.addr);
    let agents = [
        Agent::start(&target, rate, 0, 2, start),
        Agent::start(&target, rate, 1, 2, start),
    ];
    (demo, start, agents)
}

/// An experiment on two agents with no fault, lasting 5 s; agent 1 is killed (SIGKILL) 1.5 s
/// after the agents begin. Returns the outcome, the journal and agent 1's URL.
async fn lose_an_agent(allow: bool) -> (support::runner::Ran, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let (_demo, start, mut agents) = two_agents("40/s");
    let file = dir.path().join("loss.yaml");
    std::fs::write(
        &file,
        format!(
            r#"title: an agent disappears
load: {{agents: ["{}", "{}"], allow_agent_loss: {allow}}}
steady_state:
  interval: 250ms
  probes:
    - {{name: throughput, load: rps, window: 1s, above: 1}}
duration: 5s
"#,
            agents[0].url, agents[1].url
        ),
    )
    .unwrap();
    let victim = agents[1].url.clone();
    let killer = tokio::task::spawn_blocking(move || {
        let wait = start + Duration::from_millis(1500);
        std::thread::sleep(wait.duration_since(SystemTime::now()).unwrap_or_default());
        agents[1].kill9();
        agents
    });
    let (ran, doc) = run_journaled(&file).await;
    drop(killer.await.unwrap());
    (ran, doc, victim)
}

/// A run interrupted (SIGTERM) while its agents send asks each to stop at teardown: they end
/// their plan and exit (after `--linger 5s`) long before their 60 s plan would have ended.
/// Before: the runner exited and the agents went on loading the target for the rest of the
/// minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_stops_its_agents() {
    let dir = tempfile::tempdir().unwrap();
    let (_demo, start, mut agents) = two_agents("20/s");
    let file = dir.path().join("interrupted.yaml");
    std::fs::write(
        &file,
        format!(
            "title: interrupted\nload: {{agents: [\"{}\", \"{}\"]}}\nduration: 40s\n",
            agents[0].url, agents[1].url
        ),
    )
    .unwrap();
    let json = dir.path().join("interrupted.json");
    let run = support::runner::spawn(&[
        "run",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "-q",
    ]);
    // Well into the agents' plan (it begins at `start`), the run's clock started.
    let into_plan = start + Duration::from_secs(3);
    tokio::time::sleep(
        into_plan
            .duration_since(SystemTime::now())
            .unwrap_or_default(),
    )
    .await;
    let expected = support::runner::Ending::Interrupted("TERM").end(run.id().expect("running"));
    let ran = support::runner::wait(run, Duration::from_secs(60)).await;
    assert_eq!(ran.code, expected, "{}\n{}", ran.stdout, ran.stderr);
    let doc = support::runner::journal(&json);
    let cleanup = doc["experiments"][0]["runs"][0]["cleanup"].to_string();
    for a in &agents {
        assert!(
            cleanup.contains(&format!("load agent {}: asked to stop", a.url)),
            "{cleanup}"
        );
    }
    // Generous: the stop, the agent's linger (5 s), a busy machine; the plan had 50 s left.
    let exited = support::runner::until(Duration::from_secs(30), async || {
        agents
            .iter_mut()
            .all(|a| a.child.try_wait().ok().flatten().is_some())
    })
    .await;
    assert!(
        exited.is_some(),
        "the agents still run 30 s after the run was interrupted"
    );
}

/// An agent killed mid-run aborts the run (exit 3); the record and the terminal name it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_agent_aborts_the_run_and_is_named() {
    let (ran, doc, victim) = lose_an_agent(false).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    let run = &doc["experiments"][0]["runs"][0];
    assert_eq!(run["status"], "aborted", "{run}");
    let reason = run["reason"].as_str().unwrap();
    assert!(
        reason.contains(&victim) && reason.contains("lost"),
        "{reason}"
    );
    let lost = &run["agents"][1];
    assert_eq!(lost["url"], victim.as_str());
    assert!(
        lost["lost"].as_str().unwrap().contains("polls in a row"),
        "{lost}"
    );
    // Lost about 1.5 s into the run (after 6 missed polls of 100 ms): well before its end.
    let at = secs(&lost["lost_at"]);
    assert!((1.0..4.5).contains(&at), "lost at {at}: {lost}");
    assert!(run["agents"][0].get("lost").is_none(), "{run}");
    assert!(
        ran.stdout.contains(&format!("LOST {victim}")),
        "{}",
        ran.stdout
    );
}

/// With `allow_agent_loss`, the run goes on with the other agent and says so: the record and
/// the terminal name the lost agent, and the probes' figures say how many agents they cover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_allow_agent_loss_the_run_goes_on_and_says_so() {
    let (ran, doc, victim) = lose_an_agent(true).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let run = &doc["experiments"][0]["runs"][0];
    assert_eq!(run["agents"][1]["url"], victim.as_str());
    assert!(run["agents"][1]["lost"].is_string(), "{run}");
    assert!(
        ran.stdout.contains("load agents: 1 merged of 2"),
        "{}",
        ran.stdout
    );
    let covered = run["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["probes"][0]["detail"]
                .as_str()
                .is_some_and(|d| d.ends_with("(from 1 of 2 agents)"))
        })
        .count();
    assert!(covered > 0, "no sample says it covers 1 of 2 agents: {run}");
    // The merged report is the survivor's, and says so.
    assert!(load_requests(run) > 0, "{run}");
    let warnings = run["load"]["generator"]["warnings"].to_string();
    assert!(
        warnings.contains(&format!("merged from 1 of 2 load agents; lost: {victim}")),
        "{warnings}"
    );
}

/// `{dns: NAME:PORT}` takes every address of the name as an agent: here one, a whole plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_name_finds_its_agents() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoTarget::start(&[]);
    let port = free_port();
    let start = humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(2));
    let mut child = Command::new(binary())
        .args([
            "load",
            &format!("http://{}/health", demo.addr),
            "--rate",
            "40/s",
        ])
        .args(["--duration", "60s", "--start-at", &start.to_string(), "-q"])
        .args(["--serve", &format!("127.0.0.1:{port}"), "--linger", "5s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let file = dir.path().join("dns.yaml");
    std::fs::write(
        &file,
        format!(
            "title: agents by name
load: {{agents: {{dns: \"127.0.0.1:{port}\"}}, ready_timeout: 20s}}
\
             steady_state:\n  probes:\n    - {{name: rps, load: rps, window: 1s, above: 10}}\n\
             duration: 2s\n"
        ),
    )
    .unwrap();
    let (ran, doc) = run_journaled(&file).await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let run = &doc["experiments"][0]["runs"][0];
    assert_eq!(
        run["agents"][0]["url"],
        format!("http://127.0.0.1:{port}"),
        "{run}"
    );
    assert_eq!(run["agents"].as_array().unwrap().len(), 1);
    // About 40/s from the run's start to its stop (2 s and the recovery check).
    assert!(load_requests(run) >= 40, "{}", run["load"]);
}

/// Bad `load: {agents: …}` sections are refused at their line and field (exit 2).
#[tokio::test]
async fn bad_agent_sections_are_refused_where_they_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "load:\n  agents: [\"ftp://127.0.0.1:9\"]\n",
            "3:12: load.agents[0]",
            "unsupported scheme",
        ),
        (
            "load:\n  agents: [\"http://127.0.0.1:9/intervals\"]\n",
            "3:12: load.agents[0]",
            "base URL",
        ),
        ("load:\n  agents: []\n", "3:11: load.agents", "no agents"),
        (
            "load:\n  agents: [\"http://127.0.0.1:9\"]\n  rate: 10/s\n",
            "4:9: load.rate",
            "not both",
        ),
        (
            "load:\n  agents: {dns: \"agents\"}\n",
            "3:17: load.agents.dns",
            "NAME:PORT",
        ),
        (
            "load:\n  agents: [\"http://127.0.0.1:9\"]\n  thresholds: [\"p99 <\"]\n",
            "4:16: load.thresholds[0]",
            "missing value",
        ),
    ];
    for (i, (load, at, says)) in cases.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.yaml"));
        std::fs::write(&file, format!("title: bad agents\n{load}duration: 1s\n")).unwrap();
        let ran = shakedown(&["validate", file.to_str().unwrap()]).await;
        assert_eq!(ran.code, 2, "{load}: {}", ran.stderr);
        let line = ran
            .stderr
            .lines()
            .find(|l| l.contains(at))
            .unwrap_or_else(|| panic!("{load}: no problem at {at}: {}", ran.stderr));
        assert!(line.contains(says), "{load}: {line}");
    }
}
