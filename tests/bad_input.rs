//! Bad input over real HTTP: each gets a clear 4xx body naming the field, and the server keeps
//! serving. Bad experiment files: every extreme duration and every name that could escape a
//! folder is refused by `validate` with `file:line:col` and the field, before anything runs.

mod support;

use serde_json::Value;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn expect_error(
    api: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    status: u16,
    says: &str,
) {
    let r = http(api, method, path, Some(body)).await;
    assert_eq!(r.status, status, "{method} {path} {body}: {}", r.body);
    let v: Value = r.json();
    let msg = v["error"].as_str().unwrap_or_default();
    assert!(msg.contains(says), "{body}: expected {says:?} in {msg:?}");
    assert_eq!(v["status"], status);
}

#[tokio::test]
async fn bad_bodies_name_the_field_and_the_server_keeps_serving() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    create_proxy(api, "p", up).await;
    let toxics = "/proxies/p/toxics";
    expect_error(
        api,
        "POST",
        "/proxies",
        "{not json",
        400,
        "bad request body: key must be a string",
    )
    .await;
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":5,"upstream":"x:1"}"#,
        400,
        "name: expected a string, got 5",
    )
    .await;
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":"q","upstream":"127.0.0.1:1","enabled":"yes"}"#,
        400,
        "enabled: expected true or false",
    )
    .await;
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":"q","upstream":"127.0.0.1:1","colour":1}"#,
        400,
        "colour: unknown field",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","toxicity":1.5}"#,
        400,
        "toxicity: must be between 0 and 1, got 1.5",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","toxicity":"high"}"#,
        400,
        "toxicity: expected a number",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"bandwidth","attributes":{"rate":0}}"#,
        400,
        "attributes.rate: must be > 0",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","attributes":{"latency":31536000000}}"#,
        400,
        "attributes.latency: must be at most 86400000 ms",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","attributes":{"latency":-5}}"#,
        400,
        "attributes.latency: expected a non-negative integer, got -5",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","attributes":{"latency":"100ms"}}"#,
        400,
        "attributes.latency",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"teleport"}"#,
        400,
        "invalid toxic type",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","stream":"sideways"}"#,
        400,
        "stream was invalid",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"noop","lease_ms":0}"#,
        400,
        "lease_ms",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"noop","attributes":[1]}"#,
        400,
        "attributes: expected an object",
    )
    .await;
    // Upstreams that cannot resolve. (Names that would need a DNS server are
    // avoided: tests send traffic only to 127.0.0.0/8.)
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":"u","upstream":"localhost"}"#,
        400,
        "upstream: cannot resolve \"localhost\"",
    )
    .await;
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":"u","upstream":"localhost:99999"}"#,
        400,
        "upstream: cannot resolve",
    )
    .await;
    // A listen port already in use.
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let body = format!(
        r#"{{"name":"dup","listen":"{}","upstream":"{up}"}}"#,
        taken.local_addr().unwrap()
    );
    expect_error(api, "POST", "/proxies", &body, 409, "listen: address").await;
    assert_eq!(
        http(api, "GET", "/proxies/dup", None).await.status,
        404,
        "no half-made proxy"
    );
    // Still serving, and nothing was half-applied.
    let r = http(api, "GET", "/proxies/p/toxics", None).await;
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));
    srv.shutdown().await;
}

