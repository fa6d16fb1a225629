//! The no-toxic fast path: socket → kernel pipe → socket with `splice(2)`.
//!
//! While no toxic affects a direction, its bytes never enter user space: they
//! are spliced from the source socket into a pipe and from the pipe into the
//! destination socket, driven by tokio's readiness API
//! (`readable()`/`writable()` + `try_io`). The pipe is borrowed from the
//! server's pool ([`FdBudget`]) only while bytes are in flight, so an idle
//! connection holds no pipe. If no pipe can be had (the budget is spent, or
//! the kernel refuses) the relay copies through a buffer instead.
//!
//! [`Relay::copy`] is cancel-safe: every syscall is synchronous, so when the
//! caller drops the future (a toxic arrived) no byte is lost. Bytes already
//! read but not yet written stay *held* by the relay; the caller either
//! resumes `copy` (still no toxic) or takes them with [`Relay::take_held`]
//! and feeds them to the toxic chain.

use std::io::{self, Read};

use nix::fcntl::{SpliceFFlags, splice};
use prometheus_client::metrics::counter::Counter;
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::budget::{FdBudget, PipeFds};

/// The copy buffer of the fallback when no pipe can be had.
pub(crate) const FALLBACK_BUFFER_BYTES: usize = 256 * 1024;

/// One direction's fast-path state.
#[derive(Debug)]
pub(crate) struct Relay {
    budget: FdBudget,
    /// The borrowed pipe while `held` bytes are in it.
    pipe: Option<PipeFds>,
    held: usize,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    spliced: bool,
}

fn flags() -> SpliceFFlags {
    SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK
}

impl Relay {
    /// A relay borrowing its pipes from `budget`'s pool.
    pub(crate) fn new(budget: FdBudget) -> Self {
        Self {
            budget,
            pipe: None,
            held: 0,
            buf: Vec::new(),
            start: 0,
            end: 0,
            spliced: false,
        }
    }

    /// Whether it has moved bytes with `splice(2)`.
    #[cfg(test)]
    pub(crate) fn is_zero_copy(&self) -> bool {
        self.spliced
    }

    /// Copy from `src` to `dst` until `src` reaches end of stream with
    /// everything written (`Ok`), or an I/O error. Counts delivered bytes in
    /// `bytes`. Cancel-safe (see the module docs).
    pub(crate) async fn copy(
        &mut self,
        src: &TcpStream,
        dst: &TcpStream,
        bytes: &Counter,
    ) -> io::Result<()> {
        loop {
            if self.held == 0 && self.start == self.end && self.fill(src).await? == 0 {
                return Ok(());
            }
            while self.held > 0 {
                let Some(pipe) = &self.pipe else { break };
                let n = io_when_ready(dst, Interest::WRITABLE, || {
                    Ok(splice(&pipe.read, None, dst, None, self.held, flags())?)
                })
                .await?;
                self.held -= n;
                bytes.inc_by(n as u64);
            }
            self.give_back();
            while self.start < self.end {
                let chunk = &self.buf[self.start..self.end];
                let n = io_when_ready(dst, Interest::WRITABLE, || dst.try_write(chunk)).await?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                self.start += n;
                bytes.inc_by(n as u64);
            }
        }
    }

    /// Wait for data and read it into a borrowed pipe (or the buffer): how many bytes, 0 at
    /// end of stream.
    async fn fill(&mut self, src: &TcpStream) -> io::Result<usize> {
        loop {
            src.ready(Interest::READABLE).await?;
            let read = match self.budget.take_pipe() {
                Some(pipe) => {
                    let n = src.try_io(Interest::READABLE, || {
                        Ok(splice(
                            src,
                            None,
                            &pipe.write,
                            None,
                            pipe.capacity,
                            flags(),
                        )?)
                    });
                    if let Ok(n @ 1..) = n {
                        self.held = n;
                        self.spliced = true;
                        self.pipe = Some(pipe);
                    } else {
                        self.budget.put_pipe(pipe);
                    }
                    n
                }
                None => {
                    if self.buf.is_empty() {
                        self.buf = vec![0u8; FALLBACK_BUFFER_BYTES];
                    }
                    let n = src.try_read(&mut self.buf);
                    if let Ok(n) = n {
                        (self.start, self.end) = (0, n);
                    }
                    n
                }
            };
            match read {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                done => return done,
            }
        }
    }

    /// Return an empty pipe to the pool.
    fn give_back(&mut self) {
        if self.held == 0
            && let Some(pipe) = self.pipe.take()
        {
            self.budget.put_pipe(pipe);
        }
    }

    /// Take the bytes read from the source but not yet written (empty when none).
    pub(crate) fn take_held(&mut self) -> io::Result<Vec<u8>> {
        let mut out = self.buf[self.start..self.end].to_vec();
        (self.start, self.end) = (0, 0);
        if let Some(pipe) = &mut self.pipe
            && self.held > 0
        {
            let mut piped = vec![0u8; self.held];
            // The bytes are in the pipe already: this read never waits.
            pipe.read.read_exact(&mut piped)?;
            self.held = 0;
            out.extend_from_slice(&piped);
        }
        self.give_back();
        Ok(out)
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
        let mut relay = Relay::new(FdBudget::new(65_536));
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
        let mut relay = Relay::new(FdBudget::new(65_536));
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
