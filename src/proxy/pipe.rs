//! One direction of one connection: read → toxic chain → write.
//!
//! With no toxic affecting the direction the bytes go through the [`Relay`]
//! (no task hop, no allocation; bulk never enters user space). Otherwise each chunk
//! is stamped with its arrival time and handed to the [`Chain`], whose toxics
//! hold it until due, while reading continues, so delays are measured from
//! arrival and never add up. What leaves the chain waits in the [`Outbox`]
//! only until the destination accepts it.
//!
//! Every wait (a read, a blocked write, a timer) is raced against a change of
//! configuration, so a toxic added while a write is stuck behind a slow
//! reader (`reset_peer`, `timeout`) applies at once; writes are never torn:
//! a partial write is remembered and resumed.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::Snapshot;
use super::budget::FdBudget;
use super::chain::{Chain, Ending, IDLE, Item, MAX_QUEUED_BYTES};
use super::metrics::striped::StripedCounter;
use super::quiet::Alarm;
use super::relay::Relay;
use crate::fault::kind::after;

/// Size of the read buffer of the toxic path (allocated when first needed).
pub(crate) const BUFFER_BYTES: usize = 64 * 1024;

/// How a pipe finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PipeEnd {
    /// The source closed and the close was passed on; the other direction may go on.
    Eof,
    /// The whole connection must be torn down.
    Kill(Ending),
}

/// One direction's state.
#[derive(Debug)]
pub(crate) struct Pipe {
    /// The toxics of this direction.
    pub(crate) chain: Chain,
    /// The live configuration.
    pub(crate) config: watch::Receiver<Arc<Snapshot>>,
    /// Bytes delivered in this direction.
    pub(crate) bytes: StripedCounter,
    /// Where the fast path borrows its splice pipes.
    pub(crate) budget: FdBudget,
}

fn failed(error: &io::Error) -> PipeEnd {
    match error.kind() {
        io::ErrorKind::ConnectionReset => PipeEnd::Kill(Ending::Rst),
        _ => PipeEnd::Kill(Ending::Fin),
    }
}

/// Items due and waiting for the destination, and how far the front one has been written.
#[derive(Debug, Default)]
struct Outbox {
    queue: VecDeque<Item>,
    queued: usize,
    written: usize,
}

impl Outbox {
    fn push(&mut self, items: Vec<Item>) {
        for item in items {
            self.queued += item.len();
            self.queue.push_back(item);
        }
    }

    /// The unwritten rest of the front item when it is data.
    fn front_data(&self) -> Option<Bytes> {
        match self.queue.front() {
            Some(Item::Data { bytes, .. }) => Some(bytes.slice(self.written..)),
            _ => None,
        }
    }

    /// `n` more bytes of the front item were written.
    fn wrote(&mut self, n: usize) {
        self.written += n;
        if let Some(Item::Data { bytes, .. }) = self.queue.front()
            && self.written >= bytes.len()
        {
            self.queued -= bytes.len();
            self.written = 0;
            self.queue.pop_front();
        }
    }
}

enum Fast {
    Changed(bool),
    Done(io::Result<()>),
}

