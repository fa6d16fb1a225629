//! `shakedown fault`, `note` and `journal export` against a real `shakedown serve` process with
//! a token: what they change, what they print, and their exit codes (0 done, 2 bad input, 3
//! server unreachable or refusing the token). docs/gameday-cli.md lists exactly their flags.

mod support;

use std::net::SocketAddr;

use serde_json::Value;
use support::proxy::*;

const TOKEN: &str = "cli-test-token-0123";

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `shakedown ARGS` against `api` (through SHAKEDOWN_URL and SHAKEDOWN_TOKEN).
async fn cli(api: SocketAddr, token: Option<&str>, args: &[&str]) -> Out {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"));
    cmd.args(args)
        .env("SHAKEDOWN_URL", format!("http://{api}"))
        .env_remove("SHAKEDOWN_TOKEN");
    if let Some(t) = token {
        cmd.env("SHAKEDOWN_TOKEN", t);
    }
    let out = tokio::time::timeout(STEP, cmd.output())
        .await
        .expect("the command finished")
        .unwrap();
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `GET PATH` with the token.
async fn get(api: SocketAddr, path: &str) -> Value {
    let r = http_with(
        api,
        "GET",
        path,
        None,
        &format!("Authorization: Bearer {TOKEN}\r\n"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

async fn serve_with_token() -> (tokio::process::Child, SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, TOKEN).unwrap();
    let (child, api) = spawn_serve(&[
        "--port".as_ref(),
        "0".as_ref(),
        "--token-file".as_ref(),
        file.as_os_str(),
    ])
    .await;
    (child, api, dir)
}

#[tokio::test]
async fn fault_commands_add_list_remove_and_clear() {
    let (_child, api, _dir) = serve_with_token().await;
    let (up, _u) = echo_upstream().await;
    let body = format!(r#"{{"name":"db","upstream":"{up}","protocol":"http"}}"#);
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    assert_eq!(
        http_with(api, "POST", "/proxies", Some(&body), &auth)
            .await
            .status,
        201
    );
    let t = Some(TOKEN);
    let o = cli(
        api,
        t,
        &[
            "fault",
            "add",
            "db",
            "latency",
            "latency=300",
            "jitter=50",
            "--toxicity",
            "0.5",
            "--stream",
            "up",
        ],
    )
    .await;
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert_eq!(
        o.stdout,
        "db: added latency_upstream (latency, upstream, toxicity 0.5) jitter=50 latency=300\n"
    );
    let toxics = get(api, "/proxies/db/toxics").await;
    assert_eq!(toxics[0]["attributes"]["latency"], 300);
    assert_eq!(toxics[0]["stream"], "upstream");
    let o = cli(
        api,
        t,
        &[
            "fault",
            "add",
            "db",
            "http_abort",
            "status=503",
            "--name",
            "boom",
            "headers={\"retry-after\":\"1\"}",
        ],
    )
    .await;
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    // Bad input: each named, nothing sent (exit 2).
    for (args, message) in [
        (
            vec!["fault", "add", "db", "latency", "latncy=3"],
            "latency: unknown attribute \"latncy\" (expected latency, jitter)",
        ),
        (
            vec!["fault", "add", "db", "latency", "latency=3ms"],
            "latency.latency: expected a non-negative integer (in ms), got \"3ms\"",
        ),
        (
            vec!["fault", "add", "db", "latency", "latency"],
            "\"latency\": expected KEY=VALUE",
        ),
        (
            vec!["fault", "add", "db", "noop", "x=1"],
            "noop: unknown attribute \"x\" (noop takes none)",
        ),
        (
            vec!["fault", "add", "db", "latensy"],
            "unknown toxic type \"latensy\" (expected one of latency, bandwidth",
        ),
        (
            vec!["fault", "add", "db", "bandwidth"],
            "bandwidth: attributes.rate: must be > 0",
        ),
        (
            vec!["fault", "add", "db", "latency", "--toxicity", "2"],
            "--toxicity: must be between 0 and 1, got 2",
        ),
        (
            vec![
                "fault",
                "add",
                "db",
                "http_abort",
                "status=503",
                "headers=x",
            ],
            "http_abort.headers: expected a JSON object",
        ),
        (
            vec!["fault", "add", "db", "latency", "--name", "a b"],
            "--name \"a b\" contains ' '",
        ),
        // The server's refusals of the input: no such proxy, a name taken.
        (
            vec!["fault", "add", "nope", "latency"],
            "404 proxy not found",
        ),
        (
            vec!["fault", "add", "db", "latency", "--stream", "up"],
            "409 toxic already exists",
        ),
        (vec!["fault", "rm", "db", "nope"], "404 toxic not found"),
        (vec!["fault", "clear"], "required"),
    ] {
        let o = cli(api, t, &args).await;
        assert_eq!(o.code, Some(2), "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(message), "{args:?}: {}", o.stderr);
    }
    assert_eq!(
        get(api, "/proxies/db/toxics")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let o = cli(api, t, &["fault", "list"]).await;
    assert_eq!(o.code, Some(0));
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", o.stdout);
    assert!(lines[0].starts_with("PROXY  LISTEN"), "{}", lines[0]);
    assert!(
        lines[1].contains("latency_upstream") && lines[1].contains("latency=300"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("boom") && lines[2].contains("status=503"),
        "{}",
        lines[2]
    );
    let o = cli(api, t, &["fault", "rm", "db", "boom"]).await;
    assert_eq!((o.code, o.stdout.as_str()), (Some(0), "db: removed boom\n"));
    let o = cli(api, t, &["fault", "clear", "db"]).await;
    assert_eq!(
        (o.code, o.stdout.as_str()),
        (Some(0), "db: removed 1 toxic\n")
    );
    assert_eq!(get(api, "/proxies/db/toxics").await, serde_json::json!([]));
    // --all: every toxic of every proxy, proxies kept and enabled.
    cli(api, t, &["fault", "add", "db", "timeout"]).await;
    let disable = r#"{"enabled":false}"#;
    http_with(api, "POST", "/proxies/db", Some(disable), &auth).await;
    let o = cli(api, t, &["fault", "clear", "--all"]).await;
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let db = get(api, "/proxies/db").await;
    assert_eq!(
        (db["toxics"].clone(), db["enabled"].clone()),
        (serde_json::json!([]), Value::Bool(true))
    );
    // The journal says who did it: the CLI's user agent.
    let journal = get(api, "/journal.json").await;
    let actors: Vec<&str> = journal["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert!(actors[1].starts_with("shakedown-cli/"), "{actors:?}");
}

/// Before: `latency=1 latency=2` added latency 2 silently, `1e2` was refused without saying
/// why, and `fault add` printed `toxicity 1.0` where the journal says `toxicity 1`.
#[tokio::test]
async fn repeated_keys_and_exponents_are_refused_and_toxicity_reads_as_in_the_journal() {
    let (_child, api, _dir) = serve_with_token().await;
    let (up, _u) = echo_upstream().await;
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let body = format!(r#"{{"name":"db","upstream":"{up}"}}"#);
    let created = http_with(api, "POST", "/proxies", Some(&body), &auth).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let t = Some(TOKEN);
    let hint = "an exponent or a fraction is not an integer here: write it in digits, 100";
    for (args, message) in [
        (
            vec!["fault", "add", "db", "latency", "latency=1", "latency=2"],
            "latency.latency: given twice (latency=1 and latency=2): give it once".to_string(),
        ),
        (
            vec!["fault", "add", "db", "latency", "latency=1e2"],
            format!(
                "latency.latency: expected a non-negative integer (in ms), got \"1e2\" ({hint})"
            ),
        ),
        (
            vec!["fault", "add", "db", "latency", "latency=100.0"],
            format!("({hint})"),
        ),
    ] {
        let o = cli(api, t, &args).await;
        assert_eq!(o.code, Some(2), "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains(&message), "{args:?}: {}", o.stderr);
    }
    // The control API refuses the same number alike, saying the same.
    let refused = http_with(
        api,
        "POST",
        "/proxies/db/toxics",
        Some(r#"{"type":"latency","attributes":{"latency":1e2}}"#),
        &auth,
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains(hint), "{}", refused.body);
    assert_eq!(get(api, "/proxies/db/toxics").await, serde_json::json!([]));
    let o = cli(api, t, &["fault", "add", "db", "latency", "latency=100"]).await;
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let words = "(latency, downstream, toxicity 1)";
    assert_eq!(
        o.stdout,
        format!("db: added latency_downstream {words} jitter=0 latency=100\n")
    );
    let journal = get_text(api, "/journal.md").await;
    assert!(
        journal.contains(&format!("{words}: latency=100 ms")),
        "{journal}"
    );
    let o = cli(api, t, &["fault", "list"]).await;
    let row = o.stdout.lines().nth(1).unwrap_or_default();
    assert!(row.contains("  downstream  1  "), "{}", o.stdout);
}

#[tokio::test]
async fn notes_and_journal_export() {
    let (_child, api, dir) = serve_with_token().await;
    let t = Some(TOKEN);
    let o = cli(api, t, &["note", "p99 doubled at 14:03", "--author", "bob"]).await;
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    assert!(
        o.stdout.starts_with("noted #1 at +") && o.stdout.ends_with(": p99 doubled at 14:03\n"),
        "{}",
        o.stdout
    );
    let o = cli(api, t, &["note", ""]).await;
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr
            .contains("text: must be 1 to 4000 characters, got 0"),
        "{}",
        o.stderr
    );
    let md = dir.path().join("journal.md");
    let o = cli(
        api,
        t,
        &[
            "journal",
            "export",
            "--format",
            "md",
            "-o",
            md.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(o.code, Some(0), "{}", o.stderr);
    let text = std::fs::read_to_string(&md).unwrap();
    assert_eq!(text, get_text(api, "/journal.md").await);
    assert!(
        text.lines()
            .last()
            .unwrap()
            .ends_with("] bob: p99 doubled at 14:03"),
        "{text}"
    );
    let o = cli(api, t, &["journal", "export", "--format", "json"]).await;
    assert_eq!(o.code, Some(0));
    let json: Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(json["events"][0]["text"], "p99 doubled at 14:03");
    let o = cli(
        api,
        t,
        &["journal", "export", "-o", "/nonexistent/folder/j.md"],
    )
    .await;
    assert_eq!(o.code, Some(2));
    assert!(
        o.stderr
            .contains("-o /nonexistent/folder/j.md: cannot write"),
        "{}",
        o.stderr
    );
}

async fn get_text(api: SocketAddr, path: &str) -> String {
    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    http_with(api, "GET", path, None, &auth).await.body
}

#[tokio::test]
async fn unreachable_or_refusing_servers_exit_3() {
    let (_child, api, _dir) = serve_with_token().await;
    // No token, a wrong one: the server refuses (exit 3, its message shown).
    let o = cli(api, None, &["fault", "list"]).await;
    assert_eq!(o.code, Some(3), "{}", o.stderr);
    assert!(
        o.stderr.contains("401 this server requires a token"),
        "{}",
        o.stderr
    );
    let o = cli(api, Some("wrong"), &["note", "x"]).await;
    assert_eq!(o.code, Some(3));
    assert!(o.stderr.contains("401 wrong bearer token"), "{}", o.stderr);
    // Nobody listening.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let o = cli(free, Some(TOKEN), &["fault", "list"]).await;
    assert_eq!(o.code, Some(3), "{}", o.stderr);
    assert!(
        o.stderr.contains("is `shakedown serve` running there?"),
        "{}",
        o.stderr
    );
    // A URL that is not the API's address is bad input.
    let o = cli(api, Some(TOKEN), &["fault", "list", "--url", "ftp://x"]).await;
    assert_eq!(o.code, Some(2), "{}", o.stderr);
}

/// docs/gameday-cli.md documents exactly the flags each command's --help lists (its own in its
/// section, the shared ones once at the top).
#[test]
fn the_doc_lists_exactly_the_flags_of_help() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/gameday-cli.md"))
        .unwrap();
    let flag = regex::Regex::new(r"--[a-z][a-z-]+").unwrap();
    for args in [
        &["fault", "add", "--help"][..],
        &["fault", "list", "--help"],
        &["fault", "rm", "--help"],
        &["fault", "clear", "--help"],
        &["note", "--help"],
        &["journal", "export", "--help"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
            .args(args)
            .output()
            .unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let heading = format!("## `shakedown {}`", args[..args.len() - 1].join(" "));
        let section = doc
            .split("\n## ")
            .find(|s| format!("## {s}").starts_with(&heading))
            .unwrap_or_else(|| panic!("docs/gameday-cli.md has no section {heading}"));
        let flags = |text: &str| -> std::collections::BTreeSet<String> {
            flag.find_iter(text)
                .map(|m| m.as_str().to_string())
                .filter(|f| f != "--help" && f != "--version")
                .collect()
        };
        // The flags every command takes are described once, before the first section.
        let common = doc.split("\n## ").next().unwrap_or_default();
        let documented: std::collections::BTreeSet<String> =
            flags(section).union(&flags(common)).cloned().collect();
        assert_eq!(documented, flags(&help), "{heading}");
    }
}
