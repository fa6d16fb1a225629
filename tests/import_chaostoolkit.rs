//! `shakedown import chaostoolkit` (issue 15) on Chaos Toolkit experiments (fixtures/chaostoolkit:
//! HTTP and process probes, pauses, rollbacks, every action of the chaostoolkit-toxiproxy
//! extension, and the parts shakedown cannot express): each imports, `shakedown validate`
//! accepts the output, and what was left out is listed exactly, one line per JSON path.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::demo::{DemoTarget, binary};
use support::runner::{free_port, run_journaled};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/chaostoolkit")
        .join(name)
}

struct Imported {
    code: i32,
    yaml: String,
    stderr: String,
    /// The output parsed back.
    doc: Value,
    /// Where it was written.
    file: PathBuf,
    _dir: tempfile::TempDir,
}

/// `shakedown import chaostoolkit FIXTURE -o DIR/out.yaml`.
fn import(name: &str) -> Imported {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.yaml");
    let out = Command::new(binary())
        .args(["import", "chaostoolkit"])
        .arg(fixture(name))
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.stdout.is_empty(), "{name}: -o leaves stdout empty");
    let yaml = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{name}: {e}\n{stderr}"));
    Imported {
        code: out.status.code().unwrap_or(-1),
        doc: serde_saphyr::from_str(&yaml).unwrap(),
        yaml,
        stderr,
        file,
        _dir: dir,
    }
}

