//! How many file descriptors the proxies may hold, and the pool of splice pipes.
//!
//! Each proxied connection holds two sockets (client and upstream); a direction that is
//! moving bytes on the zero-copy path also borrows a kernel pipe (two descriptors) from the
//! budget's pool of idle pipes for as long as bytes are in flight, so an idle connection holds no pipe.
//! [`FdBudget`] counts what connections and pipes hold against the process's open-file limit,
//! keeping [`reserve`] descriptors free for the control API, logs and the rest of the process:
//! a new connection that would not fit is closed at once (an RST) and counted in
//! `shakedown_proxy_connections_rejected_total`, instead of failing half-open later; a pipe
//! that would not fit is not created (the direction copies through a buffer instead).

use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// Descriptors a proxied connection holds: its two sockets.
pub(crate) const PER_CONNECTION: u64 = 2;

/// The pipe size asked for (`F_SETPIPE_SZ`); the kernel default (64 KiB) is kept if refused.
pub(crate) const PIPE_BYTES: usize = 1024 * 1024;

/// Idle pipes kept for reuse; more are closed when returned.
const MAX_IDLE_PIPES: usize = 256;

/// Descriptors kept free under an open-file limit of `limit`: an eighth of it, at least 64
/// and at most 1,024 (enough for the control API's connection cap and the process itself).
pub fn reserve(limit: u64) -> u64 {
    (limit / 8).clamp(64, 1024)
}

/// The descriptors proxied connections and pipes may hold, shared by every proxy of a server.
#[derive(Debug, Clone)]
pub struct FdBudget {
    inner: Arc<Counts>,
}

#[derive(Debug)]
struct Counts {
    capacity: u64,
    used: AtomicU64,
    pipes: Mutex<Vec<PipeFds>>,
}

/// Descriptors taken from a budget; given back when dropped.
#[derive(Debug)]
pub(crate) struct Permit {
    budget: FdBudget,
    n: u64,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.budget.inner.used.fetch_sub(self.n, Ordering::AcqRel);
    }
}

impl FdBudget {
    /// A budget under an open-file limit of `limit` descriptors (keeping [`reserve`] free).
    pub fn new(limit: u64) -> Self {
        Self {
            inner: Arc::new(Counts {
                capacity: limit.saturating_sub(reserve(limit)),
                used: AtomicU64::new(0),
                pipes: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The budget under the process's current soft open-file limit.
    pub fn of_process() -> Self {
        Self::new(open_files_limit())
    }

    /// How many descriptors connections and pipes may hold in all.
    pub fn capacity(&self) -> u64 {
        self.inner.capacity
    }

    /// How many they hold now.
    pub fn used(&self) -> u64 {
        self.inner.used.load(Ordering::Acquire)
    }

    /// Take `n` descriptors if they fit.
    pub(crate) fn try_take(&self, n: u64) -> Option<Permit> {
        let used = &self.inner.used;
        let mut now = used.load(Ordering::Acquire);
        loop {
            let next = now.checked_add(n).filter(|t| *t <= self.inner.capacity)?;
            match used.compare_exchange_weak(now, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    return Some(Permit {
                        budget: self.clone(),
                        n,
                    });
                }
                Err(seen) => now = seen,
            }
        }
    }

    /// The share of a new connection, if it fits; idle pooled pipes are closed to make room
    /// before a connection is refused.
    pub(crate) fn admit(&self) -> Option<Permit> {
        self.try_take(PER_CONNECTION).or_else(|| {
            self.pipes().clear();
            self.try_take(PER_CONNECTION)
        })
    }

    /// A pipe for splicing: an idle one, or a new one if the budget allows.
    pub(crate) fn take_pipe(&self) -> Option<PipeFds> {
        if let Some(pipe) = self.pipes().pop() {
            return Some(pipe);
        }
        let permit = self.try_take(2)?;
        match nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC) {
            Ok((read, write)) => Some(PipeFds {
                capacity: grow(&write),
                read: File::from(read),
                write: File::from(write),
                _permit: permit,
            }),
            Err(error) => {
                tracing::debug!(%error, "no pipe for splice, copying through a buffer");
                None
            }
        }
    }

    /// Give back an empty pipe.
    pub(crate) fn put_pipe(&self, pipe: PipeFds) {
        let mut idle = self.pipes();
        if idle.len() < MAX_IDLE_PIPES {
            idle.push(pipe);
        }
    }

    fn pipes(&self) -> std::sync::MutexGuard<'_, Vec<PipeFds>> {
        self.inner
            .pipes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An empty kernel pipe and the descriptors it holds from the budget.
#[derive(Debug)]
pub(crate) struct PipeFds {
    pub(crate) read: File,
    pub(crate) write: File,
    pub(crate) capacity: usize,
    _permit: Permit,
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

/// The process's soft open-file limit (1024 when it cannot be read).
pub fn open_files_limit() -> u64 {
    rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
}

/// Raise the soft open-file limit to the hard limit (as `load` does); the soft limit now.
pub fn raise_open_files_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => n,
        Err(error) => {
            tracing::warn!(%error, "cannot raise the open-file limit");
            open_files_limit()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_stop_at_the_capacity_and_come_back() {
        let b = FdBudget::new(1024);
        assert_eq!(b.capacity(), 1024 - 128);
        let held: Vec<_> = (0..448).map_while(|_| b.try_take(2)).collect();
        assert_eq!(held.len(), 448);
        assert!(b.try_take(2).is_none(), "full");
        drop(held);
        assert_eq!(b.used(), 0);
        assert_eq!(FdBudget::new(100).capacity(), 36);
        assert_eq!(FdBudget::new(65_536).capacity(), 64_512);
    }
}
