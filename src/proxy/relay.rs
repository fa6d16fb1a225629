//! The no-toxic fast path: read/write for small chunks, `splice(2)` for bulk.
//!
//! While no toxic affects a direction, its bytes go from the source socket to
//! the destination socket with no task hop, no channel and no allocation:
//! - **small chunks** (the request/response traffic of APIs, Redis, SQL) are
//!   read into the worker thread's scratch buffer and written at once: one
//!   `recvfrom` and one `sendto` per chunk. A read shorter than the buffer
//!   shows the socket drained, so its readiness is cleared then (as tokio's
//!   own `poll_read` does) instead of paying a third call that returns
//!   `EAGAIN`. Only what the destination does not accept at once is kept, in
//!   the relay's own buffer, until it does;
//! - **bulk**: a read that fills the scratch buffer switches the direction to
//!   socket → kernel pipe → socket with `splice(2)`, bytes never entering user
//!   space; a splice shorter than the scratch buffer switches it back. The
//!   pipe is borrowed from the server's pool ([`FdBudget`]) only while bytes
//!   are in flight, so an idle connection holds no pipe (and no buffer). If no
//!   pipe can be had (the budget is spent, or the kernel refuses) the relay
//!   keeps copying through the scratch buffer.
//!
//! Why, measured in docs/benchmarks.md: splicing a 100-byte chunk costs three
//! calls (splice in, splice out, a splice that finds the socket empty) plus
//! four locks of the pipe pool; read/write costs two calls and no lock.
//!
//! [`Relay::copy`] is cancel-safe: every syscall is synchronous, so when the
//! caller drops the future (a toxic arrived) no byte is lost. Bytes already
//! read but not yet written stay *held* by the relay; the caller either
//! resumes `copy` (still no toxic) or takes them with [`Relay::take_held`]
//! and feeds them to the toxic chain.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io::{self, Read};

use nix::fcntl::{SpliceFFlags, splice};
use tokio::io::Interest;
use tokio::net::TcpStream;

use super::budget::{FdBudget, PipeFds};
use super::metrics::striped::StripedCounter;

/// The scratch buffer of each worker thread; a read that fills it switches the direction to
/// `splice(2)`, a splice shorter than it switches back.
pub(crate) const SCRATCH_BYTES: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0u8; SCRATCH_BYTES]);
}

