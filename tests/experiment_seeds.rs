//! The five experiments that replace the seed reports (tagged `seed`) run to their documented
//! verdicts against the embedded demo target, with numbers checked in the journal.
//!
//! The load-only ones run shortened through their own `DURATION` variable (that is what the
//! variable is for); the two with faults run as committed, since their method is fixed.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::runner::journal;

/// Run `shakedown run FILE --json …` with extra environment variables; exit code, stdout and
/// the journal's only run. Bounded: killed after two minutes.
async fn run(file: &str, env: &[(&str, &str)]) -> (i32, String, Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("run.json");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"));
    cmd.args(["run", file, "--quiet", "--json", json.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(
        Duration::from_secs(120),
        cmd.spawn().unwrap().wait_with_output(),
    )
    .await
    .expect("the experiment finished within 2 minutes")
    .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(Path::new(&json).exists(), "no journal: {text}");
    let doc = journal(&json);
    let run = doc["experiments"][0]["runs"][0].clone();
    (out.status.code().unwrap_or(-1), text, run)
}

fn f64_at(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}

fn u64_at(v: &Value, pointer: &str) -> u64 {
    v.pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}
