//! TLS helpers: certificates made at run time with rcgen, a rustls HTTPS upstream on
//! loopback (HTTP/1.1 and HTTP/2 by ALPN), and a TLS client connection to any of them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::proxy::STEP;

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    pub fn new() -> Pki {
        let ck = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("rcgen");
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, ck.cert.pem()).expect("write cert");
        std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
        Pki {
            _dir: dir,
            cert,
            key,
        }
    }

    pub fn cert_str(&self) -> &str {
        self.cert.to_str().expect("utf-8 path")
    }

    pub fn key_str(&self) -> &str {
        self.key.to_str().expect("utf-8 path")
    }
}

/// A rustls HTTPS upstream answering `200 "<version> <path>"`, counting requests by version.
pub struct TlsUpstream {
    pub addr: SocketAddr,
    pub h1: Arc<AtomicU64>,
    pub h2: Arc<AtomicU64>,
    _task: JoinHandle<()>,
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

impl TlsUpstream {
    pub async fn start(pki: &Pki) -> TlsUpstream {
        let config = shakedown::tls::server_config(&pki.cert, &pki.key).expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let (h1, h2) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (c1, c2) = (h1.clone(), h2.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = l.accept().await {
                let (acceptor, c1, c2) = (acceptor.clone(), c1.clone(), c2.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |req: Request<_>| {
                        let counter = if req.version() == http::Version::HTTP_2 {
                            &c2
                        } else {
                            &c1
                        };
                        counter.fetch_add(1, Ordering::SeqCst);
                        let text = format!("{:?} {}", req.version(), req.uri().path());
                        let body: Body =
                            Full::new(Bytes::from(text)).map_err(|e| match e {}).boxed();
                        async move { Ok::<_, Infallible>(Response::new(body)) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        TlsUpstream {
            addr,
            h1,
            h2,
            _task: task,
        }
    }

    pub fn requests(&self) -> u64 {
        self.h1.load(Ordering::SeqCst) + self.h2.load(Ordering::SeqCst)
    }
}

/// A TLS client connection trusting `ca`, offering `alpn`: HTTP/2 when the server chose h2.
pub enum TlsConn {
    H1(hyper::client::conn::http1::SendRequest<Body>),
    H2(hyper::client::conn::http2::SendRequest<Body>),
}

/// A response read whole.
pub struct Reply {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub text: String,
}

impl TlsConn {
    /// Connect and handshake; `Err` carries the handshake failure.
    pub async fn connect(addr: SocketAddr, ca: &Path, alpn: &[&[u8]]) -> std::io::Result<TlsConn> {
        let options = shakedown::tls::TlsOptions {
            ca: Some(ca.to_path_buf()),
            insecure: false,
        };
        let mut config = (*shakedown::tls::client_config(&options).expect("client config")).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await?;
        let name = shakedown::tls::server_name("localhost").expect("name");
        let tls = tokio::time::timeout(STEP, connector.connect(name, tcp))
            .await
            .expect("handshake in time")?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(tls);
        Ok(if h2 {
            let (s, c) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .expect("h2");
            tokio::spawn(c);
            TlsConn::H2(s)
        } else {
            let (s, c) = hyper::client::conn::http1::handshake(io).await.expect("h1");
            tokio::spawn(c);
            TlsConn::H1(s)
        })
    }

    pub fn is_h2(&self) -> bool {
        matches!(self, TlsConn::H2(_))
    }

    /// GET `path` on this connection.
    pub async fn get(&mut self, path: &str) -> Reply {
        let empty = || Full::new(Bytes::new()).map_err(|e| match e {}).boxed();
        let sent = match self {
            TlsConn::H1(s) => {
                s.ready().await.expect("ready");
                let req = Request::get(path)
                    .header("host", "localhost")
                    .body(empty())
                    .unwrap();
                s.send_request(req).await
            }
            TlsConn::H2(s) => {
                let req = Request::get(format!("https://localhost{path}"))
                    .body(empty())
                    .unwrap();
                s.send_request(req).await
            }
        };
        let resp = sent.expect("response");
        let (parts, body) = resp.into_parts();
        let body = tokio::time::timeout(STEP, body.collect())
            .await
            .expect("body in time")
            .expect("body")
            .to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            text: String::from_utf8_lossy(&body).to_string(),
        }
    }
}