/// One direction's fast-path state.
#[derive(Debug)]
pub(crate) struct Relay {
    budget: FdBudget,
    /// The borrowed pipe while `held` bytes are in it.
    pipe: Option<PipeFds>,
    held: usize,
    /// Bytes read that the destination has not accepted yet: `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The last read filled the scratch buffer: splice the next.
    bulk: bool,
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
            bulk: false,
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
        bytes: &StripedCounter,
    ) -> io::Result<()> {
        loop {
            while self.held > 0 {
                let Some(pipe) = &self.pipe else { break };
                let n = write_when_ready(dst, || {
                    Ok(splice(&pipe.read, None, dst, None, self.held, flags())?)
                })
                .await?;
                self.held -= n;
                bytes.inc_by(n as u64);
            }
            self.give_back();
            while self.start < self.end {
                let chunk = &self.buf[self.start..self.end];
                let n = write_when_ready(dst, || dst.try_write(chunk)).await?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                self.start += n;
                bytes.inc_by(n as u64);
            }
            if self.fill(src, dst, bytes).await? == 0 {
                return Ok(());
            }
        }
    }

    /// Wait for data and move it on: spliced into a borrowed pipe (bulk), or read and written
    /// at once with the rest kept. How many bytes were read, 0 at end of stream.
    async fn fill(
        &mut self,
        src: &TcpStream,
        dst: &TcpStream,
        bytes: &StripedCounter,
    ) -> io::Result<usize> {
        loop {
            poll_fn(|cx| src.poll_read_ready(cx)).await?;
            let moved = match self.bulk.then(|| self.budget.take_pipe()).flatten() {
                Some(pipe) => self.splice_in(src, pipe),
                None => self.read_through(src, dst, bytes),
            };
            match moved {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                done => return done,
            }
        }
    }

    /// Splice what `src` has into `pipe`, keeping the pipe while it holds bytes.
    fn splice_in(&mut self, src: &TcpStream, pipe: PipeFds) -> io::Result<usize> {
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
            self.bulk = n >= SCRATCH_BYTES;
            self.pipe = Some(pipe);
        } else {
            self.budget.put_pipe(pipe);
        }
        n
    }

    /// Read what `src` has into the thread's scratch buffer and write it to `dst` at once;
    /// what `dst` does not take is kept in `buf`.
    fn read_through(
        &mut self,
        src: &TcpStream,
        dst: &TcpStream,
        bytes: &StripedCounter,
    ) -> io::Result<usize> {
        SCRATCH.with_borrow_mut(|scratch| {
            let n = read_drained(src, scratch)?;
            if n == 0 {
                return Ok(0);
            }
            self.bulk = n == scratch.len();
            let written = match dst.try_write(&scratch[..n]) {
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
                Err(e) => return Err(e),
            };
            bytes.inc_by(written as u64);
            if written < n {
                self.buf.clear();
                self.buf.extend_from_slice(&scratch[written..n]);
                (self.start, self.end) = (0, n - written);
            }
            Ok(n)
        })
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
        self.buf = Vec::new();
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

/// Read what `src` has into `buf`: the count (0 at end of stream), or `WouldBlock` when there
/// is nothing. A read shorter than `buf` drained the socket (a TCP receive queue is read until
/// it is empty or the buffer full), so it clears the readiness as well: the next wait sleeps
/// until new data comes instead of trying a read that would find nothing.
fn read_drained(src: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    let read = src.try_io(Interest::READABLE, || {
        got = src.try_read(buf)?;
        if got > 0 && got < buf.len() {
            // tokio clears the readiness it saw when the operation reports WouldBlock; an
            // event that came since is kept.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(got)
    });
    match read {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && got > 0 => Ok(got),
        other => other,
    }
}

/// Run a non-blocking write operation on `stream` once it is writable, waiting again on
/// `WouldBlock` (tokio clears the readiness in `try_io`).
///
/// The waits here and in [`Relay::fill`] use `poll_*_ready`, which keeps the task's waker in
/// the socket's one reader (writer) slot, rather than `ready()`, whose future locks the
/// socket's waiter list to queue its node, again when polled after the wake-up and again to
/// unlink it when dropped; the slot is locked only to store the waker. Each direction is the only reader of its source and the only writer of its
/// destination, so one slot each is enough.
async fn write_when_ready<T>(
    stream: &TcpStream,
    mut op: impl FnMut() -> io::Result<T>,
) -> io::Result<T> {
    loop {
        match stream.try_io(Interest::WRITABLE, &mut op) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            done => return done,
        }
        poll_fn(|cx| stream.poll_write_ready(cx)).await?;
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
        let bytes = StripedCounter::default();
        relay.copy(&a_in, &b_out, &bytes).await.unwrap();
        assert!(relay.is_zero_copy());
        drop(b_out);
        let _client = writer.await.unwrap();
        assert_eq!(reader.await.unwrap(), payload);
        assert_eq!(bytes.get(), payload.len() as u64);
    }

    #[tokio::test]
    async fn small_chunks_are_read_and_written_not_spliced() {
        // Request/response traffic: 100-byte chunks, each delivered before the next is sent.
        let (mut client, a_in) = pair().await;
        let (b_out, mut sink) = pair().await;
        let relay = tokio::spawn(async move {
            let mut relay = Relay::new(FdBudget::new(65_536));
            let bytes = StripedCounter::default();
            relay.copy(&a_in, &b_out, &bytes).await.unwrap();
            (relay, bytes.get())
        });
        for i in 0..50u8 {
            let chunk = [i; 100];
            client.write_all(&chunk).await.unwrap();
            let mut got = [0u8; 100];
            sink.read_exact(&mut got).await.unwrap();
            assert_eq!(got, chunk, "chunk {i}");
        }
        client.shutdown().await.unwrap();
        let (relay, bytes) = relay.await.unwrap();
        assert_eq!(bytes, 5_000);
        assert!(!relay.is_zero_copy(), "no chunk filled the scratch buffer");
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
        let bytes = StripedCounter::default();
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