#[tokio::test]
async fn a_100_mb_body_is_refused_with_413() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let mut s = TcpStream::connect(api).await.unwrap();
    let size = 100 * 1024 * 1024;
    let head = format!(
        "POST /proxies HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let (mut r, mut w) = s.into_split();
    // Stream the body concurrently; the server may stop reading (and reset) at any point.
    let writer = tokio::spawn(async move {
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..100 {
            if w.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&raw).contains("\"status\":413") {
        match tokio::time::timeout(STEP, r.read(&mut buf))
            .await
            .expect("no answer")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let reply = parse_reply(&raw);
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(
        reply.body.contains("request body too large"),
        "{}",
        reply.body
    );
    writer.abort();
    // Chunked bodies are capped too.
    let mut s = TcpStream::connect(api).await.unwrap();
    let mut req =
        b"POST /populate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"80000\r\n");
        req.extend_from_slice(&vec![b' '; 0x80000]);
        req.extend_from_slice(b"\r\n");
    }
    let _ = s.write_all(&req).await;
    let mut raw = Vec::new();
    while !String::from_utf8_lossy(&raw).contains("\"status\":413") {
        match tokio::time::timeout(STEP, s.read(&mut buf))
            .await
            .expect("no answer")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(parse_reply(&raw).status, 413);
    // And the server keeps serving.
    assert_eq!(http(api, "GET", "/version", None).await.status, 200);
    srv.shutdown().await;
}

/// An experiment that uses every duration field; `FIELD` marks where the value under test goes.
const EVERY_DURATION: &str = r#"title: every duration field
services:
  - {name: a, command: [sleep, "1"], ready_timeout: @services[0].ready_timeout@, stop_timeout: @services[0].stop_timeout@}
steady_state:
  interval: @steady_state.interval@
  probes:
    - {name: p, command: [sh, -c, "true"], timeout: @steady_state.probes[0].timeout@}
guards:
  - {name: g, command: [sh, -c, "true"], timeout: @guards[0].timeout@, for: @guards[0].for@}
method:
  - {at: @method[0].at@, action: {command: [sh, -c, "true"], timeout: @method[0].action.timeout@}}
duration: @duration@
expect:
  recovered_within: @expect.recovered_within@
  detected_within: @expect.detected_within@
rollbacks:
  - {command: ["true"], timeout: @rollbacks[0].timeout@}
"#;

/// The fields of [`EVERY_DURATION`] and an ordinary value for each.
const DURATION_FIELDS: &[(&str, &str)] = &[
    ("services[0].ready_timeout", "5s"),
    ("services[0].stop_timeout", "5s"),
    ("steady_state.interval", "250ms"),
    ("steady_state.probes[0].timeout", "1s"),
    ("guards[0].timeout", "1s"),
    ("guards[0].for", "1s"),
    ("method[0].at", "1s"),
    ("method[0].action.timeout", "1s"),
    ("duration", "2s"),
    ("expect.recovered_within", "1s"),
    ("expect.detected_within", "1s"),
    ("rollbacks[0].timeout", "1s"),
];

/// [`EVERY_DURATION`] with `field` set to `value` and every other field ordinary.
fn with_duration(field: &str, value: &str) -> String {
    DURATION_FIELDS
        .iter()
        .fold(EVERY_DURATION.to_string(), |text, (f, ordinary)| {
            let v = if *f == field { value } else { ordinary };
            text.replace(&format!("@{f}@"), &format!("{v:?}"))
        })
}

fn validate(text: &str) -> Result<(), shakedown::config::ConfigError> {
    let options = shakedown::experiment::validate::LoadOptions::default();
    shakedown::experiment::validate::parse_str(std::path::Path::new("x.yaml"), text, &options)
        .map(|_| ())
}

/// Every duration field against extreme and malformed values (issue 8, item 6): each is refused
/// with a problem located at that field, and nothing panics; the documented bound itself passes.
#[test]
fn every_duration_field_refuses_extreme_values_at_its_position() {
    assert!(
        validate(&with_duration("", "")).is_ok(),
        "the base file is valid"
    );
    let extremes = [
        "18446744073709551615s",
        "18446744073709551615ms",
        "99999999999999999999999s",
        "169h",
        "604801s",
        "1e308s",
        "1e308",
        "-1s",
        "-0s",
        "NaN",
        "nans",
        "infs",
        "1.5",
        "",
        "5 parsecs",
    ];
    for (field, _) in DURATION_FIELDS {
        for value in extremes {
            let e = validate(&with_duration(field, value))
                .expect_err(&format!("{field}: {value:?} validated"));
            let p = e
                .problems
                .iter()
                .find(|p| p.field == *field)
                .unwrap_or_else(|| panic!("{field} = {value:?}: no problem at the field: {e}"));
            assert!(
                p.position.line > 0 && p.position.column > 0,
                "{field}: {p:?}"
            );
        }
        // At the bound: 168h is accepted wherever the rest of the file allows it.
        let at_bound =
            with_duration(field, "168h").replace("duration: \"2s\"", "duration: \"168h\"");
        if let Err(e) = validate(&at_bound) {
            assert!(
                e.problems
                    .iter()
                    .all(|p| !p.message.contains("longest duration")),
                "{field} = 168h: {e}"
            );
        }
    }
}

/// The runner would have panicked on these after starting the service; `validate` refuses
/// them (exit 2) with the file, line, column and field.
#[tokio::test]
async fn validate_refuses_a_u64_max_duration_with_exit_2_and_a_position() {
    let dir = tempfile::tempdir().unwrap();
    for field in ["duration", "method[0].at", "services[0].ready_timeout"] {
        let file = dir.path().join("huge.yaml");
        std::fs::write(&file, with_duration(field, "18446744073709551615s")).unwrap();
        let ran = support::runner::shakedown(&["validate", file.to_str().unwrap()]).await;
        assert_eq!(ran.code, 2, "{field}: {}{}", ran.stdout, ran.stderr);
        let said = format!("{}{}", ran.stdout, ran.stderr);
        assert!(
            said.contains("huge.yaml:") && said.contains(&format!(": {field}: ")),
            "{said}"
        );
        assert!(said.contains("longest duration accepted, 168h"), "{said}");
    }
}

/// Names that become file names and URL paths (issue 8, item 7): services, proxies, probes and
/// guards follow `config::name`; each bad one is refused at its position.
/// A command probe's `expect.exit` outside 0..255 can never be met: refused at the field.
#[test]
fn an_exit_code_no_process_can_return_is_refused() {
    let probe = |exit: &str| {
        format!(
            "title: t\nsteady_state:\n  probes:\n    - {{name: p, command: [\"true\"], expect: {{exit: {exit}}}}}\nduration: 1s\n"
        )
    };
    for exit in ["-1", "256", "2147483647"] {
        let shown = validate(&probe(exit)).unwrap_err().to_string();
        assert!(
            shown.contains(&format!(
                "steady_state.probes[0].expect.exit: {exit} is not an exit code (0..255)"
            )),
            "{shown}"
        );
    }
    for exit in ["0", "255"] {
        assert!(validate(&probe(exit)).is_ok(), "{exit}");
    }
}

/// Every `host:port` of a file (a proxy's `listen` and `upstream`, a tcp probe, a `tcp://`
/// ready check) has one rule (issue 8, item 5's kind): a host and a port of digits in 1..65535
/// (`listen` may be 0: a free port). `tcp://127.0.0.1:70000` validated and the service was
/// then never ready; an upstream of port 0 validated and no connection could reach it.
#[test]
fn every_host_port_of_a_file_has_a_port_in_range() {
    let file = |listen: &str, upstream: &str, tcp: &str, ready: &str| {
        format!(
            "title: t\nservices:\n  - {{name: s, command: [\"true\"], ready: \"tcp://{ready}\"}}\n\
             proxies:\n  - {{name: p, listen: \"{listen}\", upstream: \"{upstream}\"}}\n\
             steady_state:\n  probes:\n    - {{name: t, tcp: \"{tcp}\"}}\nduration: 1s\n"
        )
    };
    let good = "127.0.0.1:65535";
    assert!(validate(&file(good, good, good, good)).is_ok());
    assert!(validate(&file("127.0.0.1:0", "[::1]:1", "localhost:1", good)).is_ok());
    for bad in [
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:+80",
        "127.0.0.1",
        ":80",
    ] {
        let shown = validate(&file(bad, bad, bad, bad)).unwrap_err().to_string();
        for field in [
            "services[0].ready",
            "proxies[0].listen",
            "proxies[0].upstream",
            "steady_state.probes[0].tcp",
        ] {
            assert!(
                shown.contains(&format!("{field}: `{bad}` must be host:port")),
                "{field} in {shown}"
            );
        }
    }
    let shown = validate(&file(good, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"))
        .unwrap_err()
        .to_string();
    for field in [
        "services[0].ready",
        "proxies[0].upstream",
        "steady_state.probes[0].tcp",
    ] {
        assert!(
            shown.contains(&format!(
                "{field}: `127.0.0.1:0` must be host:port with a port in 1..65535"
            )),
            "{field} in {shown}"
        );
    }
}

/// A command or environment the operating system cannot take (a NUL byte; a variable name
/// that is empty or holds `=`) is refused at validation, at its field: it validated, then the
/// run failed in preflight (exit 3) when it started the service.
#[test]
fn commands_and_environments_the_os_cannot_take_are_refused() {
    let cases = [
        (
            "services: [{name: s, command: [\"tr\\0ue\"]}]",
            "services[0].command[0]: contains a NUL byte",
        ),
        (
            "services: [{name: s, command: [sh, -c, \"a\\0b\"]}]",
            "services[0].command[2]: contains a NUL byte",
        ),
        (
            "method: [{at: 0s, action: {command: [echo, \"\\0\"]}}]",
            "method[0].action.command[1]: contains a NUL byte",
        ),
        (
            "rollbacks: [{command: [\"\\0\"]}]",
            "rollbacks[0].command[0]: contains a NUL byte",
        ),
        (
            "steady_state: {probes: [{name: p, command: [echo, \"\\0\"]}]}",
            "steady_state.probes[0].command[1]: contains a NUL byte",
        ),
        (
            "services: [{name: s, command: [\"true\"], env: {\"A=B\": x}}]",
            "services[0].env.A=B: a variable name",
        ),
        (
            "services: [{name: s, command: [\"true\"], env: {\"\": x}}]",
            "services[0].env.: a variable name",
        ),
        (
            "services: [{name: s, command: [\"true\"], env: {A: \"x\\0y\"}}]",
            "services[0].env.A: a variable name",
        ),
    ];
    for (part, said) in cases {
        let text = format!("title: t\n{part}\nduration: 1s\n");
        let shown = validate(&text).unwrap_err().to_string();
        assert!(shown.contains(said), "{said:?} in {shown}");
    }
    let fine =
        "title: t\nservices: [{name: s, command: [\"true\"], env: {A_1: \"x=y\"}}]\nduration: 1s\n";
    assert!(validate(fine).is_ok());
}

#[test]
fn names_that_would_escape_the_run_folder_are_refused() {
    let base = r#"title: names
services:
  - {name: SERVICE, command: [sleep, "1"]}
proxies:
  - {name: PROXY, listen: "127.0.0.1:1", upstream: "127.0.0.1:2"}
steady_state:
  probes:
    - {name: PROBE, tcp: "127.0.0.1:1"}
guards:
  - {name: GUARD, tcp: "127.0.0.1:1", for: 1s}
method:
  - {at: 0s, name: a step label may say anything / even this, action: {command: ["true"]}}
duration: 1s
"#;
    let fields = [
        ("SERVICE", "services[0].name", 3),
        ("PROXY", "proxies[0].name", 5),
        ("PROBE", "steady_state.probes[0].name", 8),
        ("GUARD", "guards[0].name", 10),
    ];
    let ordinary = fields
        .iter()
        .fold(base.to_string(), |t, (m, _, _)| t.replace(m, "ok-name_1.x"));
    validate(&ordinary).expect("ordinary names and a free step label validate");
    for bad in [
        "/abs/path",
        "../../x",
        "..",
        ".hidden",
        "a/b",
        "my db",
        "50%",
        "bäd",
        "q?x",
    ] {
        let quoted = format!("{bad:?}");
        for (marker, field, line) in fields {
            let text = fields.iter().fold(base.to_string(), |t, (m, _, _)| {
                t.replace(m, if *m == marker { &quoted } else { "ok" })
            });
            let e = validate(&text).expect_err(&format!("{field} = {bad:?} validated"));
            let p = e
                .problems
                .iter()
                .find(|p| p.field == field)
                .unwrap_or_else(|| panic!("{field} = {bad:?}: {e}"));
            assert_eq!(p.position.line, line, "{field}: {p:?}");
            assert!(p.message.contains("name"), "{p:?}");
        }
    }
}

/// Files that are not experiment files (issue 8, item 21): each is refused by `validate` (exit
/// 2) saying what it is, with the byte offset and line:col when the content is at fault, and
/// no library hint in the words; a FIFO is never opened (no hang).
#[tokio::test]
async fn files_that_are_not_yaml_text_are_named_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    };
    let fifo = dir.path().join("pipe.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut bomb = String::from("title: bomb\na: &a [x,x,x,x,x,x,x,x,x,x]\n");
    let mut prev = "a".to_string();
    for i in 1..=8 {
        bomb.push_str(&format!(
            "b{i}: &b{i} [{}]\n",
            vec![format!("*{prev}"); 10].join(",")
        ));
        prev = format!("b{i}");
    }
    bomb.push_str("duration: 1s\n");
    let mut big = b"title: big\n# ".to_vec();
    big.resize(1024 * 1024 + 1, b'x');
    let cases: Vec<(String, &str)> = vec![
        (
            "/dev/zero".into(),
            "/dev/zero: is a character device, not a regular file",
        ),
        (
            fifo.display().to_string(),
            "pipe.yaml: is a named pipe (FIFO), not a regular file",
        ),
        (
            put("latin1.yaml", b"title: ok\ntitle2: caf\xe9\n"),
            "latin1.yaml:2:12: not UTF-8 text: byte 0xe9 at byte offset 21",
        ),
        (
            put("binary.yaml", b"\x7fELF\x02\x01\x01\x00\x00"),
            "binary.yaml:1:1: control byte 0x7f at byte offset 0, which YAML does not allow",
        ),
        (
            put("nul.yaml", b"title: a\x00b\nduration: 1s\n"),
            "nul.yaml:1:9: control byte 0x00 at byte offset 8",
        ),
        (
            put("dup.yaml", b"title: a\nduration: 1s\ntitle: b\n"),
            "dup.yaml:3:1: `title` is written twice in the same mapping; each key may appear once",
        ),
        (
            put("bomb.yaml", bomb.as_bytes()),
            "it expands to more than 250000 values (aliases counted each time they are used; an alias bomb?)",
        ),
        (
            put("big.yaml", &big),
            "big.yaml: is 1048577 bytes; files of at most 1048576 bytes (1 MiB) are read",
        ),
    ];
    for (file, says) in cases {
        let ran = support::runner::shakedown(&["validate", &file]).await;
        assert_eq!(ran.code, 2, "{file}: {}{}", ran.stdout, ran.stderr);
        assert!(
            ran.stderr.contains(says),
            "{file}: expected {says:?} in\n{}",
            ran.stderr
        );
        for hint in [
            "DuplicateKeyPolicy",
            "Options",
            "budget breached",
            "Nodes {",
        ] {
            assert!(!ran.stderr.contains(hint), "{file}: {}", ran.stderr);
        }
    }
    // The same reader serves `serve --config`: a folder is named as one.
    let e = shakedown::config::read_text(dir.path()).unwrap_err();
    assert!(
        e.to_string().ends_with(": is a folder, not a regular file"),
        "{e}"
    );
    let e = shakedown::config::read_text(&dir.path().join("absent.yaml")).unwrap_err();
    assert!(e.to_string().ends_with("absent.yaml: no such file"), "{e}");
}
