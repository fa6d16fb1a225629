//! The framing of what HTTP toxics fabricate or rewrite (issue 9's trial): framing and
//! hop-by-hop headers refused wherever a toxic is configured, bodiless statuses sent without a
//! body or a length, every faulted response well framed for a keep-alive client (read here on
//! a raw socket, so nothing forgives a wrong length), header-driven faults independent of the
//! headers' order, and bounded echoes of bad fault headers.

mod support;

use std::time::Duration;

use serde_json::json;
use support::http::*;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// One response read off a raw keep-alive connection, framed as its head says.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// A raw HTTP/1.1 connection that reads each response exactly as framed: no body for a HEAD
/// or a 1xx/204/304, `content-length` bytes, or chunks; a close-delimited body is a failure
/// (the connection could not be kept alive).
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: std::net::SocketAddr) -> Conn {
        Conn {
            s: TcpStream::connect(addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(STEP, self.s.read(&mut chunk))
            .await
            .expect("the response is framed: no wait for bytes that never come")
            .expect("read");
        assert!(
            n > 0,
            "closed early; read so far: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        self.buf.extend_from_slice(&chunk[..n]);
    }

    async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.fill().await;
        }
        self.buf.drain(..n).collect()
    }

    async fn line(&mut self) -> String {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = self.take(i + 2).await;
                return String::from_utf8_lossy(&line[..i]).into_owned();
            }
            self.fill().await;
        }
    }

    async fn get(&mut self, method: &str, path: &str, extra: &str) -> Raw {
        let req = format!("{method} {path} HTTP/1.1\r\nHost: a\r\n{extra}\r\n");
        self.s.write_all(req.as_bytes()).await.expect("write");
        let mut head = String::new();
        loop {
            let l = self.line().await;
            if l.is_empty() {
                break;
            }
            head.push_str(&l);
            head.push('\n');
        }
        let status: u16 = head[9..12].parse().expect("status");
        let mut raw = Raw {
            status,
            head,
            body: Vec::new(),
        };
        let te = raw.header("transfer-encoding");
        let cl = raw.header("content-length");
        if matches!(status, 100..=199 | 204 | 304) {
            assert_eq!(
                (&te, &cl),
                (&None, &None),
                "a bodiless status has no length: {raw:?}"
            );
        } else if method == "HEAD" {
            // The length of what a GET would get; no body.
        } else if let Some(n) = cl {
            raw.body = self.take(n.parse().expect("length")).await;
        } else if te.as_deref() == Some("chunked") {
            loop {
                let size = usize::from_str_radix(&self.line().await, 16).expect("chunk size");
                let data = self.take(size + 2).await;
                if size == 0 {
                    break;
                }
                raw.body.extend_from_slice(&data[..size]);
            }
        } else {
            panic!("not framed (close-delimited): {raw:?}");
        }
        raw
    }
}

/// Framing and hop-by-hop headers are refused in `headers`, `set_headers` and
/// `remove_headers`, through every door (a toxic, `/populate`), naming the field; nothing
/// changes. They used to be accepted, and the proxy panicked on every request after.
#[tokio::test]
async fn framing_and_hop_by_hop_headers_are_refused_naming_the_field() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    http_proxy(api, "web", up.addr, "").await;
    for (attributes, field) in [
        (
            json!({"status": 200, "body": "0123456789", "headers": {"content-length": "5"}}),
            "attributes.headers.content-length",
        ),
        (
            json!({"set_headers": {"Content-Length": "5"}}),
            "attributes.set_headers.Content-Length",
        ),
        (
            json!({"set_headers": {"transfer-encoding": "chunked"}}),
            "attributes.set_headers.transfer-encoding",
        ),
        (
            json!({"set_headers": {"connection": "close"}}),
            "attributes.set_headers.connection",
        ),
        (
            json!({"remove_headers": ["x-ok", "content-length"]}),
            "attributes.remove_headers[1]",
        ),
        (
            json!({"status": 204, "headers": {"upgrade": "h2c"}}),
            "attributes.headers.upgrade",
        ),
        (json!({"status": 204, "body": "…"}), "attributes.body"),
        (json!({"status": 304, "truncate": 3}), "attributes.truncate"),
    ] {
        let kind = if attributes.get("set_headers").is_some()
            || attributes.get("remove_headers").is_some()
            || attributes.get("truncate").is_some()
        {
            "http_tamper"
        } else {
            "http_abort"
        };
        let body = json!({"type": kind, "attributes": attributes}).to_string();
        let r = http(api, "POST", "/proxies/web/toxics", Some(&body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(&format!("{field}: ")), "{body}: {}", r.body);
    }
    let list = json!([{"name": "web2", "listen": "127.0.0.1:0", "upstream": up.addr.to_string(),
        "protocol": "http", "toxics": [{"type": "http_tamper",
        "attributes": {"set_headers": {"keep-alive": "timeout=1"}}}]}]);
    let r = http(api, "POST", "/populate", Some(&list.to_string())).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains("[0].toxics[0].attributes.set_headers.keep-alive: keep-alive cannot be set"),
        "{}",
        r.body
    );
    assert_eq!(
        http(api, "GET", "/proxies/web/toxics", None).await.json(),
        json!([])
    );
    assert_eq!(http(api, "GET", "/proxies/web2", None).await.status, 404);
    srv.shutdown().await;
}

