//! Helpers for the HTTP-mode tests: a real hyper upstream on loopback, keep-alive HTTP/1.1
//! and h2c clients, and an HTTP-mode proxy through the embedded control server.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::proxy::{STEP, http};

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// What the upstream saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Requests received.
    pub requests: AtomicU64,
    /// Requests that carried an `x-shakedown-fault-*` header (must stay 0).
    pub fault_headers: AtomicU64,
}

/// A hyper upstream (HTTP/1.1) and what it saw.
pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    /// `/gate` requests wait for a permit.
    pub gate: Arc<Semaphore>,
    _task: JoinHandle<()>,
}

fn reply(status: StatusCode, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r
}

fn full(text: impl Into<Bytes>) -> Body {
    Full::new(text.into()).map_err(|e| match e {}).boxed()
}

/// `GET /big?n=N`: N bytes of `x` in 64 KiB chunks, streamed.
fn big(n: u64) -> Body {
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let stream = futures_util::stream::unfold(n, move |left| {
        let chunk = chunk.clone();
        async move {
            (left > 0).then(|| {
                let len = left.min(chunk.len() as u64);
                let frame = Frame::data(chunk.slice(..len as usize));
                (Ok::<_, Infallible>(frame), left - len)
            })
        }
    });
    StreamBody::new(stream).boxed()
}

async fn handle(seen: Arc<Seen>, gate: Arc<Semaphore>, req: Request<Incoming>) -> Response<Body> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    if req
        .headers()
        .keys()
        .any(|k| k.as_str().starts_with("x-shakedown-fault-"))
    {
        seen.fault_headers.fetch_add(1, Ordering::SeqCst);
    }
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    match path.as_str() {
        "/sink" => {
            // Count the body as it streams; answer the count.
            let mut body = req.into_body();
            let mut n = 0u64;
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(f) => n += f.data_ref().map_or(0, |d| d.len() as u64),
                    Err(_) => return reply(StatusCode::BAD_REQUEST, full("body error")),
                }
            }
            reply(StatusCode::OK, full(n.to_string()))
        }
        "/big" => {
            let n = query
                .strip_prefix("n=")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            reply(StatusCode::OK, big(n))
        }
        // The target's own failure: `/status/500` answers 500.
        p if p.starts_with("/status/") => {
            let code = p["/status/".len()..].parse().unwrap_or(500);
            reply(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                full("own"),
            )
        }
        "/gate" => {
            if let Ok(permit) = gate.acquire().await {
                permit.forget();
            }
            reply(StatusCode::OK, full("gate"))
        }
        _ => {
            let h = |name: &str| {
                req.headers()
                    .get_all(name)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let text = format!(
                "{} {} via={} xff={} host={}",
                req.method(),
                path,
                h("via"),
                h("x-forwarded-for"),
                h("host")
            );
            let mut r = reply(StatusCode::OK, full(text));
            r.headers_mut().insert("x-upstream", "1".parse().unwrap());
            r
        }
    }
}

