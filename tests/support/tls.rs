//! TLS helpers: certificates made at run time with rcgen (self-signed, or issued by a test
//! CA for mutual TLS), a rustls HTTPS upstream on loopback (HTTP/1.1 and HTTP/2 by ALPN,
//! optionally requiring client certificates), and a TLS client connection to any of them.

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

/// A certificate for `localhost` and `127.0.0.1` (self-signed, or issued by a [`Ca`]) and
/// its key, written as PEM files. It serves as a server's or a client's identity.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn names() -> Vec<String> {
    vec!["localhost".to_string(), "127.0.0.1".to_string()]
}

impl Pki {
    /// Self-signed.
    pub fn new() -> Pki {
        let ck = rcgen::generate_simple_self_signed(names()).expect("rcgen");
        Pki::write(&ck.cert.pem(), &ck.signing_key.serialize_pem())
    }

    fn write(cert_pem: &str, key_pem: &str) -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, cert_pem).expect("write cert");
        std::fs::write(&key, key_pem).expect("write key");
        Pki {
            _dir: dir,
            cert,
            key,
        }
    }

    /// A CA certificate (basic constraints CA) for `localhost` and `127.0.0.1`, self-signed:
    /// served as a server's own certificate, a verifier refuses it (`CaUsedAsEndEntity`)
    /// even when it trusts it as a CA.
    pub fn ca_as_end_entity() -> Pki {
        let mut params = rcgen::CertificateParams::new(names()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed CA");
        Pki::write(&cert.pem(), &key.serialize_pem())
    }

    /// The PEM pair `cert`, `key` made elsewhere (openssl) in `dir`, which it keeps.
    pub fn adopt(dir: tempfile::TempDir, cert: PathBuf, key: PathBuf) -> Pki {
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

/// A test certificate authority: its certificate as a PEM file (`cert`), and the
/// identities it issues.
pub struct Ca {
    root: Pki,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Ca {
    pub fn new() -> Ca {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "shakedown test CA");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("self-signed CA");
        let root = Pki::write(&cert.pem(), &key.serialize_pem());
        Ca {
            root,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// The CA's certificate file.
    pub fn cert(&self) -> &Path {
        &self.root.cert
    }

    pub fn cert_str(&self) -> &str {
        self.root.cert_str()
    }

    /// A new identity (server or client) signed by this CA.
    pub fn issue(&self) -> Pki {
        let params = rcgen::CertificateParams::new(names()).expect("params");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed");
        Pki::write(&cert.pem(), &key.serialize_pem())
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
        TlsUpstream::requiring(pki, None).await
    }

    /// With `client_ca`, a client must present a certificate that CA signed.
    pub async fn requiring(pki: &Pki, client_ca: Option<&Path>) -> TlsUpstream {
        let config =
            shakedown::tls::server_config(&pki.cert, &pki.key, client_ca).expect("server config");
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
        TlsConn::over(handshake(addr, ca, alpn, None).await?).await
    }

    /// HTTP/1.1 or HTTP/2 (as ALPN chose) over a finished handshake.
    pub async fn over(tls: tokio_rustls::client::TlsStream<TcpStream>) -> std::io::Result<TlsConn> {
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

    /// GET `path`, or the error that ended the connection (a server that refused the
    /// client's certificate after a TLS 1.3 handshake says so on the first read).
    pub async fn try_get(&mut self, path: &str) -> Result<Reply, hyper::Error> {
        let empty = || Full::new(Bytes::new()).map_err(|e| match e {}).boxed();
        let sent = match self {
            TlsConn::H1(s) => {
                s.ready().await?;
                let req = Request::get(path)
                    .header("host", "localhost")
                    .body(empty())
                    .unwrap();
                s.send_request(req).await
            }
            TlsConn::H2(s) => {
                s.ready().await?;
                let req = Request::get(format!("https://localhost{path}"))
                    .body(empty())
                    .unwrap();
                s.send_request(req).await
            }
        };
        let (parts, body) = sent?.into_parts();
        let body = tokio::time::timeout(STEP, body.collect())
            .await
            .expect("body in time")?
            .to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            text: String::from_utf8_lossy(&body).to_string(),
        })
    }

    pub fn is_h2(&self) -> bool {
        matches!(self, TlsConn::H2(_))
    }

    /// GET `path` on this connection.
    pub async fn get(&mut self, path: &str) -> Reply {
        self.try_get(path).await.expect("response")
    }
}

/// A TLS handshake with the server at `addr` trusting `ca`, offering `alpn`, presenting
/// `identity` if asked for a certificate.
pub async fn handshake(
    addr: SocketAddr,
    ca: &Path,
    alpn: &[&[u8]],
    identity: Option<&Pki>,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let options = shakedown::tls::TlsOptions {
        ca: Some(ca.to_path_buf()),
        cert: identity.map(|p| p.cert.clone()),
        key: identity.map(|p| p.key.clone()),
        ..Default::default()
    };
    let mut config = (*shakedown::tls::client_config(&options).expect("client config")).clone();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    let name = shakedown::tls::server_name("localhost").expect("name");
    tokio::time::timeout(STEP, connector.connect(name, tcp))
        .await
        .expect("handshake in time")
}

/// An experiment (written in `dir`) whose one service is fixtures/https_server.py on a free
/// port serving `pki` (requiring client certificates signed by `client_ca` when given),
/// ready at its `https://127.0.0.1` URL within 3 s, with a probe on the same URL and the
/// experiment's `tls` section `tls` (YAML flow text, or empty for none). Returns the file.
pub fn https_service_experiment(
    dir: &Path,
    name: &str,
    pki: &Pki,
    client_ca: Option<&Path>,
    tls: &str,
) -> PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/https_server.py");
    let port = super::runner::free_port();
    let mut argv = vec![
        "python3".to_string(),
        script.to_string(),
        port.to_string(),
        pki.cert_str().to_string(),
        pki.key_str().to_string(),
    ];
    argv.extend(client_ca.map(|p| p.display().to_string()));
    let argv: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
    let tls = if tls.is_empty() {
        String::new()
    } else {
        format!("tls: {tls}\n")
    };
    let url = format!("https://127.0.0.1:{port}/health");
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &file,
        format!(
            "title: {name}\n{tls}services:\n  - {{name: web, command: [{}], ready: \"{url}\", ready_timeout: 3s}}\nsteady_state:\n  probes:\n    - {{name: web, http: {{url: \"{url}\"}}}}\nduration: 1s\n",
            argv.join(", ")
        ),
    )
    .expect("write the experiment");
    file
}