/// A bodiless status goes out with no body and no length, a rewritten or cut body with the
/// length of what is sent, so a keep-alive client's next request works. A tampered 204 on a
/// 28-byte upstream answer used to say `content-length: 28` and send nothing.
#[tokio::test]
async fn every_faulted_response_is_well_framed_for_the_next_request() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, r#","header_faults":true"#).await;
    for toxic in [
        r#"{"name":"t204","type":"http_tamper","attributes":{"path":"/t204","status":204}}"#,
        r#"{"name":"t304","type":"http_tamper","attributes":{"path":"/t304","status":304,"set_headers":{"etag":"\"1\""}}}"#,
        r#"{"name":"t205","type":"http_tamper","attributes":{"path":"/t205","status":205}}"#,
        r#"{"name":"cut","type":"http_tamper","attributes":{"path":"/cut","truncate":4}}"#,
        r#"{"name":"empty","type":"http_tamper","attributes":{"path":"/empty","truncate":0}}"#,
        r#"{"name":"new","type":"http_tamper","attributes":{"path":"/new","body":"replaced"}}"#,
        r#"{"name":"a204","type":"http_abort","attributes":{"path":"/a204","status":204,"headers":{"x-a":"1"}}}"#,
        r#"{"name":"a200","type":"http_abort","attributes":{"path":"/a200","status":200,"body":"0123456789"}}"#,
    ] {
        add_toxic(api, "web", toxic).await;
    }
    let mut c = Conn::open(addr).await;
    for (method, path, extra, status, body, marker) in [
        ("GET", "/t204", "", 204, "", "t204"),
        ("GET", "/t304", "", 304, "", "t304"),
        ("GET", "/t205", "", 205, "", "t205"),
        ("GET", "/cut", "", 200, "GET ", "cut"),
        ("GET", "/empty", "", 200, "", "empty"),
        ("GET", "/new", "", 200, "replaced", "new"),
        ("GET", "/a204", "", 204, "", "a204"),
        ("GET", "/a200", "", 200, "0123456789", "a200"),
        ("HEAD", "/a200", "", 200, "", "a200"),
        ("HEAD", "/t204", "", 204, "", "t204"),
        (
            "GET",
            "/h",
            "x-shakedown-fault-abort: 204\r\n",
            204,
            "",
            "header",
        ),
        (
            "GET",
            "/h",
            "x-shakedown-fault-abort: 304\r\n",
            304,
            "",
            "header",
        ),
    ] {
        let got = c.get(method, path, extra).await;
        assert_eq!(
            (got.status, String::from_utf8_lossy(&got.body).as_ref()),
            (status, body),
            "{method} {path}: {got:?}"
        );
        assert_eq!(
            got.header("x-shakedown-fault").as_deref(),
            Some(marker),
            "{got:?}"
        );
        // The next request on the same connection is answered in step.
        let next = c.get("GET", "/next", "").await;
        assert_eq!(next.status, 200, "after {method} {path}: {next:?}");
        assert!(
            String::from_utf8_lossy(&next.body).starts_with("GET /next "),
            "after {method} {path}: {next:?}"
        );
    }
    srv.shutdown().await;
}