impl Upstream {
    /// Start on 127.0.0.1:0 (HTTP/1.1 and h2c).
    pub async fn start() -> Upstream {
        let l = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = l.local_addr().expect("addr");
        let seen = Arc::new(Seen::default());
        let gate = Arc::new(Semaphore::new(0));
        let (s, g) = (seen.clone(), gate.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = l.accept().await {
                let (s, g) = (s.clone(), g.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let (s, g) = (s.clone(), g.clone());
                        async move { Ok::<_, Infallible>(handle(s, g, req).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Upstream {
            addr,
            seen,
            gate,
            _task: task,
        }
    }

    /// Requests received so far.
    pub fn requests(&self) -> u64 {
        self.seen.requests.load(Ordering::SeqCst)
    }
}

/// Create an HTTP-mode proxy (extra JSON fields in `extra`, e.g. `,"header_faults":true`).
pub async fn http_proxy(
    api: SocketAddr,
    name: &str,
    upstream: SocketAddr,
    extra: &str,
) -> SocketAddr {
    let body = format!(
        r#"{{"name":"{name}","listen":"127.0.0.1:0","upstream":"{upstream}","protocol":"http"{extra}}}"#
    );
    let r = http(api, "POST", "/proxies", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["protocol"], "http");
    r.json()["listen"]
        .as_str()
        .expect("listen")
        .parse()
        .expect("addr")
}

/// A response read whole.
#[derive(Debug)]
pub struct Got {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub trailers: Option<http::HeaderMap>,
}

impl Got {
    /// The `x-shakedown-fault` marker's values.
    pub fn marker(&self) -> Vec<String> {
        self.headers
            .get_all("x-shakedown-fault")
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }
}

async fn read(resp: Response<Incoming>) -> Result<Got, hyper::Error> {
    let (parts, body) = resp.into_parts();
    let collected = body.collect().await?;
    let trailers = collected.trailers().cloned();
    Ok(Got {
        status: parts.status,
        headers: parts.headers,
        body: collected.to_bytes(),
        trailers,
    })
}

/// A keep-alive HTTP/1.1 connection: every request goes over the same TCP connection.
pub struct H1 {
    sender: hyper::client::conn::http1::SendRequest<Body>,
    pub local: SocketAddr,
}

impl H1 {
    pub async fn connect(addr: SocketAddr) -> H1 {
        let stream = TcpStream::connect(addr).await.expect("connect proxy");
        let local = stream.local_addr().expect("local");
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("h1 handshake");
        tokio::spawn(conn);
        H1 { sender, local }
    }

    /// Send one request; `Err` if the connection failed.
    pub async fn send(&mut self, req: Request<Body>) -> Result<Got, hyper::Error> {
        self.sender.ready().await?;
        let resp = tokio::time::timeout(STEP, self.sender.send_request(req))
            .await
            .expect("response timeout")?;
        read(resp).await
    }

    pub async fn get(&mut self, path: &str) -> Result<Got, hyper::Error> {
        self.send(get(path)).await
    }
}

/// An h2c (prior knowledge) connection.
pub struct H2 {
    sender: hyper::client::conn::http2::SendRequest<Body>,
}

impl H2 {
    pub async fn connect(addr: SocketAddr) -> H2 {
        let stream = TcpStream::connect(addr).await.expect("connect proxy");
        let (sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .expect("h2 handshake");
        tokio::spawn(conn);
        H2 { sender }
    }

    pub async fn send(&mut self, req: Request<Body>) -> Result<Got, hyper::Error> {
        let resp = tokio::time::timeout(STEP, self.sender.send_request(req))
            .await
            .expect("response timeout")?;
        read(resp).await
    }
}

/// A GET for `path` (with a `host` header, as a client sends).
pub fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "example.test")
        .body(full(Bytes::new()))
        .expect("request")
}

/// An h2 GET (absolute URI, no host header).
pub fn get_h2(path: &str) -> Request<Body> {
    Request::get(format!("http://example.test{path}"))
        .body(full(Bytes::new()))
        .expect("request")
}

/// A request with a streamed body of `n` bytes.
pub fn post_streamed(path: &str, n: u64) -> Request<Body> {
    Request::post(path)
        .header("host", "example.test")
        .body(big(n))
        .expect("request")
}

/// A request with one extra header.
pub fn get_with(path: &str, name: &str, value: &str) -> Request<Body> {
    let mut r = get(path);
    r.headers_mut().insert(
        http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
        value.parse().expect("value"),
    );
    r
}

/// GET `path` on `c`: a 200 that took at least `at_least` (a latency toxic on its way).
pub async fn get_delayed(c: &mut H1, path: &str, at_least: std::time::Duration) {
    let start = tokio::time::Instant::now();
    assert_eq!(c.get(path).await.expect("answered").status, 200);
    assert!(start.elapsed() >= at_least, "{:?}", start.elapsed());
}
