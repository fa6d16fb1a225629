//! The control API's HTTP/1.1 server, hardened against slow and idle clients.
//!
//! - A client must send a request's headers within `read_timeout` (hyper's
//!   `header_read_timeout`; the connection is closed otherwise) and its body within the same
//!   time again (`408`, see `api`). A half-sent request cannot hold a connection for longer.
//! - At most `max_api_connections` connections are served at once; one more is answered
//!   `503` and closed at once, so the API can never be starved of descriptors by clients.

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::ServeOptions;
use super::api::{self, Api};

/// The answer to a connection over the cap.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: 58\r\nconnection: close\r\n\r\n{\"error\":\"too many control API connections\",\"status\":503}\n";

/// Answer `503` and close; the request is read (briefly, boundedly) and discarded so the
/// close is a FIN the client can read the answer before, not an RST.
async fn refuse(mut stream: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.write_all(BUSY).await;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 4096];
    let drain = async {
        for _ in 0..16 {
            if !matches!(stream.read(&mut sink).await, Ok(1..)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// Serve the API on `listener` until `stop`.
pub(super) async fn serve(
    listener: TcpListener,
    api: Arc<Api>,
    options: ServeOptions,
    stop: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(options.max_api_connections.max(1)));
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(%peer, "control API connection refused: too many open");
                    tokio::spawn(refuse(stream));
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let api = api.clone();
                let service = service_fn(move |req| api::handle(api.clone(), req));
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(options.read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                    drop(slot);
                });
            }
            Err(error) => {
                tracing::warn!(%error, "control API accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}
