//! The `https` path: the TLS handshake (rustls, SNI from the URL), then hyper's HTTP/2 when the
//! server chose `h2` by ALPN, HTTP/1.1 otherwise; each connection's task spawned, its sender
//! kept by the connection slot.

use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::load::errors::{ErrorClass, tls_reason};
use crate::load::plan::Target;
use crate::load::target::TargetTls;

/// How long a failed HTTP/2 request waits for its connection task's end to learn whether a
/// TLS alert closed the connection (the task ends at once in that case).
const FATE_WAIT: Duration = Duration::from_millis(50);

/// One open connection's request half: HTTP/1.1, or HTTP/2 chosen by ALPN.
#[derive(Debug)]
pub(super) enum Sender {
    H1(http1::SendRequest<Full<Bytes>>),
    /// The receiver learns how the connection task ended: a TLS alert that ends an h2
    /// connection reaches its requests only as "connection closed".
    H2(
        http2::SendRequest<Full<Bytes>>,
        tokio::sync::watch::Receiver<Option<(ErrorClass, String)>>,
    ),
}

impl Sender {
    /// The class of a request's failure `error`. On HTTP/2, a failure that reads as a closed
    /// connection takes the connection's own end instead when that was a TLS failure (waiting
    /// at most [`FATE_WAIT`] for the connection task to finish). A TLS failure comes with its
    /// reason (the connection's, on HTTP/2).
    pub(super) async fn class_of(&self, error: &hyper::Error) -> (ErrorClass, Option<String>) {
        let class = ErrorClass::of_hyper(error);
        let own = || (class, (class == ErrorClass::Tls).then(|| tls_reason(error)));
        let Sender::H2(_, fate) = self else {
            return own();
        };
        if class != ErrorClass::Reset {
            return own();
        }
        let mut fate = fate.clone();
        match tokio::time::timeout(FATE_WAIT, fate.wait_for(Option::is_some)).await {
            Ok(Ok(end)) if matches!(&*end, Some((ErrorClass::Tls, _))) => {
                (ErrorClass::Tls, end.as_ref().map(|(_, why)| why.clone()))
            }
            _ => own(),
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        match self {
            Sender::H1(s) => s.is_closed(),
            Sender::H2(s, _) => s.is_closed(),
        }
    }

    pub(super) async fn ready(&mut self) -> bool {
        match self {
            Sender::H1(s) => s.ready().await.is_ok(),
            Sender::H2(s, _) => s.ready().await.is_ok(),
        }
    }

    /// Send `req` (origin-form URI, `Host` header); on HTTP/2 the URI is made absolute for
    /// `:scheme` and `:authority`.
    pub(super) async fn send(
        &mut self,
        target: &Target,
        mut req: Request<Full<Bytes>>,
    ) -> hyper::Result<http::Response<Incoming>> {
        match self {
            Sender::H1(s) => s.send_request(req).await,
            Sender::H2(s, _) => {
                if let Ok(uri) = absolute(target, req.uri()) {
                    *req.uri_mut() = uri;
                }
                req.headers_mut().remove(http::header::HOST);
                s.send_request(req).await
            }
        }
    }
}

/// `https://authority/path` for an origin-form `uri`.
fn absolute(target: &Target, uri: &http::Uri) -> Result<http::Uri, http::Error> {
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    http::Uri::builder()
        .scheme("https")
        .authority(target.authority.as_bytes())
        .path_and_query(path)
        .build()
}

/// HTTP/1.1 over `io`.
pub(super) async fn http1_over<T>(io: T) -> Result<Sender, ErrorClass>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| ErrorClass::of_hyper(&e))?;
    tokio::spawn(async move {
        // Ends when the sender is dropped or the peer closes; errors are
        // already reported to the request that saw them.
        let _ = connection.await;
    });
    Ok(Sender::H1(sender))
}

/// The TLS handshake on `stream`, then HTTP/2 if the server chose `h2`, else HTTP/1.1.
pub(super) async fn secure(stream: TcpStream, tls: &TargetTls) -> Result<Sender, ErrorClass> {
    let stream = tls
        .connector
        .connect(tls.name.clone(), stream)
        .await
        .map_err(|e| tls.reasons.handshake(&e))?;
    if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
        return http1_over(stream).await;
    }
    let (sender, connection) = http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| ErrorClass::of_hyper(&e))?;
    let (end, fate) = tokio::sync::watch::channel(None);
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            let _ = end.send(Some((ErrorClass::of_hyper(&e), tls_reason(&e))));
        }
    });
    Ok(Sender::H2(sender, fate))
}