/// `shakedown validate [--var …] FILE` passes.
fn assert_valid(imported: &Imported, vars: &[&str]) {
    let mut args = vec!["validate".to_string()];
    for v in vars {
        args.extend(["--var".to_string(), v.to_string()]);
    }
    args.push(imported.file.display().to_string());
    let out = Command::new(binary()).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        imported.yaml,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn http_and_process_probes_actions_pauses_and_rollbacks_translate_completely() {
    let i = import("service-health.json");
    assert_eq!((i.code, i.stderr.as_str()), (0, ""), "{}", i.yaml);
    assert_valid(&i, &[]);
    let d = &i.doc;
    assert_eq!(
        d["title"],
        "The quote service keeps answering when its backend restarts"
    );
    assert_eq!(d["tags"], json!(["http", "process", "restart"]));
    assert_eq!(
        d["steady_state"]["probes"],
        json!([
            {"name": "quote-service-must-answer",
             "http": {"url": "${env.QUOTE_URL:-http://127.0.0.1:18200/api/quote}"},
             "timeout": "3s", "expect": {"status": 200}},
            {"name": "backend-process-is-running",
             "command": ["test", "-s", "${var.backend_pidfile:-/tmp/backend.pid}"],
             "timeout": "2s", "expect": {"exit": 0}},
        ])
    );
    // The restart at 0s, then 10s after it and 2.5s before the next: 12.5s; 5s after that ends it.
    let method = d["method"].as_array().unwrap();
    assert_eq!(method[0]["at"], "0s");
    assert_eq!(
        method[0]["action"]["command"],
        json!([
            "sh",
            "-c",
            "kill -TERM $(cat ${var.backend_pidfile:-/tmp/backend.pid})"
        ])
    );
    assert_eq!(method[1]["at"], "12500ms");
    assert_eq!(
        method[1]["action"]["command"],
        json!([
            "curl",
            "-sS",
            "-o",
            "/dev/null",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            "{\"symbol\":\"ACME\"}",
            "--max-time",
            "2",
            "http://127.0.0.1:18200/api/quote"
        ])
    );
    assert_eq!(d["duration"], "17500ms");
    assert_eq!(
        d["rollbacks"],
        json!([{"command": ["sh", "-c", "systemctl --user start backend.service"]}])
    );
}

#[test]
fn a_toxiproxy_proxy_and_latency_toxic_become_a_proxy_and_a_timed_fault() {
    let i = import("toxiproxy-latency.json");
    assert_eq!((i.code, i.stderr.as_str()), (0, ""), "{}", i.yaml);
    assert_valid(&i, &[]);
    let d = &i.doc;
    assert_eq!(
        d["proxies"],
        json!([{"name": "db", "listen": "127.0.0.1:15432", "upstream": "127.0.0.1:${env.DB_PORT:-5432}"}])
    );
    // Range 200..204 on the status; a [connect, read] timeout adds up.
    assert_eq!(
        d["steady_state"]["probes"][0],
        json!({"name": "front-page-answers", "http": {"url": "http://127.0.0.1:18300/"},
               "timeout": "3s", "expect": {"status": [200, 201, 202, 203, 204]}})
    );
    // Created after the proxy's 2s pause, deleted 20s later; the method ends 10s after that.
    assert_eq!(
        d["method"],
        json!([{"at": "2s", "name": "slow-db-link", "for": "20s",
                "fault": {"proxy": "db", "type": "latency",
                          "attributes": {"jitter": 50, "latency": "${var.latency_ms:-500}"}}}])
    );
    assert_eq!(d["duration"], "32s");
    assert!(
        d.get("rollbacks").is_none(),
        "delete_proxy is teardown: {}",
        i.yaml
    );
}

#[test]
fn every_toxic_action_of_the_extension_becomes_its_fault() {
    let i = import("toxiproxy-toxics.yaml");
    assert_eq!((i.code, i.stderr.as_str()), (0, ""), "{}", i.yaml);
    assert_valid(&i, &[]);
    let steps: Vec<(String, String, String, Value)> = i.doc["method"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["at"].as_str().unwrap().to_string(),
                s["for"].as_str().unwrap().to_string(),
                s["fault"]["type"].as_str().unwrap().to_string(),
                s["fault"]["attributes"].clone(),
            )
        })
        .collect();
    let want = |at: &str, for_: &str, kind: &str, attrs: Value| {
        (at.to_string(), for_.to_string(), kind.to_string(), attrs)
    };
    assert_eq!(
        steps,
        [
            want("1s", "3s", "bandwidth", json!({"rate": 16})),
            want("4s", "18s", "slow_close", json!({"delay": 2000})),
            want("6s", "16s", "timeout", json!({"timeout": 1000})),
            want(
                "8s",
                "14s",
                "slicer",
                json!({"average_size": 64, "size_variation": 16, "delay": 100})
            ),
            want("10s", "12s", "limit_data", json!({"bytes": 1024})),
            want(
                "12s",
                "10s",
                "latency",
                json!({"latency": 200, "jitter": 20})
            ),
            // disable_proxy … enable_proxy: connections reset for the 3s in between.
            want("14s", "3s", "reset_peer", json!({"timeout": 0})),
        ]
    );
    let generic = &i.doc["method"][5]["fault"];
    assert_eq!(
        (&generic["stream"], &generic["toxicity"]),
        (&json!("upstream"), &json!(0.5))
    );
    assert_eq!(i.doc["duration"], "22s");
    assert_eq!(
        i.doc["proxies"][0]["upstream"],
        "${env.CACHE_HOST:-127.0.0.1}:6379"
    );
    assert_eq!(
        i.doc["steady_state"]["probes"][1],
        json!({"name": "worker-reports-ok", "command": ["echo", "ok"], "expect": {"stdout": "^ok"}})
    );
}

