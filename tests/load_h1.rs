//! The load driver's HTTP/1.1 wire path (plain `http://` targets) against a scripted raw TCP
//! server on loopback: body framing (chunked, close-delimited, `HEAD`), connection reuse
//! and reconnects counted by the server, and garbage answered as an error class.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use shakedown::clock::Clock;
use shakedown::config::{Format, parse};
use shakedown::load::{self, ErrorClass, LoadReport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request: the bytes it writes (each written separately,
/// so that a response arrives in pieces) and whether it closes the connection after them.
struct Reply {
    parts: Vec<Vec<u8>>,
    close: bool,
}

/// The request's path and its number on its connection (from 1).
type Script = fn(&str, u64) -> Reply;

/// A raw HTTP/1.1 server that answers by `script` and counts what it accepts.
struct Raw {
    url: String,
    accepted: Arc<AtomicU64>,
    requests: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Raw {
    async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (accepted, requests) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (a, r) = (accepted.clone(), requests.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, script, r.clone()));
            }
        });
        Self {
            url,
            accepted,
            requests,
            task,
        }
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Answer the requests of one connection (heads only: the tests send no bodies).
async fn serve(mut stream: TcpStream, script: Script, requests: Arc<AtomicU64>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(k) => buf.extend_from_slice(&chunk[..k]),
            }
            continue;
        };
        let head: Vec<u8> = buf.drain(..end + 4).collect();
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut fields);
        let Ok(httparse::Status::Complete(_)) = req.parse(&head) else {
            return;
        };
        n += 1;
        requests.fetch_add(1, Ordering::SeqCst);
        let reply = script(req.path.unwrap_or("/"), n);
        for part in reply.parts {
            if stream.write_all(&part).await.is_err() {
                return;
            }
            let _ = stream.flush().await;
            tokio::task::yield_now().await;
        }
        if reply.close {
            return;
        }
    }
}

fn reply(parts: &[&str], close: bool) -> Reply {
    Reply {
        parts: parts.iter().map(|p| p.as_bytes().to_vec()).collect(),
        close,
    }
}

