//! The HTTP/1.1 keep-alive wire path for plain `http://` targets: one `TcpStream` per
//! connection slot, the request written from its rendered bytes in one `write_all`, the
//! response head parsed with `httparse` and the body read by `Content-Length`, chunked
//! coding (trailers skipped) or, with neither, until the server closes.
//!
//! Everything runs inside the worker's request future: no connection task, no channel,
//! no header map. A connection is kept for the next request unless the server said
//! `Connection: close` (or spoke HTTP/1.0 without `keep-alive`), the body ran to the close,
//! or bytes followed the response. Errors: the peer closing or resetting before the
//! response is complete is [`ErrorClass::Reset`]; a response that is not HTTP/1.x (a bad
//! head, a bad chunk, a head over [`MAX_HEAD`]) is [`ErrorClass::Other`].

use std::io::ErrorKind;
use std::mem::MaybeUninit;
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::super::errors::{ErrorClass, FAULT_HEADER};
use super::super::template::WireRequest;
use super::Answer;
use super::grpc::Grpc;

/// The largest response head (status line and headers) accepted, in bytes.
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// The most header fields a response head may have.
const MAX_HEADERS: usize = 64;
/// How much room a read asks for.
const READ_CHUNK: usize = 8 * 1024;

/// How the body after a head is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the server closes the connection.
    UntilClose,
}

/// What a response head says.
#[derive(Debug)]
struct Head {
    status: StatusCode,
    /// It carries `x-shakedown-fault`.
    marked: bool,
    /// Its `content-type` and `grpc-status`.
    grpc: Grpc,
    framing: Framing,
    /// The server keeps the connection open after this response.
    keep_alive: bool,
}

/// An open HTTP/1.1 connection and its read buffer.
#[derive(Debug)]
pub(super) struct Wire {
    stream: TcpStream,
    buf: BytesMut,
}

/// An I/O error on an established connection, classified.
fn io_class(e: &std::io::Error) -> ErrorClass {
    match e.kind() {
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => ErrorClass::Reset,
        ErrorKind::TimedOut => ErrorClass::Timeout,
        _ => ErrorClass::Other,
    }
}

impl Wire {
    /// Wrap a connected stream.
    pub(super) fn new(stream: TcpStream) -> Self {
        Self {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
        }
    }