#[test]
fn what_cannot_be_translated_is_listed_exactly_and_the_exit_code_is_4() {
    let i = import("partial.json");
    assert_eq!(i.code, 4, "{}", i.stderr);
    let file = fixture("partial.json").display().to_string();
    let expected = [
        "$.controls: controls (hooks around activities) have no shakedown equivalent",
        "$.secrets: secrets have no shakedown equivalent: pass them as environment variables (`${env.NAME}`)",
        "$.steady-state-hypothesis.probes[0].provider: the Python function os.path.exists has no shakedown equivalent",
        "$.steady-state-hypothesis.probes[1].tolerance: tolerance {\"pattern\":\"json\",\"target\":\"headers\",\"type\":\"regex\"} has no shakedown equivalent (an HTTP probe takes a status, a list or range of them, a body regex or a JSONPath with `expect`; a process probe an exit code or a stdout regex): the probe is left out",
        "$.method[0].provider.arguments.listen_port: a random listen port (published as `api_PORT`) has no shakedown equivalent: written as port 0; give the proxy a fixed port",
        "$.method[1].provider: removed at the moment it is added ($.method[2].provider): no pause between, so no time under the fault",
        "$.method[3].provider: proxy `payments` is not created in this experiment (create_proxy): declare it under `proxies` and add this fault by hand",
        "$.method[4].provider.func: `modify_proxy` of the toxiproxy extension has no shakedown equivalent",
        "$.method[5]: a probe in the method (its result only goes to the journal): shakedown samples its steady-state probes throughout the run",
        "$.method[6].controls: an activity's `controls` have no shakedown equivalent",
        "$.method[6].provider.arguments: `${target_host}` is not in the configuration: written as `${var.target_host}` (set it with --var target_host=…)",
        "$.method[7].provider.arguments: `${target_host}` is not in the configuration: written as `${var.target_host}` (set it with --var target_host=…)",
        "$.rollbacks[1].provider: the Python function os.sync has no shakedown equivalent",
    ]
    .map(|line| format!("{file}: {line}"));
    assert_eq!(i.stderr.lines().collect::<Vec<_>>(), expected);
    // What did translate is still a valid experiment (given the variable it names).
    assert_valid(&i, &["target_host=127.0.0.1"]);
    assert_eq!(
        i.doc["steady_state"]["probes"],
        json!([{"name": "api-answers",
                "http": {"url": "${var.api_url:-http://127.0.0.1:18400}/health"},
                "timeout": "1500ms", "expect": {"status": [200, 204]}}])
    );
    // The `ref` repeats `notify` 2s later; the reset in the rollbacks is teardown.
    let at: Vec<&str> = i.doc["method"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["at"].as_str().unwrap())
        .collect();
    assert_eq!(at, ["6s", "8s"]);
    assert!(i.doc.get("rollbacks").is_none(), "{}", i.yaml);
}