/// Run `yaml` (a load spec whose target is `url`) to its end.
async fn run(url: &str, yaml: &str) -> LoadReport {
    let spec = parse("test.yaml", &format!("target: {url}\n{yaml}"), Format::Yaml).unwrap();
    let run = load::start(spec, Clock::start(), Some(7)).unwrap();
    tokio::time::timeout(Duration::from_secs(60), run.finish())
        .await
        .expect("the run ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_alive_connections_are_one_per_slot_and_head_reads_no_body() {
    // Content-Length on every answer, also on HEAD's (whose body never comes).
    let server = Raw::start(|path, _| match path {
        "/head" => reply(&["HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"], false),
        _ => reply(
            &["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", "ok"],
            false,
        ),
    })
    .await;
    let report = run(
        &server.url,
        "users: 4\nrequests_per_user: 50\nthreads: 2\nscenarios:\n\
         - {name: get, weight: 1, request: {path: /get}}\n\
         - {name: head, weight: 1, request: {method: HEAD, path: /head}}\n",
    )
    .await;
    assert_eq!(report.summary.requests, 200, "{}", report.table());
    assert_eq!(report.summary.errors, 0, "{}", report.table());
    assert_eq!(server.requests(), 200);
    assert_eq!(server.accepted(), 4, "one connection per user slot, reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_bodies_are_decoded_across_pieces_with_extensions_and_trailers() {
    // The token travels in three chunks written separately, one with an extension, then
    // a trailer; the next step uses the extracted value, so a wrong decoding shows as a
    // wrong path (or an `extract` error).
    let server = Raw::start(|path, _| match path {
        "/login" => reply(
            &[
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
                "a;ext=1\r\n{\"token\": ",
                "\r\n8\r\n\"s3cr3t",
                "\"\r\n1\r\n}\r\n0\r\nx-trailer: t\r\n",
                "\r\n",
            ],
            false,
        ),
        "/me/s3cr3t" => reply(&["HTTP/1.1 204 No Content\r\n\r\n"], false),
        _ => reply(
            &["HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"],
            false,
        ),
    })
    .await;
    let report = run(
        &server.url,
        "users: 2\nrequests_per_user: 20\nthreads: 1\nscenarios:\n\
         - name: login\n  weight: 1\n  steps:\n\
         \x20   - {request: {path: /login}, extract: {token: {json: $.token}}}\n\
         \x20   - {request: {path: '/me/{{token}}'}}\n",
    )
    .await;
    assert_eq!(report.summary.requests, 40, "{}", report.table());
    assert_eq!(report.summary.errors, 0, "{}", report.table());
    assert_eq!(server.accepted(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_without_length_ends_at_the_close_and_the_next_request_reconnects() {
    let server =
        Raw::start(|_, _| reply(&["HTTP/1.1 200 OK\r\n\r\n", "all of ", "it"], true)).await;
    let report = run(&server.url, "users: 2\nrequests_per_user: 10\nthreads: 1\n").await;
    assert_eq!(report.summary.requests, 20, "{}", report.table());
    assert_eq!(report.summary.errors, 0, "{}", report.table());
    assert_eq!(
        server.accepted(),
        20,
        "one connection per close-delimited response"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_close_mid_run_reconnects_without_an_error() {
    // Every 5th answer on a connection says `Connection: close` and the server closes.
    let server = Raw::start(|_, n| {
        if n % 5 == 0 {
            reply(
                &["HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"],
                true,
            )
        } else {
            reply(&["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"], false)
        }
    })
    .await;
    let report = run(&server.url, "users: 1\nrequests_per_user: 20\nthreads: 1\n").await;
    assert_eq!(report.summary.requests, 20, "{}", report.table());
    assert_eq!(report.summary.errors, 0, "{}", report.table());
    assert_eq!(server.accepted(), 4, "requests 1-5, 6-10, 11-15, 16-20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_the_server_closed_is_replaced_before_sending() {
    // The server closes silently after each answer; the user thinks 200 ms, long after
    // the close arrived, so the next request opens a new connection instead of failing.
    let server =
        Raw::start(|_, _| reply(&["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"], true)).await;
    let report = run(
        &server.url,
        "users: 1\nrequests_per_user: 5\nthink: 200ms\nthreads: 1\n",
    )
    .await;
    assert_eq!(report.summary.requests, 5, "{}", report.table());
    assert_eq!(report.summary.errors, 0, "{}", report.table());
    assert_eq!(server.accepted(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_cut_responses_are_error_classes_not_panics() {
    let server = Raw::start(|path, _| match path {
        "/garbage" => reply(&["SSH-2.0-OpenSSH_9.6\r\n\r\n"], false),
        "/bad-chunk" => reply(
            &["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"],
            false,
        ),
        "/bad-length" => reply(&["HTTP/1.1 200 OK\r\ncontent-length: -3\r\n\r\n"], false),
        // Half a body, then the close.
        _ => reply(&["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf"], true),
    })
    .await;
    let scenarios = "scenarios:\n\
        - {name: garbage, weight: 1, request: {path: /garbage}}\n\
        - {name: chunk, weight: 1, request: {path: /bad-chunk}}\n\
        - {name: length, weight: 1, request: {path: /bad-length}}\n\
        - {name: cut, weight: 1, request: {path: /cut}}\n";
    let report = run(
        &server.url,
        &format!("users: 2\nrequests_per_user: 20\nthreads: 1\n{scenarios}"),
    )
    .await;
    let by = |c| report.errors_by_class.get(c);
    assert_eq!(report.summary.requests, 40, "{}", report.table());
    assert_eq!(report.summary.errors, 40, "{}", report.table());
    let named = |n: &str| {
        report
            .scenarios
            .iter()
            .find(|s| s.name == n)
            .unwrap()
            .requests
    };
    assert_eq!(by(ErrorClass::Reset), named("cut"), "{}", report.table());
    assert_eq!(
        by(ErrorClass::Other),
        named("garbage") + named("chunk") + named("length"),
        "{}",
        report.table()
    );
    // Every failed connection is dropped: each request opened its own.
    assert_eq!(server.accepted(), 40);
}

/// A response marked `x-shakedown-fault` is `injected` only when it failed: its status (503),
/// its body (cut short) or a gRPC error in its headers or chunked trailers; a marked 200 (a
/// fault that only delayed it) and a marked gRPC OK are successes. Unmarked, the same cut body
/// is the target's `reset`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marked_response_is_injected_only_when_it_failed() {
    const MARK: &str = "x-shakedown-fault: t\r\n";
    let server = Raw::start(|path, _| {
        let answer = |head: &str, body: &str, close| {
            Reply {
                parts: vec![format!("{head}{MARK}\r\n{body}").into_bytes()],
                close,
            }
        };
        let chunked = "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ntransfer-encoding: chunked\r\n";
        match path {
            "/ok" => answer("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n", "ok", false),
            "/503" => answer("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n", "", false),
            "/cut" => answer("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n", "half", true),
            "/grpc-head" => answer(
                "HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: 14\r\ncontent-length: 0\r\n",
                "",
                false,
            ),
            "/grpc-trailer" => answer(chunked, "0\r\ngrpc-status: 13\r\n\r\n", false),
            "/grpc-ok" => answer(chunked, "0\r\ngrpc-status: 0\r\n\r\n", false),
            _ => reply(&["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhalf"], true),
        }
    })
    .await;
    let names = [
        "ok",
        "503",
        "cut",
        "grpc-head",
        "grpc-trailer",
        "grpc-ok",
        "plain-cut",
    ];
    let mut scenarios = String::from("scenarios:\n");
    for n in names {
        scenarios.push_str(&format!(
            "  - {{name: {n}, weight: 1, request: {{path: /{n}}}}}\n"
        ));
    }
    let report = run(
        &server.url,
        &format!("users: 2\nrequests_per_user: 35\nthreads: 1\n{scenarios}"),
    )
    .await;
    let table = report.table();
    let of = |n: &str| report.scenarios.iter().find(|s| s.name == n).unwrap();
    for n in ["ok", "grpc-ok"] {
        assert_eq!(of(n).errors, 0, "{n}: {table}");
    }
    let failed: u64 = ["503", "cut", "grpc-head", "grpc-trailer"]
        .iter()
        .map(|n| {
            assert_eq!(of(n).errors, of(n).requests, "{n}: {table}");
            of(n).requests
        })
        .sum();
    assert!(failed > 0, "{table}");
    let by = |c| report.errors_by_class.get(c);
    assert_eq!(by(ErrorClass::Injected), failed, "{table}");
    assert_eq!(by(ErrorClass::Reset), of("plain-cut").requests, "{table}");
    assert_eq!(report.summary.requests, 70, "{table}");
}
