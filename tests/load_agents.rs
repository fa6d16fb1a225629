//! Live load agents for experiments (issue 14): real `shakedown load --segment I/N --serve`
//! processes on loopback standing in for N pods, merged live by the runner.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use support::demo::{DemoTarget, binary};
use support::runner::{free_port, run_journaled, shakedown};

/// A running `shakedown load … --serve 127.0.0.1:0`, killed on drop.
struct Agent {
    child: Child,
    url: String,
}

impl Agent {
    /// Segment `index`/`count` of `rate` (the whole plan's) to `target`, beginning at `start`,
    /// on loopback; with `token_file`, only its holders may ask.
    fn start(
        target: &str,
        rate: &str,
        (index, count): (u32, u32),
        start: SystemTime,
        token_file: Option<&Path>,
    ) -> Agent {
        let segment = format!("{index}/{count}");
        let start_at = humantime::format_rfc3339_millis(start).to_string();
        let plan = ["--segment", &segment, "--start-at", &start_at];
        Agent::launch(target, rate, &plan, "127.0.0.1:0", token_file)
    }

    /// `shakedown load TARGET --rate RATE --duration 60s MORE… --serve SERVE`, its token (if
    /// any) from `token_file`; its URL is on loopback (an agent serving on every interface
    /// is reached at 127.0.0.1).
    fn launch(
        target: &str,
        rate: &str,
        more: &[&str],
        serve: &str,
        token_file: Option<&Path>,
    ) -> Agent {
        let mut command = Command::new(binary());
        command
            .args(["load", target, "--rate", rate, "--duration", "60s"])
            .args(more)
            .args(["--serve", serve, "--linger", "5s", "-q"])
            .env("RUST_LOG", "shakedown=warn")
            .env_remove("SHAKEDOWN_TOKEN");
        if let Some(file) = token_file {
            command.arg("--token-file").arg(file);
        }
        let mut child = command
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
                    let url = rest.trim_end_matches("/intervals");
                    let _ = tx.send(url.replace("0.0.0.0", "127.0.0.1"));
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the agent prints where it serves");
        Agent { child, url }
    }