#[test]
fn stdout_holds_the_experiment_when_no_output_file_is_given() {
    let out = Command::new(binary())
        .args(["import", "chaostoolkit"])
        .arg(fixture("toxiproxy-latency.json"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_saphyr::from_str(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(doc["proxies"][0]["name"], "db");
}

#[test]
fn an_input_that_is_not_an_experiment_is_refused_with_exit_2_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.yaml");
    for (name, text, message) in [
        (
            "no-method.json",
            r#"{"title": "t"}"#,
            "not a Chaos Toolkit experiment: no `method` list",
        ),
        (
            "no-title.json",
            r#"{"method": []}"#,
            "not a Chaos Toolkit experiment: no `title`",
        ),
        (
            "list.json",
            "[1, 2]",
            "not a Chaos Toolkit experiment: the file is not a mapping",
        ),
        ("broken.json", r#"{"title": "#, "broken.json"),
    ] {
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        let out = Command::new(binary())
            .args(["import", "chaostoolkit"])
            .arg(&input)
            .arg("-o")
            .arg(&out_file)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(message) && stderr.contains(name),
            "{name}: {stderr}"
        );
        assert!(!out_file.exists(), "{name}: an output was written");
    }
}

/// The fixtures are real Chaos Toolkit experiments: chaoslib loads and validates each one
/// (`fixtures/chaostoolkit/check.py`). Needs a Python with `chaostoolkit-lib` and
/// `chaostoolkit-toxiproxy`: `SHAKEDOWN_CTK_PYTHON`, else /tmp/ctk/bin/python
/// (`python3 -m venv /tmp/ctk && /tmp/ctk/bin/pip install chaostoolkit-lib chaostoolkit-toxiproxy`).
#[test]
fn chaos_toolkit_itself_accepts_every_fixture() {
    let python = std::env::var_os("SHAKEDOWN_CTK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/ctk/bin/python"));
    if !python.exists() {
        eprintln!(
            "skipped: no Chaos Toolkit Python at {} (set SHAKEDOWN_CTK_PYTHON)",
            python.display()
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(&python)
        .arg(fixture("check.py"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let valid = stdout.lines().filter(|l| l.ends_with(": valid")).count();
    assert_eq!(valid, 4, "{stdout}");
}

/// An imported experiment runs: a Chaos Toolkit experiment that blackholes a proxy in front of
/// the demo target for the 2s between `create_timeout_toxic` and `delete_toxic` becomes a fault
/// injected at 1s and removed at 3s (the pauses), detected by the translated HTTP probe, and the
/// steady state holds again after the method: exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_toxiproxy_experiment_runs_with_the_faults_at_the_pauses_times() {
    let target = DemoTarget::start(&[]);
    let proxy_port = free_port();
    let toxic = |func: &str, args: Value, after: u64| {
        json!({"type": "action", "name": func, "pauses": {"after": after},
               "provider": {"type": "python", "module": "chaostoxi.toxic.actions",
                            "func": func, "arguments": args}})
    };
    let ctk = json!({
        "title": "The demo target answers again once its link stops blackholing",
        "configuration": {"proxy_port": proxy_port},
        "steady-state-hypothesis": {"title": "healthy", "probes": [
            {"type": "probe", "name": "health", "tolerance": 200,
             "provider": {"type": "http", "url": "http://127.0.0.1:${proxy_port}/health", "timeout": 1}}
        ]},
        "method": [
            {"type": "action", "name": "proxy", "pauses": {"after": 1},
             "provider": {"type": "python", "module": "chaostoxi.proxy.actions", "func": "create_proxy",
                          "arguments": {"proxy_name": "kv", "listen_host": "127.0.0.1",
                                        "listen_port": "${proxy_port}", "upstream_host": "127.0.0.1",
                                        "upstream_port": target.addr.port()}}},
            toxic("create_timeout_toxic", json!({"for_proxy": "kv", "toxic_name": "hole", "timeout": 0}), 2),
            toxic("delete_toxic", json!({"for_proxy": "kv", "toxic_name": "hole"}), 3),
        ],
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ctk.json");
    std::fs::write(&input, ctk.to_string()).unwrap();
    let file = dir.path().join("imported.yaml");
    let out = Command::new(binary())
        .args(["import", "chaostoolkit"])
        .arg(&input)
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ran, doc) = run_journaled(&file).await;
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert_eq!(ran.code, 0, "{yaml}\n{}\n{}", ran.stdout, ran.stderr);
    let step = &doc["experiments"][0]["runs"][0]["steps"][0];
    assert_eq!(step["kind"], "fault", "{step}");
    let injected = step["injected_at"].as_f64().unwrap();
    let removed = step["removed_at"].as_f64().unwrap();
    // Planned at 1s and 3s; the control API confirms within a generous bound on a busy machine.
    assert_eq!(step["planned_at"].as_f64(), Some(1.0), "{step}");
    assert!((1.0..2.5).contains(&injected), "{step}");
    assert!((3.0..4.5).contains(&removed), "{step}");
    assert!(
        step["measurement"]["detected_at"].is_number(),
        "the blackhole went unseen: {step}"
    );
}

/// Numbers no experiment can hold (pauses and timeouts of 1e20 s and more, ports over 65535, a
/// name with spaces) are listed, never a panic, and an output the validator would refuse is
/// not "everything translated": exit 4 with each problem named.
#[test]
fn absurd_numbers_and_names_are_listed_and_the_import_is_incomplete() {
    let ctk = json!({
        "title": "absurd",
        "steady-state-hypothesis": {"title": "h", "probes": [
            {"type": "probe", "name": "health", "tolerance": 200,
             "provider": {"type": "http", "url": "http://127.0.0.1:1/health", "timeout": [1e300, 1e300]}}
        ]},
        "method": [
            {"type": "action", "name": "proxy", "pauses": {"after": 1e20, "before": 1.5e19},
             "provider": {"type": "python", "module": "chaostoxi.proxy.actions", "func": "create_proxy",
                          "arguments": {"proxy_name": "<script> bad name", "listen_host": "127.0.0.1",
                                        "listen_port": 70000, "upstream_host": "127.0.0.1",
                                        "upstream_port": 99999999999u64}}},
        ],
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("absurd.json");
    std::fs::write(&input, ctk.to_string()).unwrap();
    let out = Command::new(binary())
        .args(["import", "chaostoolkit"])
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    for said in [
        "is not a timeout in seconds",
        "is not a number of seconds from 0 to 604800",
        "translated, but not a valid experiment",
        "proxies[0].name",
        "proxies[0].listen",
    ] {
        assert!(stderr.contains(said), "{said}: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}