/// `x-shakedown-fault-abort` then `-delay` used to answer at once (the delay ignored); the
/// reverse order waited. Either order now waits, then aborts; an abort and a reset together
/// are refused.
#[tokio::test]
async fn header_driven_faults_do_not_depend_on_the_headers_order() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "on", up.addr, r#","header_faults":true"#).await;
    let mut c = Conn::open(addr).await;
    for extra in [
        "x-shakedown-fault-abort: 503\r\nx-shakedown-fault-delay: 400ms\r\n",
        "x-shakedown-fault-delay: 400ms\r\nx-shakedown-fault-abort: 503\r\n",
    ] {
        let start = Instant::now();
        let got = c.get("GET", "/", extra).await;
        let took = start.elapsed();
        assert_eq!(got.status, 503, "{extra:?}: {got:?}");
        assert!(took >= Duration::from_millis(390), "{extra:?}: {took:?}");
    }
    for extra in [
        "x-shakedown-fault-abort: 503\r\nx-shakedown-fault-reset: 1\r\n",
        "x-shakedown-fault-reset: 1\r\nx-shakedown-fault-abort: 503\r\n",
    ] {
        let got = c.get("GET", "/", extra).await;
        assert_eq!(got.status, 400, "{extra:?}: {got:?}");
        let why = got.header("x-shakedown-error").unwrap_or_default();
        assert!(why.contains("both given, expected one of them"), "{why}");
    }
    assert_eq!(up.requests(), 0);
    srv.shutdown().await;
}

/// A bad fault header's value is echoed at most 100 bytes long (a 50 KB one was echoed
/// whole), and a non-UTF-8 one is shown, not as `""`.
#[tokio::test]
async fn a_bad_fault_header_is_echoed_bounded_and_as_sent() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "on", up.addr, r#","header_faults":true"#).await;
    let mut c = Conn::open(addr).await;
    let long = "x".repeat(50_000);
    let got = c
        .get("GET", "/", &format!("x-shakedown-fault-delay: {long}\r\n"))
        .await;
    let why = got.header("x-shakedown-error").unwrap_or_default();
    assert_eq!(got.status, 400);
    assert!(why.len() < 300, "{} bytes echoed", why.len());
    assert!(why.ends_with("... (50000 bytes)"), "{why}");
    // A value of bytes that are not UTF-8 (obs-text): shown lossily.
    let mut raw = TcpStream::connect(addr).await.expect("connect");
    raw.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nx-shakedown-fault-abort: 5\xff3\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let (bytes, _) = read_to_end(&mut raw).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(text.contains("got \"5?3\""), "{text}");
    srv.shutdown().await;
}

/// What docs/faults.md says carries the marker, and what docs/control-api.md says the
/// counters show for HTTP toxics and an unreachable upstream in HTTP mode.
#[tokio::test]
async fn the_marker_and_the_counters_are_as_documented() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    add_toxic(
        api,
        "web",
        r#"{"name":"zero","type":"http_delay","attributes":{"path":"/d","delay":0}}"#,
    )
    .await;
    add_toxic(
        api,
        "web",
        r#"{"name":"same","type":"http_tamper","attributes":{"path":"/t"}}"#,
    )
    .await;
    add_toxic(
        api,
        "web",
        r#"{"name":"never","type":"http_abort","toxicity":0,"attributes":{"status":503}}"#,
    )
    .await;
    let mut c = Conn::open(addr).await;
    for (path, marker) in [("/d", Some("zero")), ("/t", Some("same")), ("/n", None)] {
        let got = c.get("GET", path, "").await;
        assert_eq!(got.status, 200);
        assert_eq!(got.header("x-shakedown-fault").as_deref(), marker, "{path}");
    }
    // An unreachable upstream: a 502 with the reason and no marker, even for a faulted
    // request; counted as an HTTP error, not as a dial failure.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let lost = http_proxy(api, "lost", gone, "").await;
    add_toxic(
        api,
        "lost",
        r#"{"name":"zero","type":"http_delay","attributes":{"delay":0}}"#,
    )
    .await;
    let got = Conn::open(lost).await.get("GET", "/", "").await;
    assert_eq!(got.status, 502);
    assert!(got.header("x-shakedown-error").is_some(), "{got:?}");
    assert_eq!(got.header("x-shakedown-fault"), None);
    let m = http(api, "GET", "/metrics", None).await.body;
    let at = |name: &str, labels: &[&str]| metric(&m, name, labels);
    assert_eq!(
        at("shakedown_proxy_http_errors_total", &["proxy=\"lost\""]),
        1.0
    );
    assert_eq!(
        at("shakedown_proxy_http_requests_total", &["proxy=\"lost\""]),
        1.0
    );
    assert_eq!(
        at(
            "shakedown_proxy_upstream_dial_failures_total",
            &["proxy=\"lost\""]
        ),
        0.0
    );
    // HTTP toxics count requests, never connections.
    let zero = ["proxy=\"web\"", "toxic=\"zero\""];
    assert_eq!(at("shakedown_toxic_requests_faulted_total", &zero), 1.0);
    assert_eq!(at("shakedown_toxic_connections_affected_total", &zero), 0.0);
    srv.shutdown().await;
}