    /// Whether the idle connection can carry a request: the server has neither closed it
    /// nor sent anything unasked. Costs no system call while the socket is not readable.
    pub(super) fn is_reusable(&self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        match self.stream.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == ErrorKind::WouldBlock)
            }
        }
    }

    /// Send `req` and read its response; the flag says whether the connection may be reused.
    pub(super) async fn exchange(
        &mut self,
        req: &WireRequest,
        keep_body: bool,
    ) -> Result<(Answer, bool), ErrorClass> {
        self.buf.clear();
        self.stream
            .write_all(&req.bytes)
            .await
            .map_err(|e| io_class(&e))?;
        let head = loop {
            let head = self.read_head().await?;
            // An interim response (100 Continue, 103 Early Hints) precedes the real one.
            if !head.status.is_informational() {
                break head;
            }
            if head.status == StatusCode::SWITCHING_PROTOCOLS {
                return Err(ErrorClass::Other);
            }
        };
        let no_body = req.head
            || head.status == StatusCode::NO_CONTENT
            || head.status == StatusCode::NOT_MODIFIED;
        let framing = if no_body {
            Framing::Length(0)
        } else {
            head.framing
        };
        let mut body = keep_body.then(Vec::new);
        let mut grpc = head.grpc;
        let read = match framing {
            Framing::Length(n) => self.read_exact_body(n, &mut body).await,
            Framing::Chunked => self.read_chunked(&mut body, &mut grpc).await,
            Framing::UntilClose => self.read_to_close(&mut body).await,
        };
        // A marked response whose body fails was failed by the fault.
        read.map_err(|class| {
            if head.marked {
                ErrorClass::Injected
            } else {
                class
            }
        })?;
        let reusable = head.keep_alive && framing != Framing::UntilClose && self.buf.is_empty();
        let answer = Answer {
            status: head.status,
            marked: head.marked,
            grpc_failed: grpc.failed(),
            body: body.map(Bytes::from),
        };
        Ok((answer, reusable))
    }

    /// Read more into the buffer; the peer closing is `Err(Reset)` (a response is unfinished).
    async fn fill(&mut self) -> Result<(), ErrorClass> {
        self.buf.reserve(READ_CHUNK);
        match self.stream.read_buf(&mut self.buf).await {
            Ok(0) => Err(ErrorClass::Reset),
            Ok(_) => Ok(()),
            Err(e) => Err(io_class(&e)),
        }
    }

    /// Read and parse one response head, consuming it from the buffer.
    async fn read_head(&mut self) -> Result<Head, ErrorClass> {
        loop {
            if let Some(head) = self.parse_head()? {
                return Ok(head);
            }
            self.fill().await?;
        }
    }

    /// The buffered response head, if complete (consumed). Kept out of `read_head` so that
    /// the header array is not part of the request's future.
    fn parse_head(&mut self) -> Result<Option<Head>, ErrorClass> {
        let mut fields = [const { MaybeUninit::uninit() }; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            &self.buf,
            &mut fields,
        );
        match parsed {
            Ok(httparse::Status::Complete(len)) => {
                let head = interpret(&response)?;
                self.buf.advance(len);
                Ok(Some(head))
            }
            Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD => Ok(None),
            Ok(httparse::Status::Partial) | Err(_) => Err(ErrorClass::Other),
        }
    }

    /// Take up to `n` buffered bytes into `body` (when kept); returns how many were taken.
    fn take(&mut self, n: u64, body: &mut Option<Vec<u8>>) -> u64 {
        let k = self.buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
        if let Some(b) = body {
            b.extend_from_slice(&self.buf[..k]);
        }
        self.buf.advance(k);
        k as u64
    }

    /// A body of exactly `n` bytes.
    async fn read_exact_body(
        &mut self,
        mut n: u64,
        body: &mut Option<Vec<u8>>,
    ) -> Result<(), ErrorClass> {
        loop {
            n -= self.take(n, body);
            if n == 0 {
                return Ok(());
            }
            self.fill().await?;
        }
    }

    /// A chunked body: size lines, chunks and their CRLFs, the last chunk and its trailers
    /// (their `grpc-status` noted in `grpc`).
    async fn read_chunked(
        &mut self,
        body: &mut Option<Vec<u8>>,
        grpc: &mut Grpc,
    ) -> Result<(), ErrorClass> {
        loop {
            let size = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete((len, size))) => {
                        self.buf.advance(len);
                        break size;
                    }
                    Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD => {
                        self.fill().await?
                    }
                    Ok(httparse::Status::Partial) | Err(_) => return Err(ErrorClass::Other),
                }
            };
            if size == 0 {
                return self.read_trailers(grpc).await;
            }
            self.read_exact_body(size, body).await?;
            while self.buf.len() < 2 {
                self.fill().await?;
            }
            if &self.buf[..2] != b"\r\n" {
                return Err(ErrorClass::Other);
            }
            self.buf.advance(2);
        }
    }

    /// The trailer fields after the last chunk, up to the empty line (noted in `grpc`).
    async fn read_trailers(&mut self, grpc: &mut Grpc) -> Result<(), ErrorClass> {
        while !self.parse_trailers(grpc)? {
            self.fill().await?;
        }
        Ok(())
    }

    /// Whether the buffered trailer section is complete (then noted in `grpc` and consumed).
    fn parse_trailers(&mut self, grpc: &mut Grpc) -> Result<bool, ErrorClass> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        match httparse::parse_headers(&self.buf, &mut fields) {
            Ok(httparse::Status::Complete((len, trailers))) => {
                for t in trailers {
                    grpc.field(t.name.as_bytes(), t.value);
                }
                self.buf.advance(len);
                Ok(true)
            }
            Ok(httparse::Status::Partial) if self.buf.len() < MAX_HEAD => Ok(false),
            Ok(httparse::Status::Partial) | Err(_) => Err(ErrorClass::Other),
        }
    }

    /// A body that ends when the server closes the connection.
    async fn read_to_close(&mut self, body: &mut Option<Vec<u8>>) -> Result<(), ErrorClass> {
        loop {
            self.take(u64::MAX, body);
            match self.fill().await {
                Ok(()) => {}
                Err(ErrorClass::Reset) if self.buf.is_empty() => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
fn lists(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// What a parsed head says: status, fault marker, body framing (RFC 9112 §6.3) and whether
/// the connection stays open.
fn interpret(response: &httparse::Response<'_, '_>) -> Result<Head, ErrorClass> {
    let status = response
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or(ErrorClass::Other)?;
    let http11 = response.version == Some(1);
    let (mut marked, mut length, mut chunked, mut coded) = (false, None, false, false);
    let (mut close, mut keep) = (false, false);
    let mut grpc = Grpc::default();
    for field in response.headers.iter() {
        let name = field.name;
        grpc.field(name.as_bytes(), field.value);
        if name.eq_ignore_ascii_case(FAULT_HEADER) {
            marked = true;
        } else if name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(field.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or(ErrorClass::Other)?;
            if length.is_some_and(|l| l != n) {
                return Err(ErrorClass::Other);
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            coded = true;
            let last = field
                .value
                .rsplit(|b| *b == b',')
                .next()
                .unwrap_or_default();
            chunked = last.trim_ascii().eq_ignore_ascii_case(b"chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close |= lists(field.value, b"close");
            keep |= lists(field.value, b"keep-alive");
        }
    }
    let framing = match (coded, chunked, length) {
        (true, true, _) => Framing::Chunked,
        (true, false, _) => Framing::UntilClose,
        (false, _, Some(n)) => Framing::Length(n),
        (false, _, None) => Framing::UntilClose,
    };
    Ok(Head {
        status,
        marked,
        grpc,
        framing,
        keep_alive: !close && (http11 || keep),
    })
}