impl Pipe {
    /// Copy from `src` to `dst` until the source closes (and the close was
    /// passed on) or the connection must end.
    pub(crate) async fn run(&mut self, mut src: ReadHalf<'_>, mut dst: WriteHalf<'_>) -> PipeEnd {
        let mut relay = Relay::new(self.budget.clone());
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Outbox::default();
        let mut eof_seen = false;
        let mut eof_queued = false;
        self.follow();
        loop {
            // What is due leaves the toxics; a close at the front happens now, data waits for
            // the select below.
            let now = Instant::now();
            out.push(self.chain.advance(now));
            match out.queue.front() {
                Some(Item::Eof { .. }) => {
                    let _ = dst.shutdown().await;
                    return PipeEnd::Eof;
                }
                Some(Item::Close { how, .. }) => return PipeEnd::Kill(*how),
                _ => {}
            }
            let deadline = self.chain.deadline();
            if let Some((at, how)) = deadline
                && at <= now
            {
                return PipeEnd::Kill(how);
            }
            if out.queue.is_empty() && self.chain.is_drained() && !eof_seen && self.chain.is_idle()
            {
                if let Some(end) = self.fast(&mut relay, &src, &mut dst).await {
                    return end;
                }
                continue;
            }
            if buf.is_empty() {
                buf = vec![0u8; BUFFER_BYTES];
            }
            let due = out.front_data();
            let far = after(now, IDLE);
            let next = self.chain.next_due().unwrap_or(far);
            let wake = next.min(deadline.map_or(far, |(at, _)| at));
            let can_read = !eof_seen && out.queued + self.chain.held_bytes() < MAX_QUEUED_BYTES;
            tokio::select! {
                biased;
                changed = self.config.changed() => {
                    if changed.is_err() {
                        return PipeEnd::Kill(Ending::Fin);
                    }
                    self.follow();
                }
                _ = sleep_until(wake) => {}
                wrote = dst.write(due.as_deref().unwrap_or_default()), if due.is_some() => match wrote {
                    Ok(0) => return PipeEnd::Kill(Ending::Fin),
                    Ok(n) => {
                        out.wrote(n);
                        self.bytes.inc_by(n as u64);
                    }
                    Err(e) => return failed(&e),
                },
                read = src.read(&mut buf), if can_read => match read {
                    Ok(0) => eof_seen = true,
                    Ok(n) => self.arrived(Bytes::copy_from_slice(&buf[..n])),
                    Err(e) => return failed(&e),
                },
            }
            if eof_seen && !eof_queued && !self.chain.blackholed() {
                eof_queued = true;
                self.chain.eof(Instant::now());
            }
        }
    }

    /// The zero-copy path until the configuration changes (`None`: go on) or the direction
    /// ends.
    async fn fast(
        &mut self,
        relay: &mut Relay,
        src: &ReadHalf<'_>,
        dst: &mut WriteHalf<'_>,
    ) -> Option<PipeEnd> {
        // The configuration's `changed` is polled only when its own waker fired: a poll of it
        // takes a lock, and the copy wakes this task for every chunk.
        let fast = {
            let alarm = Alarm::default();
            let mut changed = pin!(self.config.changed());
            let mut copy = pin!(relay.copy(src.as_ref(), dst.as_ref(), &self.bytes));
            poll_fn(|cx| {
                if alarm.rang(cx)
                    && let Poll::Ready(changed) = changed
                        .as_mut()
                        .poll(&mut Context::from_waker(alarm.waker()))
                {
                    return Poll::Ready(Fast::Changed(changed.is_ok()));
                }
                copy.as_mut().poll(cx).map(Fast::Done)
            })
            .await
        };
        match fast {
            Fast::Changed(false) => Some(PipeEnd::Kill(Ending::Fin)),
            Fast::Changed(true) => {
                self.follow();
                if !self.chain.is_idle() {
                    // Bytes read before the toxic applied go through it now.
                    match relay.take_held() {
                        Ok(held) if held.is_empty() => {}
                        Ok(held) => self.arrived(Bytes::from(held)),
                        Err(e) => return Some(failed(&e)),
                    }
                }
                None
            }
            Fast::Done(Ok(())) => {
                let _ = dst.shutdown().await;
                Some(PipeEnd::Eof)
            }
            Fast::Done(Err(e)) => Some(failed(&e)),
        }
    }

    /// After the direction has closed in order: keep following the
    /// configuration so that a toxic that tears the connection down
    /// (`reset_peer`, `timeout`) still does. Returns how to tear down.
    pub(crate) async fn linger(&mut self) -> Ending {
        loop {
            let now = Instant::now();
            let deadline = self.chain.deadline();
            if let Some((at, how)) = deadline
                && at <= now
            {
                return how;
            }
            let wake = deadline.map_or(after(now, IDLE), |(at, _)| at);
            tokio::select! {
                changed = self.config.changed() => {
                    if changed.is_err() {
                        return Ending::Fin;
                    }
                    self.follow();
                }
                _ = sleep_until(wake) => {}
            }
        }
    }

    /// Apply the latest configuration to the chain.
    fn follow(&mut self) {
        let snapshot = self.config.borrow_and_update().clone();
        self.chain.sync(&snapshot, Instant::now());
    }

    /// A chunk read from the source while toxics apply.
    fn arrived(&mut self, chunk: Bytes) {
        if self.chain.blackholed() {
            self.chain.drop_bytes(chunk.len());
        } else {
            self.chain.data(Instant::now(), chunk);
        }
    }
}

#[cfg(test)]
mod tests;
