//! One direction of one connection: read → toxic chain → write.
//!
//! With no toxic affecting the direction the pipe copies through one reused
//! buffer (no allocation per chunk, no lock: the configuration is checked via
//! the watch channel's version). Otherwise each chunk is stamped with its
//! arrival time, passed through the [`Chain`], and queued until due, while
//! reading continues, so delays are measured from arrival and never add up.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::Snapshot;
use super::chain::{Chain, Ending, IDLE, Item, MAX_QUEUED_BYTES};

/// Size of the reused copy buffer.
pub const BUFFER_BYTES: usize = 32 * 1024;

/// How a pipe finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipeEnd {
    /// The source closed and the close was passed on; the other direction may go on.
    Eof,
    /// The whole connection must be torn down.
    Kill(Ending),
}

/// One direction's state.
#[derive(Debug)]
pub struct Pipe {
    /// The toxics of this direction.
    pub chain: Chain,
    /// The live configuration.
    pub config: watch::Receiver<Arc<Snapshot>>,
    /// Bytes delivered in this direction.
    pub bytes: Counter,
}

fn read_failed(error: &io::Error) -> PipeEnd {
    match error.kind() {
        io::ErrorKind::ConnectionReset => PipeEnd::Kill(Ending::Rst),
        _ => PipeEnd::Kill(Ending::Fin),
    }
}

impl Pipe {
    /// Copy from `src` to `dst` until the source closes or the connection must end.
    pub async fn run<R, W>(mut self, mut src: R, mut dst: W) -> PipeEnd
    where
        R: AsyncRead + Unpin,
        W: AsyncWrite + Unpin,
    {
        let mut buf = vec![0u8; BUFFER_BYTES];
        let mut queue: VecDeque<Item> = VecDeque::new();
        let mut queued = 0usize;
        let mut eof_seen = false;
        let mut eof_queued = false;
        let snapshot = self.config.borrow_and_update().clone();
        self.chain.sync(&snapshot, Instant::now());
        loop {
            // Deliver whatever is due.
            let now = Instant::now();
            while queue.front().is_some_and(|i| i.at() <= now) {
                match queue.pop_front() {
                    Some(Item::Data { bytes, .. }) => {
                        queued -= bytes.len();
                        if let Err(e) = dst.write_all(&bytes).await {
                            return read_failed(&e);
                        }
                        self.bytes.inc_by(bytes.len() as u64);
                    }
                    Some(Item::Eof { .. }) => {
                        let _ = dst.shutdown().await;
                        return PipeEnd::Eof;
                    }
                    Some(Item::Close { how, .. }) => return PipeEnd::Kill(how),
                    None => break,
                }
            }
            let deadline = self.chain.deadline();
            if let Some((at, how)) = deadline
                && at <= Instant::now()
            {
                return PipeEnd::Kill(how);
            }
            if queue.is_empty() && !eof_seen && self.chain.is_idle() {
                // Fast path: straight copy through the reused buffer.
                tokio::select! {
                    biased;
                    changed = self.config.changed() => {
                        if changed.is_err() {
                            return PipeEnd::Kill(Ending::Fin);
                        }
                        let snapshot = self.config.borrow_and_update().clone();
                        self.chain.sync(&snapshot, Instant::now());
                    }
                    read = src.read(&mut buf) => match read {
                        Ok(0) => {
                            let _ = dst.shutdown().await;
                            return PipeEnd::Eof;
                        }
                        Ok(n) => {
                            if let Err(e) = dst.write_all(&buf[..n]).await {
                                return read_failed(&e);
                            }
                            self.bytes.inc_by(n as u64);
                        }
                        Err(e) => return read_failed(&e),
                    },
                }
                continue;
            }
            let far = Instant::now() + IDLE;
            let next = queue.front().map_or(far, Item::at);
            let deadline = deadline.map_or(far, |(at, _)| at);
            let can_read = !eof_seen && queued < MAX_QUEUED_BYTES;
            let mut arrived = Vec::new();
            tokio::select! {
                biased;
                changed = self.config.changed() => {
                    if changed.is_err() {
                        return PipeEnd::Kill(Ending::Fin);
                    }
                    let snapshot = self.config.borrow_and_update().clone();
                    self.chain.sync(&snapshot, Instant::now());
                }
                _ = sleep_until(next.min(deadline)) => {}
                read = src.read(&mut buf), if can_read => match read {
                    Ok(0) => eof_seen = true,
                    Ok(n) => {
                        if self.chain.blackholed() {
                            self.chain.drop_bytes(n);
                        } else {
                            let chunk = Bytes::copy_from_slice(&buf[..n]);
                            arrived = self.chain.data(Instant::now(), chunk);
                        }
                    }
                    Err(e) => return read_failed(&e),
                },
            }
            if eof_seen && !eof_queued && !self.chain.blackholed() {
                eof_queued = true;
                arrived.extend(self.chain.eof(Instant::now()));
            }
            for mut item in arrived {
                // Never overtake what is already queued.
                if let Some(last) = queue.back() {
                    let at = item.at().max(last.at());
                    item = retime(item, at);
                }
                if let Item::Data { bytes, .. } = &item {
                    queued += bytes.len();
                }
                queue.push_back(item);
            }
        }
    }
}

fn retime(item: Item, at: Instant) -> Item {
    match item {
        Item::Data { bytes, .. } => Item::Data { at, bytes },
        Item::Eof { .. } => Item::Eof { at },
        Item::Close { how, .. } => Item::Close { at, how },
    }
}