    /// Its address.
    fn addr(&self) -> SocketAddr {
        self.url.trim_start_matches("http://").parse().unwrap()
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
    // Agents that only answer holders of their token, as off loopback (docs/scaling.md).
    let token = dir.path().join("agent-token");
    std::fs::write(&token, "agents-s3cret\n").unwrap();
    let agents = [
        Agent::start(&target, "100/s", (0, 2), start, Some(&token)),
        Agent::start(&target, "100/s", (1, 2), start, Some(&token)),
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
            "{{agents: [\"{}\", \"{}\"], thresholds: [\"error_rate < 50%\"], token_file: \"{}\"}}",
            agents[0].url,
            agents[1].url,
            token.display()
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
        Agent::start(&target, rate, (0, 2), start, None),
        Agent::start(&target, rate, (1, 2), start, None),
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
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    let agent = "load:\n  agents: [\"http://127.0.0.1:9\"]\n";
    let tokens = [
        (
            format!("{agent}  token_env: SHAKEDOWN_TEST_NEVER_SET_1f3a\n"),
            "4:14: load.token_env",
            "SHAKEDOWN_TEST_NEVER_SET_1f3a is not set",
        ),
        (
            format!("{agent}  token_env: \"1-BAD\"\n"),
            "4:14: load.token_env",
            "not an environment variable name",
        ),
        (
            format!("{agent}  token_file: /nonexistent/agent-token\n"),
            "4:15: load.token_file",
            "/nonexistent/agent-token: ",
        ),
        (
            format!("{agent}  token_file: {}\n", empty.display()),
            "4:15: load.token_file",
            "the token is empty",
        ),
        (
            format!(
                "{agent}  token_env: PATH\n  token_file: {}\n",
                empty.display()
            ),
            "5:15: load.token_file",
            "not both",
        ),
    ];
    let cases = cases
        .iter()
        .map(|(load, at, says)| (load.to_string(), *at, *says))
        .chain(tokens);
    for (i, (load, at, says)) in cases.enumerate() {
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

/// One HTTP/1.1 request to `addr`, with `Authorization: Bearer TOKEN` when given: the status
/// and the whole answer as text.
async fn call(addr: SocketAddr, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    call_with(addr, method, path, &auth).await
}

/// One HTTP/1.1 request to `addr` with its own `Host` and the header lines `auth` (each
/// ending in CRLF).
async fn call_with(addr: SocketAddr, method: &str, path: &str, auth: &str) -> (u16, String) {
    send(addr, method, path, &format!("Host: {addr}\r\n{auth}")).await
}

/// `METHOD PATH` to `addr` with the header lines `headers` (each ending in CRLF, `Host`
/// among them): the status and the whole answer as text.
async fn send(addr: SocketAddr, method: &str, path: &str, headers: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .expect("the agent answers")
        .unwrap();
    let status = out.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, out)
}

/// An agent without a token (so on loopback) answers local programs, not web pages, as the
/// control API does: a page whose name was rebound to 127.0.0.1 (its `Host`) or that sends a
/// foreign `Origin` or `Sec-Fetch-Site` gets 403, and its `POST /stop` stops nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_a_token_refuses_web_pages() {
    let demo = DemoTarget::start(&[]);
    let target = format!("http://{}/health", demo.addr);
    let agent = Agent::launch(&target, "40/s", &[], "127.0.0.1:0", None);
    let addr = agent.addr();
    let own = format!("Host: {addr}\r\n");
    let pages = [
        "Host: evil.example\r\n".to_string(),
        format!("Host: evil.example:{}\r\n", addr.port()),
        format!("{own}Origin: http://evil.example\r\n"),
        format!("{own}Sec-Fetch-Site: cross-site\r\n"),
        String::new(),
    ];
    for headers in &pages {
        for (method, path) in [
            ("GET", "/intervals?from=0"),
            ("GET", "/health"),
            ("POST", "/stop"),
        ] {
            let (status, answer) = send(addr, method, path, headers).await;
            assert_eq!(status, 403, "{method} {path} with {headers:?}: {answer}");
        }
    }
    let (_, answer) = send(addr, "GET", "/health", &pages[0]).await;
    assert!(answer.contains("loopback names only"), "{answer}");
    // Local programs, by address or as localhost, are answered; the refused stops changed
    // nothing: the plan goes on.
    let localhost = format!("Host: localhost:{}\r\n", addr.port());
    assert_eq!(send(addr, "GET", "/health", &localhost).await.0, 200);
    let elapsed = || async {
        let (status, answer) = call(addr, "GET", "/intervals?from=0", None).await;
        assert_eq!(status, 200, "{answer}");
        let body = answer.split_once("\r\n\r\n").unwrap().1;
        let live: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(live["finished"], false, "{live}");
        live["elapsed_ms"].as_f64().unwrap()
    };
    let before = elapsed().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(elapsed().await > before);
}

/// The agent's `GET /intervals` (with the token): its live seconds.
async fn live(agent: &Agent, token: &str) -> serde_json::Value {
    let (status, answer) = call(agent.addr(), "GET", "/intervals?from=0", Some(token)).await;
    assert_eq!(status, 200, "{answer}");
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// Serving on anything but loopback needs a token: without one the command is refused (exit
/// 2, naming the flags) before anything is sent.
#[tokio::test]
async fn an_agent_off_loopback_without_a_token_is_refused() {
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", target.local_addr().unwrap());
    let out = tokio::process::Command::new(binary())
        .args(["load", &url, "--rate", "50/s", "--duration", "2s", "-q"])
        .args(["--serve", "0.0.0.0:0", "--linger", "0s"])
        .env_remove("SHAKEDOWN_TOKEN")
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("refusing to serve the load agent's --serve endpoint on 0.0.0.0:")
            && err.contains("--token-file FILE, SHAKEDOWN_TOKEN or --token"),
        "{err}"
    );
    assert!(!err.contains("serving live intervals"), "{err}");
    // Nothing was sent to the target.
    let accepted = tokio::time::timeout(Duration::from_millis(300), target.accept()).await;
    assert!(
        accepted.is_err(),
        "the refused agent connected to the target"
    );
}

/// An agent with a token (here serving on every interface, which it allows) answers only
/// its holders: `/health` to anyone, everything else 401 without the token or with a wrong
/// one, and a refused `POST /stop` stops nothing. A runner without the token is not let in
/// (preflight fails, exit 3, saying 401); one with `token_env` drives it to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_with_a_token_answers_only_its_holders() {
    let dir = tempfile::tempdir().unwrap();
    let demo = DemoTarget::start(&[]);
    let token = "agent-s3cret-0123";
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let target = format!("http://{}/health", demo.addr);
    let mut agent = Agent::launch(&target, "40/s", &[], "0.0.0.0:0", Some(&token_file));
    let addr = agent.addr();
    assert_eq!(call(addr, "GET", "/health", None).await.0, 200);
    for path in ["/intervals?from=0", "/report", "/hlog", "/nowhere"] {
        for given in [None, Some("agent-s3cret-012"), Some("agent-s3cret-01234")] {
            let (status, answer) = call(addr, "GET", path, given).await;
            assert_eq!(status, 401, "GET {path} with {given:?}: {answer}");
            assert!(
                answer
                    .to_ascii_lowercase()
                    .contains("www-authenticate: bearer"),
                "{answer}"
            );
        }
    }
    let (status, answer) = call(addr, "POST", "/stop", None).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(call(addr, "POST", "/stop", Some("wrong")).await.0, 401);
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    for scheme in ["bearer", "BEARER"] {
        let auth = format!("authorization: {scheme} {token}\r\n");
        let (status, answer) = call_with(addr, "GET", "/intervals?from=0", &auth).await;
        assert_eq!(status, 200, "{scheme}: {answer}");
    }
    let upper = format!("authorization: bearer {}\r\n", token.to_uppercase());
    assert_eq!(
        call_with(addr, "GET", "/intervals?from=0", &upper).await.0,
        401
    );
    // The refused stops changed nothing: the plan goes on, second after second.
    let before = live(&agent, token).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = live(&agent, token).await;
    assert_eq!(after["finished"], false, "{after}");
    assert!(
        after["elapsed_ms"].as_f64() > before["elapsed_ms"].as_f64(),
        "{before} then {after}"
    );
    // A runner without the token: the agent never answers it, preflight fails.
    let experiment = |token_line: &str| {
        let file = dir.path().join(format!("run{}.yaml", token_line.len()));
        std::fs::write(
            &file,
            format!(
                "title: an agent with a token\nload:\n  agents: [\"{}\"]\n  ready_timeout: 3s\n\
                 {token_line}steady_state:\n  probes:\n    - {{name: rps, load: rps, window: 1s, \
                 above: 5}}\nduration: 2s\n",
                agent.url
            ),
        )
        .unwrap();
        file
    };
    let ran = shakedown(&["run", experiment("").to_str().unwrap(), "-q"]).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    let said = format!("{}{}", ran.stdout, ran.stderr);
    assert!(said.contains("401"), "{said}");
    assert_eq!(live(&agent, token).await["finished"], false);
    // With the token named by `token_env`: the run merges the agent and stops it.
    let file = experiment("  token_env: AGENT_TOKEN_FOR_TEST\n");
    let json = dir.path().join("with-token.json");
    let out = tokio::process::Command::new(binary())
        .args([
            "run",
            file.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ])
        .arg("-q")
        .env("AGENT_TOKEN_FOR_TEST", token)
        .env("TMPDIR", dir.path())
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the run ends")
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let doc = support::runner::journal(&json);
    let run = &doc["experiments"][0]["runs"][0];
    assert_eq!(run["agents"][0]["url"], agent.url.as_str(), "{run}");
    assert!(run["agents"][0].get("lost").is_none(), "{run}");
    // About 40/s from the run's start to its stop (2 s and the recovery check).
    assert!(load_requests(run) >= 40, "{}", run["load"]);
    assert!(
        !doc.to_string().contains(token),
        "the token is in the record"
    );
    // Stopped by the runner, the agent hands over its report and exits.
    let exited = support::runner::until(Duration::from_secs(20), async || {
        matches!(agent.child.try_wait(), Ok(Some(_)))
    })
    .await;
    assert!(
        exited.is_some(),
        "the agent still runs after the experiment"
    );
}

/// Token inputs: a refusal names where the token came from (`--token-file FILE`, the
/// `SHAKEDOWN_TOKEN` variable); `--token-file` wins over `SHAKEDOWN_TOKEN` (as most CLIs let a
/// flag win over the environment); a token flag without `--serve` is refused (exit 2, as
/// `--ca` on an `http://` target), nothing sent; the variable alone without it is ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_inputs_name_their_source_and_a_flag_wins_over_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", target.local_addr().unwrap());
    let run = |args: Vec<String>, env: Option<&str>| {
        let mut c = tokio::process::Command::new(binary());
        c.args(["load", &url, "--rate", "50/s", "--duration", "1s", "-q"])
            .args(&args)
            .env_remove("SHAKEDOWN_TOKEN");
        if let Some(v) = env {
            c.env("SHAKEDOWN_TOKEN", v);
        }
        c.output()
    };
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let serve = |more: &[&str]| {
        let mut v = vec!["--serve".to_string(), "0.0.0.0:0".to_string()];
        v.extend(more.iter().map(|s| s.to_string()));
        v
    };
    let missing = dir.path().join("missing").display().to_string();
    let two = file("two-lines", "one\ntwo\n");
    for (args, env, says) in [
        (
            serve(&["--token-file", &missing]),
            None,
            format!("--token-file {missing}: "),
        ),
        (
            serve(&["--token-file", &two]),
            None,
            format!("--token-file {two}: the token contains '\\n'"),
        ),
        (
            serve(&[]),
            Some(""),
            "SHAKEDOWN_TOKEN: the token is empty".to_string(),
        ),
        (
            vec!["--token-file".to_string(), file("ok", "t0ken\n")],
            None,
            "--token-file: the token of the agent's endpoint applies with --serve ADDR only"
                .to_string(),
        ),
        (
            vec!["--token".to_string(), "t0ken".to_string()],
            None,
            "--token: the token of the agent's endpoint applies with --serve ADDR only".to_string(),
        ),
    ] {
        let out = run(args.clone(), env).await.unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&says), "{args:?}: {err}");
    }
    // Nothing was sent to the target by any of them.
    let accepted = tokio::time::timeout(Duration::from_millis(300), target.accept()).await;
    assert!(accepted.is_err(), "a refused load connected to the target");
    drop(target);
    // SHAKEDOWN_TOKEN exported in the environment, without --serve: not this run's concern.
    let out = run(vec![], Some("env-token")).await.unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
    // The file wins over the variable: the agent answers the file's token only.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "file-t0ken\n").unwrap();
    let mut command = Command::new(binary());
    command
        .args([
            "load",
            "http://127.0.0.1:9/",
            "--rate",
            "5/s",
            "--duration",
            "30s",
            "-q",
        ])
        .args(["--serve", "0.0.0.0:0", "--linger", "0s", "--token-file"])
        .arg(&token_file)
        .env("SHAKEDOWN_TOKEN", "env-t0ken")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let line = BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("serving live intervals on "));
    let mut agent = Agent {
        url: line
            .expect("the agent starts")
            .trim_start_matches("serving live intervals on ")
            .trim_end_matches("/intervals")
            .replace("0.0.0.0", "127.0.0.1"),
        child,
    };
    let addr = agent.addr();
    assert_eq!(
        call(addr, "GET", "/intervals?from=0", Some("file-t0ken"))
            .await
            .0,
        200
    );
    assert_eq!(
        call(addr, "GET", "/intervals?from=0", Some("env-t0ken"))
            .await
            .0,
        401
    );
    agent.kill9();
}
