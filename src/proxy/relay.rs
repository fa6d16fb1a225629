//! The no-toxic fast path: socket → kernel pipe → socket with `splice(2)`.
//!
//! While no toxic affects a direction, its bytes never enter user space: they
//! are spliced from the source socket into a pipe and from the pipe into the
//! destination socket, driven by tokio's readiness API
//! (`readable()`/`writable()` + `try_io`). If a pipe cannot be had (for
//! example out of file descriptors) the relay copies through one reused
//! buffer instead.
//!
//! [`Relay::copy`] is cancel-safe: every syscall is synchronous, so when the
//! caller drops the future (a toxic arrived) no byte is lost. Bytes already
//! read but not yet written stay *held* by the relay; the caller either
//! resumes `copy` (still no toxic) or takes them with [`Relay::take_held`]
//! and feeds them to the toxic chain.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;

use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl, splice};
use prometheus_client::metrics::counter::Counter;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// The pipe size asked for (`F_SETPIPE_SZ`); the kernel default (64 KiB) is kept if refused.
pub const PIPE_BYTES: usize = 1024 * 1024;

/// The copy buffer of the fallback when no pipe can be created.
pub const FALLBACK_BUFFER_BYTES: usize = 256 * 1024;

/// One direction's fast-path state.
#[derive(Debug, Default)]
pub struct Relay {
    how: Option<How>,
}

#[derive(Debug)]
enum How {
    Splice {
        read: File,
        write: File,
        capacity: usize,
        held: usize,
    },
    Buffer {
        buf: Box<[u8]>,
        start: usize,
        end: usize,
    },
}

fn flags() -> SpliceFFlags {
    SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK
}

impl How {
    fn new() -> Self {
        match nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC) {
            Ok((read, write)) => {
                let capacity = grow(&write);
                How::Splice {
                    read: File::from(read),
                    write: File::from(write),
                    capacity,
                    held: 0,
                }
            }
            Err(error) => {
                tracing::debug!(%error, "no pipe for splice, copying through a buffer");
                How::Buffer {
                    buf: vec![0u8; FALLBACK_BUFFER_BYTES].into_boxed_slice(),
                    start: 0,
                    end: 0,
                }
            }
        }
    }
}

/// Ask for a [`PIPE_BYTES`] pipe; the size actually granted.
fn grow(write: &OwnedFd) -> usize {
    let asked = i32::try_from(PIPE_BYTES).unwrap_or(i32::MAX);
    match fcntl(write, FcntlArg::F_SETPIPE_SZ(asked)) {
        Ok(size) => usize::try_from(size).unwrap_or(64 * 1024),
        Err(_) => fcntl(write, FcntlArg::F_GETPIPE_SZ)
            .ok()
            .and_then(|s| usize::try_from(s).ok())
            .unwrap_or(64 * 1024),
    }
}

impl Relay {
    /// A relay; its pipe (or buffer) is created on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether it uses `splice(2)` (false before first use or on the buffer fallback).
    pub fn is_zero_copy(&self) -> bool {
        matches!(self.how, Some(How::Splice { .. }))
    }

    /// Copy from `src` to `dst` until `src` reaches end of stream with
    /// everything written (`Ok`), or an I/O error. Counts delivered bytes in
    /// `bytes`. Cancel-safe (see the module docs).
    pub async fn copy(
        &mut self,
        src: &TcpStream,
        dst: &TcpStream,
        bytes: &Counter,
    ) -> io::Result<()> {
        match self.how.get_or_insert_with(How::new) {
            How::Splice {
                read,
                write,
                capacity,
                held,
            } => loop {
                if *held == 0 {
                    let n = io_when_ready(src, Interest::READABLE, || {
                        Ok(splice(src, None, &*write, None, *capacity, flags())?)
                    })
                    .await?;
                    if n == 0 {
                        return Ok(());
                    }
                    *held = n;
                }
                while *held > 0 {
                    let n = io_when_ready(dst, Interest::WRITABLE, || {
                        Ok(splice(&*read, None, dst, None, *held, flags())?)
                    })
                    .await?;
                    *held -= n;
                    bytes.inc_by(n as u64);
                }
            },
            How::Buffer { buf, start, end } => loop {
                if start == end {
                    let n = io_when_ready(src, Interest::READABLE, || src.try_read(buf)).await?;
                    if n == 0 {
                        return Ok(());
                    }
                    (*start, *end) = (0, n);
                }
                while start < end {
                    let n = io_when_ready(dst, Interest::WRITABLE, || {
                        dst.try_write(&buf[*start..*end])
                    })
                    .await?;
                    if n == 0 {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    *start += n;
                    bytes.inc_by(n as u64);
                }
            },
        }
    }

    /// Take the bytes read from the source but not yet written (empty when none).
    pub fn take_held(&mut self) -> io::Result<Vec<u8>> {
        match &mut self.how {
            None => Ok(Vec::new()),
            Some(How::Splice { read, held, .. }) => {
                let mut out = vec![0u8; *held];
                // The bytes are in the pipe already: this read never waits.
                read.read_exact(&mut out)?;
                *held = 0;
                Ok(out)
            }
            Some(How::Buffer { buf, start, end }) => {
                let out = buf[*start..*end].to_vec();
                (*start, *end) = (0, 0);
                Ok(out)
            }
        }
    }
}

/// Run a non-blocking operation on `stream` once it is ready for `interest`,
/// waiting again on `WouldBlock` (tokio clears the readiness in `try_io`).
async fn io_when_ready<T>(
    stream: &TcpStream,
    interest: Interest,
    mut op: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    loop {
        match stream.try_io(interest, &mut op) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            done => return done,
        }
        stream.ready(interest).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (b, _) = l.accept().await.unwrap();
        (a, b)
    }

    #[tokio::test]
    async fn splices_everything_then_reports_eof() {
        // client → (a_in | relay | b_out) → sink
        let (mut client, a_in) = pair().await;
        let (b_out, mut sink) = pair().await;
        let payload: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let sent = payload.clone();
        let writer = tokio::spawn(async move {
            client.write_all(&sent).await.unwrap();
            client.shutdown().await.unwrap();
            client
        });
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            sink.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut relay = Relay::new();
        let bytes = Counter::default();
        relay.copy(&a_in, &b_out, &bytes).await.unwrap();
        assert!(relay.is_zero_copy());
        drop(b_out);
        let _client = writer.await.unwrap();
        assert_eq!(reader.await.unwrap(), payload);
        assert_eq!(bytes.get(), payload.len() as u64);
    }

    #[tokio::test]
    async fn held_bytes_survive_a_cancelled_copy() {
        // The sink never reads, so the copy blocks with bytes held; cancel it
        // and take them: nothing is lost or duplicated.
        let (mut client, a_in) = pair().await;
        let (b_out, mut sink) = pair().await;
        let payload = vec![5u8; 8 * 1024 * 1024];
        let sent = payload.clone();
        let writer = tokio::spawn(async move {
            let _ = client.write_all(&sent).await;
            client
        });
        let mut relay = Relay::new();
        let bytes = Counter::default();
        let copied = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            relay.copy(&a_in, &b_out, &bytes),
        )
        .await;
        assert!(
            copied.is_err(),
            "a sink that never reads must block the copy"
        );
        let held = relay.take_held().unwrap();
        drop(b_out);
        let mut delivered = Vec::new();
        sink.read_to_end(&mut delivered).await.unwrap();
        assert_eq!(delivered.len() as u64, bytes.get());
        assert!(!held.is_empty(), "bytes were in flight");
        assert!(delivered.len() + held.len() <= payload.len());
        drop(a_in);
        let _ = writer.await;
    }
}
