//! `grpc_abort` seen by a real gRPC client (tonic, over h2c through an HTTP-mode proxy): the
//! client gets the configured status code and message; without the toxic the call reaches a
//! real h2c upstream that speaks gRPC framing. Messages are raw bytes (a hand-written codec),
//! so no protobuf compiler is needed.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::{Buf, BufMut, Bytes};
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::proxy::*;
use tokio::net::TcpListener;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

/// Messages as raw bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Raw;

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

/// An h2c upstream answering every unary call with `echo: <request message>`, status 0.
async fn grpc_upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = l.accept().await {
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    let body = req.into_body().collect().await.map(|b| b.to_bytes());
                    // One length-prefixed message: flag byte, 4-byte length, payload.
                    let payload = body.ok().filter(|b| b.len() >= 5).map(|b| b.slice(5..));
                    let reply = [b"echo: ".as_slice(), &payload.unwrap_or_default()].concat();
                    let mut framed = vec![0u8];
                    framed.extend_from_slice(&(reply.len() as u32).to_be_bytes());
                    framed.extend_from_slice(&reply);
                    let mut trailers = HeaderMap::new();
                    trailers.insert("grpc-status", "0".parse().unwrap());
                    let frames = vec![
                        Ok::<_, Infallible>(Frame::data(Bytes::from(framed))),
                        Ok(Frame::trailers(trailers)),
                    ];
                    let body: Body = StreamBody::new(futures_util::stream::iter(frames)).boxed();
                    let mut r = Response::new(body);
                    r.headers_mut()
                        .insert("content-type", "application/grpc".parse().unwrap());
                    Ok::<_, Infallible>(r)
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

async fn call(
    addr: SocketAddr,
    path: &'static str,
    message: &'static str,
) -> Result<Bytes, Status> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .timeout(STEP)
        .connect()
        .await
        .expect("h2c connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static(path);
    grpc.unary(tonic::Request::new(Bytes::from(message)), path, Raw)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grpc_client_sees_the_injected_status_and_otherwise_reaches_the_upstream() {
    let upstream = grpc_upstream().await;
    let srv = server(11).await;
    let api = srv.local_addr();
    let addr = support::http::http_proxy(api, "rpc", upstream, "").await;
    const GET: &str = "/demo.Quotes/Get";
    assert_eq!(
        call(addr, GET, "hi").await.unwrap(),
        Bytes::from("echo: hi")
    );
    let toxic = r#"{"name":"unavailable","type":"grpc_abort","attributes":{"code":14,"message":"backend down: 100%","path":"/demo.Quotes/"}}"#;
    add_toxic(api, "rpc", toxic).await;
    let status = call(addr, GET, "hi").await.unwrap_err();
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // gRPC percent-encodes the message on the wire; the client decodes it back.
    assert_eq!(status.message(), "backend down: 100%");
    assert_eq!(
        status.metadata().get("x-shakedown-fault").unwrap(),
        "unavailable"
    );
    // A method of another service does not match the toxic's path and reaches the upstream.
    let other = call(addr, "/demo.Health/Check", "ok").await.unwrap();
    assert_eq!(other, Bytes::from("echo: ok"));
    let removed = http(api, "DELETE", "/proxies/rpc/toxics/unavailable", None).await;
    assert_eq!(removed.status, 204);
    assert_eq!(
        call(addr, GET, "again").await.unwrap(),
        Bytes::from("echo: again")
    );
}
