//! The control API over real HTTP: Toxiproxy 2.12 wire compatibility, the
//! lease extension, metrics, a control plane that never waits on the data
//! path, and `shakedown serve` as a process.

mod support;

use std::time::Duration;

use serde_json::json;
use support::proxy::*;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

#[tokio::test]
async fn toxiproxy_status_codes_and_bodies() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let body = format!(r#"{{"name":"db","listen":"127.0.0.1:0","upstream":"{up}"}}"#);
    let r = http(api, "POST", "/proxies", Some(&body)).await;
    assert_eq!(r.status, 201);
    let created = r.json();
    assert!(
        created["listen"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_ne!(
        created["listen"], "127.0.0.1:0",
        "port 0 is echoed as the real port"
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["toxics"], json!([]));

    let r = http(api, "POST", "/proxies", Some(&body)).await;
    assert_eq!(
        (r.status, r.json()),
        (409, json!({"error": "proxy already exists", "status": 409}))
    );
    let r = http(api, "GET", "/proxies/nope", None).await;
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"error": "proxy not found", "status": 404}))
    );
    let r = http(api, "GET", "/nowhere", None).await;
    assert_eq!((r.status, r.body.as_str()), (404, "404 page not found\n"));
    // A browser on the server's own origin is the console: allowed (docs/control-api.md).
    let r = http_with(api, "GET", "/proxies", None, "User-Agent: Mozilla/5.0\r\n").await;
    assert_eq!(r.status, 200);
    let r = http(
        api,
        "POST",
        "/proxies",
        Some(r#"{"upstream":"127.0.0.1:1"}"#),
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"error": "missing required field: name", "status": 400})
    );

    let t = add_toxic(
        api,
        "db",
        r#"{"type":"latency","attributes":{"latency":10}}"#,
    )
    .await;
    assert_eq!(
        t,
        json!({"name":"latency_downstream","type":"latency","stream":"downstream","toxicity":1.0,
               "attributes":{"latency":10,"jitter":0}})
    );
    let r = http(
        api,
        "POST",
        "/proxies/db/toxics",
        Some(r#"{"type":"latency"}"#),
    )
    .await;
    assert_eq!(
        (r.status, r.json()),
        (409, json!({"error": "toxic already exists", "status": 409}))
    );
    let r = http(
        api,
        "POST",
        "/proxies/db/toxics/latency_downstream",
        Some(r#"{"attributes":{"jitter":5},"toxicity":0.5}"#),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["attributes"],
        json!({"latency":10,"jitter":5}),
        "attributes merge"
    );
    assert_eq!(r.json()["toxicity"], 0.5);
    let r = http(api, "GET", "/proxies/db/toxics/nope", None).await;
    assert_eq!(
        (r.status, r.json()),
        (404, json!({"error": "toxic not found", "status": 404}))
    );
    let r = http(api, "GET", "/proxies", None).await;
    assert_eq!(r.json()["db"]["toxics"].as_array().unwrap().len(), 1);

    let r = http(api, "PATCH", "/proxies/db", Some(r#"{"enabled":false}"#)).await;
    assert_eq!(
        r.json()["upstream"],
        up.to_string(),
        "omitted fields are kept"
    );
    let r = http(api, "POST", "/reset", None).await;
    assert_eq!(r.status, 204);
    let r = http(api, "GET", "/proxies/db", None).await;
    assert_eq!(
        (r.json()["enabled"].clone(), r.json()["toxics"].clone()),
        (json!(true), json!([]))
    );
    let r = http(api, "GET", "/version", None).await;
    assert_eq!(r.json()["version"], "2.12.0");
    let r = http(api, "DELETE", "/proxies/db", None).await;
    assert_eq!(r.status, 204);
    srv.shutdown().await;
}

#[tokio::test]
async fn populate_leaves_unchanged_proxies_and_their_connections_alone() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let list = format!(r#"[{{"name":"a","listen":"127.0.0.1:0","upstream":"{up}"}}]"#);
    let r = http(api, "POST", "/populate", Some(&list)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let listen = r.json()["proxies"][0]["listen"]
        .as_str()
        .unwrap()
        .to_string();
    let mut c = TcpStream::connect(&listen).await.unwrap();
    let same = format!(
        r#"[{{"name":"a","listen":"{listen}","upstream":"{up}"}},{{"name":"b","upstream":"{up}"}}]"#
    );
    let r = http(api, "POST", "/populate", Some(&same)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["proxies"].as_array().unwrap().len(), 2);
    c.write_all(b"k").await.unwrap();
    assert_eq!(
        read_n(&mut c, 1).await,
        b"k",
        "connection survived populate"
    );
    // The whole list is validated before anything changes.
    let bad = r#"[{"name":"c","upstream":"127.0.0.1:1"},{"name":"d"}]"#;
    let r = http(api, "POST", "/populate", Some(bad)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"], "missing required field: [1].upstream");
    let r = http(api, "GET", "/proxies/c", None).await;
    assert_eq!(r.status, 404);
    srv.shutdown().await;
}

#[tokio::test]
async fn leased_toxics_expire_unless_renewed() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    create_proxy(api, "l", up).await;
    let t = add_toxic(api, "l", r#"{"name":"lease","type":"noop","lease_ms":600}"#).await;
    assert_eq!(t["lease_ms"], 600);
    let plain = add_toxic(api, "l", r#"{"name":"plain","type":"noop"}"#).await;
    assert!(
        plain.get("lease_ms").is_none(),
        "no lease_ms on unleased toxics"
    );
    // Renew every 200 ms for 1.2 s (twice the lease): it must survive.
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let r = http(api, "PATCH", "/proxies/l/toxics/lease", Some("{}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // Then stop renewing: gone within the lease plus a generous 2 s margin.
    let start = Instant::now();
    loop {
        let r = http(api, "GET", "/proxies/l/toxics/lease", None).await;
        if r.status == 404 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_millis(2_600),
            "lease never expired"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "expired early: {:?}",
        start.elapsed()
    );
    assert_eq!(
        http(api, "GET", "/proxies/l/toxics/plain", None)
            .await
            .status,
        200
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_per_toxic_counts() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "m", up).await;
    add_toxic(
        api,
        "m",
        r#"{"name":"slow","type":"latency","attributes":{"latency":1}}"#,
    )
    .await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"abcd").await.unwrap();
    read_n(&mut c, 4).await;
    let r = http(api, "GET", "/metrics", None).await;
    assert_eq!(r.status, 200);
    assert!(
        r.headers.contains("text/plain; version=0.0.4"),
        "{}",
        r.headers
    );
    for name in [
        "shakedown_proxy_connections_accepted_total",
        "shakedown_proxy_connections_active",
        "shakedown_proxy_bytes_total",
        "shakedown_toxic_connections_affected_total",
        "shakedown_toxic_bytes_affected_total",
    ] {
        assert!(
            r.body.contains(&format!("# TYPE {name}")),
            "{name} missing:\n{}",
            r.body
        );
    }
    assert_eq!(
        metric(
            &r.body,
            "shakedown_toxic_bytes_affected_total",
            &["toxic=\"slow\""]
        ),
        4.0
    );
    assert_eq!(
        metric(
            &r.body,
            "shakedown_proxy_connections_active",
            &["proxy=\"m\""]
        ),
        1.0
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn control_plane_answers_quickly_with_1000_stalled_connections() {
    // 1,000 proxied connections hold ~4,000 descriptors in this process;
    // raise the soft limit (often 1,024) towards the hard limit.
    let limit = rlimit::increase_nofile_limit(8_192).unwrap_or(0);
    assert!(
        limit >= 4_500,
        "need ~4,500 file descriptors, the limit is {limit}"
    );
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "busy", up).await;
    add_toxic(
        api,
        "busy",
        r#"{"name":"stall","type":"timeout","attributes":{"timeout":0}}"#,
    )
    .await;
    let mut clients = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"stuck").await.unwrap();
        clients.push(c);
    }
    // Let the proxy accept them all (bounded: 20 s).
    let start = Instant::now();
    loop {
        let m = http(api, "GET", "/metrics", None).await.body;
        if metric(
            &m,
            "shakedown_toxic_connections_affected_total",
            &["toxic=\"stall\""],
        ) >= 1000.0
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "connections not accepted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each call edits data and publishes a snapshot; none waits on a connection.
    // 1 s is ~100× what it takes on an idle machine: generous for a busy 2-core box.
    let limit = Duration::from_secs(1);
    let timed = |label: &'static str, took: Duration| {
        eprintln!("{label}: {took:?} with 1,000 stalled connections");
        assert!(took < limit, "{label} took {took:?}");
    };
    let t = Instant::now();
    add_toxic(
        api,
        "busy",
        r#"{"name":"lat","type":"latency","attributes":{"latency":5}}"#,
    )
    .await;
    timed("create", t.elapsed());
    let t = Instant::now();
    let r = http(
        api,
        "PATCH",
        "/proxies/busy/toxics/lat",
        Some(r#"{"attributes":{"latency":9}}"#),
    )
    .await;
    assert_eq!(r.status, 200);
    timed("update", t.elapsed());
    let t = Instant::now();
    remove_toxic(api, "busy", "lat").await;
    timed("delete", t.elapsed());
    let t = Instant::now();
    remove_toxic(api, "busy", "stall").await;
    timed("delete stall", t.elapsed());
    drop(clients);
    srv.shutdown().await;
}

#[tokio::test]
async fn serve_rejects_a_bad_config_file_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("proxies.yaml");
    std::fs::write(
        &path,
        "- name: db\n  listen: 127.0.0.1:0\n  upstream: 127.0.0.1:5432\n  toxics:\n    - type: latency\n      toxicity: 1.5\n",
    )
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(["serve", "--port", "0", "--config"])
        .arg(&path)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("proxies.yaml:"), "{err}");
    assert!(
        err.contains("toxics[0].toxicity: must be between 0 and 1, got 1.5"),
        "{err}"
    );
}

/// `/populate` has no lines: each refusal names the entry's index and the field as written,
/// whether the body's parser or the server found it, and changes nothing.
#[tokio::test]
async fn populate_names_the_entry_and_the_field() {
    let srv = server(4).await;
    let api = srv.local_addr();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap();
    let ok = r#"{"name":"ok","upstream":"127.0.0.1:1"}"#;
    let http_mode = r#"needs an HTTP-mode proxy ("protocol": "http")"#;
    let cases = [
        (
            format!(r#"[{ok},{{"name":"b","upstream":"127.0.0.1:1","upstream_tls":true}}]"#),
            400,
            format!("bad request body: [1].upstream_tls: TLS (upstream_tls) {http_mode}"),
        ),
        (
            format!(
                r#"[{ok},{{"name":"b","upstream":"127.0.0.1:1","toxics":[{{"type":"noop"}},{{"type":"http_abort","attributes":{{"status":503}}}}]}}]"#
            ),
            400,
            format!("bad request body: [1].toxics[1].type: http_abort {http_mode}"),
        ),
        (
            r#"[{"name":"b","upstream":"127.0.0.1:1","header_faults":true}]"#.to_string(),
            400,
            format!("bad request body: [0].header_faults: {http_mode}"),
        ),
        (
            format!(r#"[{ok},{{"upstream":"127.0.0.1:1"}}]"#),
            400,
            "missing required field: [1].name".to_string(),
        ),
        (
            r#"[{"name":"b","upstream":"127.0.0.1:1","toxics":[{"type":"nope"}]}]"#.to_string(),
            400,
            "[0].toxics[0].type: invalid toxic type: \"nope\"".to_string(),
        ),
        (
            r#"{"proxies":[{"name":"b","upstream":"127.0.0.1:99999"}]}"#.to_string(),
            400,
            "bad request body: [0].upstream: cannot resolve \"127.0.0.1:99999\"".to_string(),
        ),
        (
            format!("[{ok},3]"),
            400,
            "bad request body: [1]: expected a proxy as a JSON object, got 3".to_string(),
        ),
        (
            format!(r#"[{ok},{{"name":"b","upstream":"127.0.0.1:1","listen":"{taken}"}}]"#),
            409,
            format!("[1].listen: address {taken} is already in use"),
        ),
    ];
    for (body, status, says) in &cases {
        let r = http(api, "POST", "/populate", Some(body)).await;
        assert_eq!(r.status, *status, "{body}: {}", r.body);
        let error = r.json()["error"].as_str().unwrap_or_default().to_string();
        assert!(
            error.starts_with(says.as_str()),
            "{body}\nwant {says}\n got {error}"
        );
        assert_eq!(http(api, "GET", "/proxies", None).await.json(), json!({}));
    }
    srv.shutdown().await;
}

/// What only the server finds, when it creates a config file's proxies (HTTP settings on a
/// TCP proxy, an upstream that does not resolve, a `listen` address in use), is reported at
/// the line and column of the field, named as written, like what the parser finds; the
/// server shuts down and exits 2 (3 for an address in use).
#[tokio::test]
async fn serve_reports_what_the_server_refuses_at_the_fields_line() {
    let id = support::tls::Pki::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap();
    let head = "- name: db\n  upstream: 127.0.0.1:5432\n";
    let cases = [
        (
            format!(
                "{head}  tls_cert: {}\n  tls_key: {}\n",
                id.cert_str(),
                id.key_str()
            ),
            2,
            "proxies.yaml:3:13: [0].tls_cert: TLS (tls_cert, tls_key) needs an HTTP-mode proxy",
        ),
        (
            format!("{head}  upstream_tls: true\n"),
            2,
            "proxies.yaml:3:17: [0].upstream_tls: TLS (upstream_tls) needs an HTTP-mode proxy",
        ),
        (
            format!("{head}  header_faults: true\n"),
            2,
            "proxies.yaml:3:18: [0].header_faults: needs an HTTP-mode proxy",
        ),
        (
            format!("{head}  http_header_timeout: 500\n"),
            2,
            "proxies.yaml:3:24: [0].http_header_timeout: needs an HTTP-mode proxy",
        ),
        (
            format!(
                "{head}  toxics:\n    - type: noop\n    - type: http_abort\n      attributes: {{status: 503}}\n"
            ),
            2,
            "proxies.yaml:5:13: [0].toxics[1].type: http_abort needs an HTTP-mode proxy",
        ),
        (
            "- name: db\n  upstream: 127.0.0.1:99999\n".to_string(),
            2,
            "proxies.yaml:2:13: [0].upstream: cannot resolve \"127.0.0.1:99999\"",
        ),
        (
            format!(
                "- {{name: a, upstream: '127.0.0.1:1'}}\n- name: b\n  upstream: 127.0.0.1:1\n  listen: {taken}\n"
            ),
            3,
            "proxies.yaml:4:11: [1].listen: address",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proxies.yaml");
    for (text, code, says) in &cases {
        std::fs::write(&file, text).unwrap();
        let ran = support::runner::shakedown(&[
            "serve",
            "--port",
            "0",
            "--config",
            file.to_str().unwrap(),
        ])
        .await;
        assert_eq!(ran.code, *code, "{text}\n{}", ran.stderr);
        let said = ran.stderr.lines().find(|l| l.contains("proxies.yaml:"));
        assert!(
            said.is_some_and(|l| l.contains(file.to_str().unwrap()) && l.contains(says)),
            "want {says:?} in:\n{}",
            ran.stderr
        );
        assert!(!ran.stderr.contains("bad request body"), "{}", ran.stderr);
    }
}

#[tokio::test]
async fn serve_loads_toxics_from_config_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (up, _u) = echo_upstream().await;
    // Reserve a free port for the proxy, then release it for the server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.path().join("proxies.json");
    let cfg = json!([{"name": "cfg", "listen": format!("127.0.0.1:{port}"), "upstream": up.to_string(),
                      "toxics": [{"type": "latency", "attributes": {"latency": 200}}]}]);
    std::fs::write(&path, cfg.to_string()).unwrap();
    let (mut child, api) = spawn_serve(&[
        "--port".as_ref(),
        "0".as_ref(),
        "--seed".as_ref(),
        "3".as_ref(),
        "--config".as_ref(),
        path.as_os_str(),
    ])
    .await;
    let r = http(api, "GET", "/proxies/cfg/toxics", None).await;
    assert_eq!(r.json()[0]["attributes"]["latency"], 200);
    let mut c = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let t = Instant::now();
    c.write_all(b"x").await.unwrap();
    read_n(&mut c, 1).await;
    assert!(t.elapsed() >= Duration::from_millis(190));
    let pid = child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(STEP, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        TcpStream::connect(api).await.is_err(),
        "API still listening"
    );
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "proxy still listening"
    );
}

/// Issue 8 item 15: half-sent requests neither starve the API nor hold connections open.
#[tokio::test]
async fn partial_requests_time_out_and_never_starve_the_api() {
    let limit = rlimit::increase_nofile_limit(8_192).unwrap_or(0);
    assert!(
        limit >= 2_000,
        "need ~2,000 file descriptors, the limit is {limit}"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let srv = shakedown::control::ControlServer::start(
        listener,
        shakedown::control::ServeOptions {
            seed: Some(1),
            read_timeout: Duration::from_secs(1),
            ..Default::default()
        },
    )
    .unwrap();
    let api = srv.local_addr();
    // 300 requests stuck in their headers, 100 stuck in their bodies.
    let mut partial = Vec::new();
    for i in 0..400 {
        let mut s = TcpStream::connect(api).await.unwrap();
        let head = if i < 300 {
            "GET /version HTTP/1.1\r\nHost: x\r\n".to_string()
        } else {
            "POST /proxies HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na".to_string()
        };
        s.write_all(head.as_bytes()).await.unwrap();
        partial.push(s);
    }
    let t = Instant::now();
    let r = http(api, "GET", "/version", None).await;
    let took = t.elapsed();
    eprintln!("/version with 400 partial requests open: {took:?}");
    assert_eq!(r.status, 200);
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Every partial request is closed (headers) or answered 408 (body) after ~1 s.
    let deadline = Duration::from_secs(10);
    for (i, mut s) in partial.into_iter().enumerate() {
        let mut got = Vec::new();
        let read = tokio::time::timeout(
            deadline,
            tokio::io::AsyncReadExt::read_to_end(&mut s, &mut got),
        )
        .await;
        assert!(
            read.is_ok(),
            "partial request {i} still open after {deadline:?}"
        );
        if i >= 300 {
            let text = String::from_utf8_lossy(&got);
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
        }
    }
    srv.shutdown().await;
}

/// Issue 8 item 15: connections over the cap are answered 503 at once, and the API recovers.
#[tokio::test]
async fn api_connections_over_the_cap_are_refused_at_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let srv = shakedown::control::ControlServer::start(
        listener,
        shakedown::control::ServeOptions {
            seed: Some(1),
            max_api_connections: 4,
            ..Default::default()
        },
    )
    .unwrap();
    let api = srv.local_addr();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(api).await.unwrap());
    }
    // Once the server has accepted all four, the next connection is refused.
    let t = Instant::now();
    let r = loop {
        let r = http(api, "GET", "/version", None).await;
        if r.status != 200 || t.elapsed() > Duration::from_secs(5) {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["status"], 503);
    drop(idle);
    let t = Instant::now();
    loop {
        let r = http(api, "GET", "/version", None).await;
        if r.status == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "the API did not recover"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.shutdown().await;
}

/// `GET /toxic-types` lists every kind of the registry, and a toxic built from the listing
/// alone (each attribute at its default, or its minimum when required) is accepted by the API.
#[tokio::test]
async fn toxic_types_list_every_kind_and_their_defaults_are_accepted() {
    let srv = server(11).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let body = format!(r#"{{"name":"db","upstream":"{up}","protocol":"http"}}"#);
    assert_eq!(http(api, "POST", "/proxies", Some(&body)).await.status, 201);
    let r = http(api, "GET", "/toxic-types", None).await;
    assert_eq!(r.status, 200);
    let types = r.json();
    let names: Vec<&str> = types
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(names, shakedown::fault::ToxicKind::TYPES);
    for t in types.as_array().unwrap() {
        let attributes: serde_json::Map<String, serde_json::Value> = t["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| {
                let v = if a["required"] == true {
                    &a["min"]
                } else {
                    &a["default"]
                };
                (!v.is_null()).then(|| (a["name"].as_str().unwrap().to_string(), v.clone()))
            })
            .collect();
        let toxic = json!({"name": t["type"], "type": t["type"], "attributes": attributes});
        let r = http(api, "POST", "/proxies/db/toxics", Some(&toxic.to_string())).await;
        assert_eq!(r.status, 200, "{toxic}: {}", r.body);
    }
    srv.shutdown().await;
}
