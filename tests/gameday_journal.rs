//! The game day's event journal and event stream over real HTTP: a scripted game day (API
//! calls only) exports the expected Markdown line for line, times aside; refused requests
//! record nothing; `/events` replays after `Last-Event-ID`, streams live changes, publishes
//! the proxies' live metrics and what the embedding process publishes.

mod support;

use std::net::SocketAddr;

use serde_json::{Value, json};
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SCRIPT: &str = "User-Agent: gameday-script/1.0\r\n";
const CONSOLE: &str = "x-shakedown-actor: console:alice\r\nUser-Agent: curl/8.0\r\n";

/// The Markdown with each event's `[+12.345s 14:03:07]` and the start time replaced by `T`.
fn times_aside(md: &str) -> Vec<String> {
    let stamp = regex::Regex::new(r"^- \[\+\d+\.\d{3}s \d\d:\d\d:\d\d\] ").unwrap();
    let started = regex::Regex::new(r"^Started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\.$").unwrap();
    md.lines()
        .map(|l| {
            let l = stamp.replace(l, "- [T] ");
            started.replace(&l, "Started T.").into_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_scripted_game_day_exports_the_expected_journal() {
    let srv = server(11).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let body = format!(r#"{{"name":"db","listen":"127.0.0.1:0","upstream":"{up}"}}"#);
    let r = http_with(api, "POST", "/proxies", Some(&body), SCRIPT).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let listen = r.json()["listen"].as_str().unwrap().to_string();
    let toxic = r#"{"type":"latency","attributes":{"latency":100}}"#;
    let path = "/proxies/db/toxics";
    assert_eq!(http(api, "POST", path, Some(toxic)).await.status, 200);
    // Refused: the same name again, an unknown type, a bad note. None is recorded.
    assert_eq!(http(api, "POST", path, Some(toxic)).await.status, 409);
    let bad = r#"{"type":"latencyy"}"#;
    assert_eq!(http(api, "POST", path, Some(bad)).await.status, 400);
    let update = r#"{"toxicity":0.5,"attributes":{"latency":250}}"#;
    let t = "/proxies/db/toxics/latency_downstream";
    assert_eq!(
        http_with(api, "POST", t, Some(update), SCRIPT).await.status,
        200
    );
    // A lease renewal, as `shakedown run` sends one every second: not a change, not recorded.
    let renew = r#"{"lease_ms":60000}"#;
    assert_eq!(http(api, "POST", t, Some(renew)).await.status, 200);
    assert_eq!(http(api, "POST", t, Some("{}")).await.status, 200);
    let note = r#"{"author":"alice","text":"p99 *jumped* to 250ms <b>[see](x)</b>"}"#;
    let r = http_with(api, "POST", "/notes", Some(note), CONSOLE).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["kind"], "note");
    assert_eq!(r.json()["actor"], "alice");
    assert_eq!(
        r.json()["detail"],
        json!({"author": "alice", "via": "console:alice"})
    );
    for (bad, message) in [
        (
            r#"{"author":"","text":"x"}"#,
            "bad request body: author: must be 1 to 64 characters, got 0",
        ),
        (
            r#"{"author":"a","text":"two\nlines"}"#,
            "bad request body: text: contains the control character '\\n', which notes may not",
        ),
        (
            r#"{"author":"a","text":"x\u2028y"}"#,
            "bad request body: text: contains the control character '\\u{2028}', which notes may not",
        ),
        (
            r#"{"author":"a","text":"bidi\u202egnp.exe"}"#,
            "bad request body: text: contains the control character '\\u{202e}', which notes may not",
        ),
        (
            r#"{"author":"a","text":"first","text":"second"}"#,
            "bad request body: duplicate key \"text\" at line 1 column 35",
        ),
        (r#"{"text":"x"}"#, "missing required field: author"),
        (
            r#"{"author":"a","text":"x","at":1}"#,
            "bad request body: at: unknown field (expected author, text)",
        ),
    ] {
        let r = http(api, "POST", "/notes", Some(bad)).await;
        assert_eq!(
            (r.status, r.json()["error"].clone()),
            (400, json!(message)),
            "{bad}"
        );
    }
    let long = json!({"author": "a", "text": "x".repeat(4001)}).to_string();
    assert_eq!(http(api, "POST", "/notes", Some(&long)).await.status, 400);
    assert_eq!(http(api, "DELETE", t, None).await.status, 204);
    assert_eq!(http(api, "DELETE", t, None).await.status, 404);
    let r = http(api, "POST", "/proxies/db", Some(r#"{"enabled":false}"#)).await;
    assert_eq!(r.status, 200);
    assert_eq!(http(api, "POST", "/reset", Some("")).await.status, 204);
    assert_eq!(http(api, "DELETE", "/proxies/db", None).await.status, 204);

    let r = http(api, "GET", "/journal.md", None).await;
    assert_eq!(r.status, 200);
    assert!(r.headers.contains("text/markdown"), "{}", r.headers);
    let expected = [
        "# Game day journal".to_string(),
        String::new(),
        "Started T.".to_string(),
        String::new(),
        format!("- [T] gameday-script/1.0: created proxy db: listen {listen}, upstream {up}"),
        "- [T] api: db: added toxic latency\\_downstream (latency, downstream, toxicity 1): latency=100 ms, jitter=0 ms".to_string(),
        "- [T] gameday-script/1.0: db: updated toxic latency\\_downstream (latency, downstream, toxicity 0.5): latency=250 ms, jitter=0 ms".to_string(),
        "- [T] alice: p99 \\*jumped\\* to 250ms \\<b\\>\\[see\\](x)\\</b\\>".to_string(),
        "- [T] api: db: removed toxic latency\\_downstream".to_string(),
        format!("- [T] api: updated proxy db: listen {listen}, upstream {up}, disabled"),
        "- [T] api: reset: every toxic removed, every proxy enabled".to_string(),
        "- [T] api: deleted proxy db".to_string(),
    ];
    assert_eq!(times_aside(&r.body), expected, "{}", r.body);

    let j = http(api, "GET", "/journal.json", None).await.json();
    assert_eq!(j["dropped"], 0);
    let events = j["events"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "proxy_created",
            "toxic_added",
            "toxic_updated",
            "note",
            "toxic_removed",
            "proxy_updated",
            "reset",
            "proxy_deleted"
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<_>>());
    assert_eq!(events[1]["proxy"], "db");
    assert_eq!(events[1]["toxic"], "latency_downstream");
    assert_eq!(events[1]["detail"]["attributes"]["latency"], 100);
    assert_eq!(events[6]["proxy"], Value::Null);
    // Monotonic time agrees with wall time: both advance together, within a generous bound.
    let wall = |e: &Value| humantime::parse_rfc3339(e["wall"].as_str().unwrap()).unwrap();
    let (first, last) = (&events[0], &events[7]);
    let dt = last["t"].as_f64().unwrap() - first["t"].as_f64().unwrap();
    let dwall = wall(last)
        .duration_since(wall(first))
        .unwrap()
        .as_secs_f64();
    assert!(
        dt >= 0.0 && (dt - dwall).abs() < 0.5,
        "t advanced {dt} s, wall {dwall} s"
    );
    let started = humantime::parse_rfc3339(j["started_wall"].as_str().unwrap()).unwrap();
    assert!(wall(first) >= started);
    srv.shutdown().await;
}

/// An open `/events` stream read frame by frame.
struct Sse {
    stream: TcpStream,
    buf: String,
}

impl Sse {
    async fn open(api: SocketAddr, extra: &str) -> Sse {
        let mut stream = TcpStream::connect(api).await.unwrap();
        let req = format!("GET /events HTTP/1.1\r\nHost: {api}\r\n{extra}\r\n");
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut sse = Sse {
            stream,
            buf: String::new(),
        };
        let head = sse.until("\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(head.contains("content-type: text/event-stream"), "{head}");
        sse
    }

    /// Read until `end` and return what came before it (chunked framing lines included).
    async fn until(&mut self, end: &str) -> String {
        let read = async {
            loop {
                if let Some(i) = self.buf.find(end) {
                    let out = self.buf[..i].to_string();
                    self.buf.drain(..i + end.len());
                    return out;
                }
                let mut chunk = [0u8; 4096];
                let n = self.stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "stream closed; had {:?}", self.buf);
                self.buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        };
        tokio::time::timeout(STEP, read)
            .await
            .expect("no event within the step")
    }

    /// The next event (name, id, data), skipping comments.
    async fn next(&mut self) -> (String, Option<u64>, Value) {
        loop {
            let block = self.until("\n\n").await;
            let (mut name, mut id, mut data) = (String::new(), None, None);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_string();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = v.parse().ok();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(serde_json::from_str(v).unwrap());
                }
            }
            if let Some(data) = data {
                return (name, id, data);
            }
        }
    }
}

#[tokio::test]
async fn the_event_stream_replays_streams_and_samples() {
    let srv = server(12).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let proxy = create_proxy(api, "db", up).await;
    for i in 0..3 {
        let note = json!({"author": "bob", "text": format!("note {i}")}).to_string();
        assert_eq!(http(api, "POST", "/notes", Some(&note)).await.status, 201);
    }
    // A reloaded page says what it saw last: it gets exactly what came after.
    let mut sse = Sse::open(api, "Last-Event-ID: 2\r\n").await;
    let (name, id, data) = sse.next().await;
    assert_eq!((name.as_str(), id), ("journal", Some(3)));
    assert_eq!(data["text"], "note 1");
    assert_eq!(sse.next().await.1, Some(4));
    // Live: a toxic added now arrives with the next id.
    add_toxic(
        api,
        "db",
        r#"{"type":"latency","attributes":{"latency":1}}"#,
    )
    .await;
    // What the embedding process publishes arrives too.
    srv.events()
        .publish("probe", json!({"name": "health", "ok": false}));
    let mut seen_toxic = false;
    let mut seen_probe = false;
    let mut metrics = None;
    // Traffic through the proxy, then wait for a metrics sample that counts it.
    let mut c = TcpStream::connect(proxy).await.unwrap();
    c.write_all(b"ping").await.unwrap();
    let mut got = [0u8; 4];
    c.read_exact(&mut got).await.unwrap();
    for _ in 0..50 {
        let (name, id, data) = sse.next().await;
        match name.as_str() {
            "journal" => {
                assert_eq!((id, data["kind"].as_str()), (Some(5), Some("toxic_added")));
                seen_toxic = true;
            }
            "probe" => {
                assert_eq!(
                    (id, data.clone()),
                    (None, json!({"name": "health", "ok": false}))
                );
                seen_probe = true;
            }
            "metrics"
                if data["proxies"]["db"]["bytes_up"] == 4
                    && data["proxies"]["db"]["bytes_down"] == 4 =>
            {
                metrics = Some(data);
            }
            _ => {}
        }
        if seen_toxic && seen_probe && metrics.is_some() {
            break;
        }
    }
    assert!(seen_toxic && seen_probe);
    let m = metrics.expect("a metrics event counting the 4 bytes each way");
    let db = &m["proxies"]["db"];
    assert_eq!(db["listen"], proxy.to_string());
    assert_eq!(db["upstream"], up.to_string());
    assert_eq!(
        (db["enabled"].clone(), db["protocol"].clone()),
        (json!(true), json!("tcp"))
    );
    assert_eq!(db["connections_total"], 1);
    assert_eq!(db["connections_active"], 1);
    assert_eq!(db["http"], Value::Null);
    assert_eq!(db["toxics"][0]["name"], "latency_downstream");
    assert_eq!(db["toxics"][0]["connections_affected"], 1);
    assert!(m["t"].as_f64().unwrap() > 0.0);
    drop(c);
    srv.shutdown().await;
}

/// An HTTP-mode proxy's live view counts requests and 5xx answers and gives latencies.
#[tokio::test]
async fn http_mode_proxies_report_requests_errors_and_latency() {
    let srv = server(13).await;
    let api = srv.local_addr();
    let upstream = support::http::Upstream::start().await;
    let body = json!({"name": "web", "upstream": upstream.addr.to_string(), "protocol": "http"});
    let r = http(api, "POST", "/proxies", Some(&body.to_string())).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let listen: SocketAddr = r.json()["listen"].as_str().unwrap().parse().unwrap();
    let abort = r#"{"type":"http_abort","attributes":{"status":503,"first_n":2}}"#;
    add_toxic(api, "web", abort).await;
    let mut sse = Sse::open(api, "Last-Event-ID: 99\r\n").await;
    let mut h1 = support::http::H1::connect(listen).await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(h1.get("/x").await.unwrap().status.as_u16());
    }
    assert_eq!(statuses, [503, 503, 200, 200, 200]);
    let web = loop {
        let (name, _, data) = sse.next().await;
        if name == "metrics" && data["proxies"]["web"]["http"]["requests"] == 5 {
            break data["proxies"]["web"].clone();
        }
    };
    assert_eq!(web["protocol"], "http");
    assert_eq!(web["http"]["errors"], 2);
    assert_eq!(web["toxics"][0]["requests_faulted"], 2);
    let (p50, p99) = (
        web["http"]["p50_ms"].as_f64(),
        web["http"]["p99_ms"].as_f64(),
    );
    // The requests fell into this sample's window or the previous one (then this one is null).
    if let (Some(p50), Some(p99)) = (p50, p99) {
        assert!(p50 > 0.0 && p50 <= p99 && p99 < 10_000.0, "{p50} {p99}");
    }
    srv.shutdown().await;
}
