//! The control plane's security rules, each over real sockets (docs/control-api.md,
//! "Security"): foreign `Host` (DNS rebinding), cross-site browser requests, JSON for
//! state changes, the bearer token, no token off loopback, and the event stream's cap.

mod support;

use std::net::SocketAddr;

use serde_json::json;
use shakedown::control::{ControlServer, ServeOptions};
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn server_with(options: ServeOptions) -> ControlServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ControlServer::start(listener, options).unwrap()
}

/// A raw request with exactly these headers (no implied Host or Content-Type).
async fn raw(api: SocketAddr, head: &str, body: &str) -> Reply {
    let mut s = TcpStream::connect(api).await.unwrap();
    let req = format!(
        "{head}Connection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(STEP, s.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    parse_reply(&out)
}

/// One proxy with one toxic, so a change would show.
async fn one_toxic(api: SocketAddr) -> tokio::task::JoinHandle<()> {
    let (up, task) = echo_upstream().await;
    create_proxy(api, "db", up).await;
    add_toxic(
        api,
        "db",
        r#"{"type":"latency","attributes":{"latency":5}}"#,
    )
    .await;
    task
}

async fn toxics(api: SocketAddr) -> usize {
    http(api, "GET", "/proxies/db/toxics", None)
        .await
        .json()
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_cross_site_browser_post_changes_nothing() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let _up = one_toxic(api).await;
    let journal_before = http(api, "GET", "/journal.json", None).await.json()["events"]
        .as_array()
        .unwrap()
        .len();
    // What an HTML form or a no-cors fetch on evil.example sends: a simple request.
    let cross = format!(
        "POST /reset HTTP/1.1\r\nHost: {api}\r\nOrigin: http://evil.example\r\nContent-Type: text/plain\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\nUser-Agent: Mozilla/5.0\r\n"
    );
    let r = raw(api, &cross, "{}").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        r.json()["error"],
        "cross-origin request refused (Origin \"http://evil.example\")"
    );
    // The same without Origin (an old browser): Sec-Fetch-Site alone refuses it.
    let no_origin = format!(
        "POST /reset HTTP/1.1\r\nHost: {api}\r\nContent-Type: text/plain\r\nSec-Fetch-Site: cross-site\r\n"
    );
    assert_eq!(raw(api, &no_origin, "{}").await.status, 403);
    // Same origin but not JSON (the console never sends that): 415, with or without a body.
    for body in ["{}", ""] {
        let plain = format!(
            "POST /reset HTTP/1.1\r\nHost: {api}\r\nOrigin: http://{api}\r\nContent-Type: text/plain\r\nSec-Fetch-Site: same-origin\r\n"
        );
        assert_eq!(raw(api, &plain, body).await.status, 415, "{body:?}");
        let bare = format!("POST /reset HTTP/1.1\r\nHost: {api}\r\nOrigin: http://{api}\r\n");
        assert_eq!(raw(api, &bare, body).await.status, 415, "{body:?}");
    }
    assert_eq!(toxics(api).await, 1, "a refused request changed nothing");
    let journal_after = http(api, "GET", "/journal.json", None).await.json()["events"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(journal_before, journal_after, "and recorded nothing");
    // The console: same origin, JSON. Allowed.
    let console = format!(
        "POST /reset HTTP/1.1\r\nHost: {api}\r\nOrigin: http://{api}\r\nContent-Type: application/json\r\nSec-Fetch-Site: same-origin\r\nUser-Agent: Mozilla/5.0\r\n"
    );
    assert_eq!(raw(api, &console, "").await.status, 204);
    assert_eq!(toxics(api).await, 0);
    srv.shutdown().await;
}

#[tokio::test]
async fn toxiproxy_clients_without_a_content_type_keep_working() {
    let srv = server(2).await;
    let api = srv.local_addr();
    let _up = one_toxic(api).await;
    // Bodiless DELETE and POST /reset without a content type, as clients send them.
    let del = format!("DELETE /proxies/db/toxics/latency_downstream HTTP/1.1\r\nHost: {api}\r\n");
    assert_eq!(raw(api, &del, "").await.status, 204);
    let reset = format!("POST /reset HTTP/1.1\r\nHost: {api}\r\n");
    assert_eq!(raw(api, &reset, "").await.status, 204);
    // A body needs JSON: `curl -d` (form-encoded) is told what to send.
    let form = format!(
        "POST /proxies/db/toxics HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    );
    let r = raw(api, &form, r#"{"type":"latency"}"#).await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (
            415,
            json!("a request that changes state must send Content-Type: application/json")
        )
    );
    let charset = format!(
        "POST /proxies/db/toxics HTTP/1.1\r\nHost: {api}\r\nContent-Type: Application/JSON; charset=utf-8\r\n"
    );
    assert_eq!(
        raw(api, &charset, r#"{"type":"latency"}"#).await.status,
        200
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_foreign_host_is_refused_unless_allowed() {
    let srv = server_with(ServeOptions {
        allowed_hosts: vec!["chaos.internal".into()],
        ..ServeOptions::default()
    })
    .await;
    let api = srv.local_addr();
    let port = api.port();
    // DNS rebinding: evil.example now resolves to 127.0.0.1, the browser still says its name.
    for host in [
        format!("evil.example:{port}"),
        "localhost.evil.example".into(),
        "10.9.9.9".into(),
    ] {
        let r = raw(
            api,
            &format!("GET /proxies HTTP/1.1\r\nHost: {host}\r\n"),
            "",
        )
        .await;
        assert_eq!(r.status, 403, "{host}: {}", r.body);
        assert!(
            r.json()["error"]
                .as_str()
                .unwrap()
                .contains("is not this server")
        );
    }
    let r = raw(api, "GET /proxies HTTP/1.0\r\n", "").await;
    assert_eq!(r.status, 403, "no Host at all");
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("chaos.internal:{port}"),
        "Chaos.Internal.".into(),
    ] {
        let r = raw(
            api,
            &format!("GET /proxies HTTP/1.1\r\nHost: {host}\r\n"),
            "",
        )
        .await;
        assert_eq!(r.status, 200, "{host}: {}", r.body);
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn a_token_is_required_when_set() {
    let token = "s3cret-token-for-tests";
    let srv = server_with(ServeOptions {
        token: Some(token.into()),
        ..ServeOptions::default()
    })
    .await;
    let api = srv.local_addr();
    let get = format!("GET /proxies HTTP/1.1\r\nHost: {api}\r\n");
    let r = raw(api, &get, "").await;
    assert_eq!(r.status, 401);
    assert!(
        r.headers
            .to_ascii_lowercase()
            .contains("www-authenticate: bearer")
    );
    for wrong in [
        "Bearer s3cret-token-for-test",
        "Bearer s3cret-token-for-testsX",
        "Basic s3cret-token-for-tests",
        "Bearer ",
    ] {
        let r = raw(api, &format!("{get}Authorization: {wrong}\r\n"), "").await;
        assert_eq!(r.status, 401, "{wrong}");
    }
    let auth = format!("Authorization: Bearer {token}\r\n");
    assert_eq!(raw(api, &format!("{get}{auth}"), "").await.status, 200);
    // The scheme is case-insensitive (RFC 9110 §11.1).
    for scheme in ["bearer", "BEARER"] {
        let r = raw(
            api,
            &format!("{get}authorization: {scheme} {token}\r\n"),
            "",
        )
        .await;
        assert_eq!(r.status, 200, "{scheme}");
    }
    // Every endpoint: a refused change changes nothing, the right token changes it.
    let (up, _u) = echo_upstream().await;
    let create =
        format!("POST /proxies HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\n");
    let body = format!(r#"{{"name":"db","upstream":"{up}"}}"#);
    assert_eq!(raw(api, &create, &body).await.status, 401);
    assert_eq!(
        raw(api, &format!("{create}{auth}"), &body).await.status,
        201
    );
    for path in [
        "/toxic-types",
        "/journal.json",
        "/journal.md",
        "/metrics",
        "/version",
        "/events",
    ] {
        let r = raw(api, &format!("GET {path} HTTP/1.1\r\nHost: {api}\r\n"), "").await;
        assert_eq!(r.status, 401, "{path}");
    }
    // The event stream takes the token like every other endpoint (the console uses fetch()).
    let mut s = TcpStream::connect(api).await.unwrap();
    s.write_all(format!("GET /events HTTP/1.1\r\nHost: {api}\r\n{auth}\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // The console's page itself is not behind the token (it asks for it); this server has
    // no console, so: not found rather than unauthorized.
    let r = raw(api, &format!("GET /ui HTTP/1.1\r\nHost: {api}\r\n"), "").await;
    assert_eq!(r.status, 404);
    drop(s);
    srv.shutdown().await;
}

#[tokio::test]
async fn no_token_off_loopback_refuses_to_start() {
    // The library: a listener on every interface without a token is refused.
    let listener = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = ControlServer::start(listener, ServeOptions::default()).unwrap_err();
    assert!(err.to_string().contains("without a token"), "{err}");
    // The command: exit 2 with the reason, nothing left listening.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .env_remove("SHAKEDOWN_TOKEN")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve the control API on 0.0.0.0:")
            && err.contains("--token-file"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "it never said it was listening");
    // Bad token input: empty file, both forms at once.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    for args in [
        vec!["--token-file".as_ref(), empty.as_os_str()],
        vec![
            "--token".as_ref(),
            "a".as_ref(),
            "--token-file".as_ref(),
            empty.as_os_str(),
        ],
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
            .args(["serve", "--port", "0"])
            .args(&args)
            .env_remove("SHAKEDOWN_TOKEN")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[tokio::test]
async fn serve_takes_its_token_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "file-token-123\n").unwrap();
    let (_child, api) = spawn_serve(&[
        "--port".as_ref(),
        "0".as_ref(),
        "--token-file".as_ref(),
        file.as_os_str(),
    ])
    .await;
    let get = format!("GET /version HTTP/1.1\r\nHost: {api}\r\n");
    assert_eq!(raw(api, &get, "").await.status, 401);
    let ok = format!("{get}Authorization: Bearer file-token-123\r\n");
    assert_eq!(raw(api, &ok, "").await.status, 200);
    // --token-file wins over SHAKEDOWN_TOKEN in the environment (which is then not a token).
    let args = [
        "--port".as_ref(),
        "0".as_ref(),
        "--token-file".as_ref(),
        file.as_os_str(),
    ];
    let (_child, api) = spawn_serve_env(&args, &[("SHAKEDOWN_TOKEN", "env-token-456")]).await;
    let get = format!("GET /version HTTP/1.1\r\nHost: {api}\r\n");
    assert_eq!(
        raw(
            api,
            &format!("{get}Authorization: Bearer file-token-123\r\n"),
            ""
        )
        .await
        .status,
        200
    );
    assert_eq!(
        raw(
            api,
            &format!("{get}Authorization: Bearer env-token-456\r\n"),
            ""
        )
        .await
        .status,
        401
    );
    // Bad token input names where it came from: the variable, the file.
    let missing = dir.path().join("missing");
    for (args, env, says) in [
        (
            vec![],
            "",
            "SHAKEDOWN_TOKEN: the token is empty".to_string(),
        ),
        (
            vec!["--token-file".as_ref(), missing.as_os_str()],
            "env-token",
            format!("--token-file {}: ", missing.display()),
        ),
    ] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
            .args(["serve", "--port", "0"])
            .args(&args)
            .env("SHAKEDOWN_TOKEN", env)
            .output()
            .await
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(&says), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn event_stream_subscribers_are_capped() {
    let srv = server(3).await;
    let api = srv.local_addr();
    let open = || async {
        let mut s = TcpStream::connect(api).await.unwrap();
        s.write_all(format!("GET /events HTTP/1.1\r\nHost: {api}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).await.unwrap();
        (String::from_utf8_lossy(&head).into_owned(), s)
    };
    let max = shakedown::control::events::MAX_SUBSCRIBERS;
    let mut streams = Vec::new();
    for _ in 0..max {
        let (head, s) = open().await;
        assert_eq!(head, "HTTP/1.1 200");
        streams.push(s);
    }
    let r = raw(api, &format!("GET /events HTTP/1.1\r\nHost: {api}\r\n"), "").await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json()["error"],
        format!("too many event stream subscribers (at most {max})")
    );
    // The rest of the API is unaffected.
    assert_eq!(http(api, "GET", "/version", None).await.status, 200);
    // A subscriber that leaves frees its slot (once the server notices: bounded retries).
    drop(streams.pop());
    let mut reopened = false;
    for _ in 0..100 {
        let (head, s) = open().await;
        if head == "HTTP/1.1 200" {
            streams.push(s);
            reopened = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(reopened, "the freed slot was never reused");
    srv.shutdown().await;
}

/// `shakedown run` against an external control API with a token: it sends SHAKEDOWN_TOKEN,
/// and its faults are journaled as made by `shakedown/VERSION`; without the token the server
/// refuses the proxies and the run aborts (exit 3) having changed nothing.
#[tokio::test]
async fn run_sends_its_token_to_an_external_control_api() {
    let token = "run-token-456";
    let srv = server_with(ServeOptions {
        token: Some(token.into()),
        ..ServeOptions::default()
    })
    .await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("exp.yaml");
    std::fs::write(
        &file,
        format!(
            "title: token\ncontrol: http://{api}\nproxies:\n  - {{name: kv, listen: \"127.0.0.1:0\", upstream: \"{up}\"}}\nmethod:\n  - {{at: 0s, for: 1s, fault: {{proxy: kv, type: latency, attributes: {{latency: 1}}}}}}\nduration: 2s\n"
        ),
    )
    .unwrap();
    let run = |token: Option<&str>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"));
        cmd.arg("run").arg(&file).env_remove("SHAKEDOWN_TOKEN");
        if let Some(t) = token {
            cmd.env("SHAKEDOWN_TOKEN", t);
        }
        cmd.output()
    };
    let out = tokio::time::timeout(STEP * 3, run(None))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let auth = format!("Authorization: Bearer {token}\r\n");
    let journal = |auth: String| async move {
        http_with(api, "GET", "/journal.json", None, &auth)
            .await
            .json()
    };
    assert_eq!(journal(auth.clone()).await["events"], json!([]));
    let out = tokio::time::timeout(STEP * 3, run(Some(token)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let events = journal(auth).await["events"].clone();
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"toxic_added") && kinds.contains(&"toxic_removed"),
        "{kinds:?}"
    );
    let actor = format!("shakedown/{}", env!("CARGO_PKG_VERSION"));
    assert!(
        events
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == actor.as_str()),
        "{events}"
    );
    srv.shutdown().await;
}
