//! Polling a future only when it was woken: a connection task wakes for every request or
//! chunk, and `tokio::select!` polls each of its branches at each wake, though most of them
//! (the cancellation tokens, the head timer, the configuration watch, an idle upstream
//! connection) have nothing to do. Each poll of those costs hundreds of instructions; a
//! [`Quiet`] one costs an atomic swap when its future was not woken.
//!
//! The future's own waker decides, never a guess from outside: a future that tokio refused
//! to poll because the task's cooperative budget was spent (`tokio::task::coop`) registered
//! nothing but a wake of that waker, so it is polled again on the next wake.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// A waker that records that it was woken, and wakes the task last registered.
#[derive(Debug, Default)]
pub(crate) struct Flag {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// The waker to poll a quiet future with, and whether it was woken since the last look.
#[derive(Debug)]
pub(crate) struct Alarm {
    flag: Arc<Flag>,
    waker: Waker,
}

impl Default for Alarm {
    fn default() -> Self {
        let flag = Arc::new(Flag {
            // Set: the first poll always reaches the future, which registers the waker.
            woken: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        let waker = Waker::from(flag.clone());
        Self { flag, waker }
    }
}

impl Alarm {
    /// Register the polling task (`cx`) and tell whether the quiet future was woken since the
    /// last call; the future is then to be polled with [`Alarm::waker`].
    pub(crate) fn rang(&self, cx: &Context<'_>) -> bool {
        self.flag.task.register(cx.waker());
        self.flag.woken.swap(false, Ordering::AcqRel)
    }

    /// Mark it woken and wake the registered task (something new for the future to do).
    pub(crate) fn ring(&self) {
        self.waker.wake_by_ref();
    }

    /// The waker the quiet future is polled with.
    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }
}

/// `F`, polled only when its own waker fired (and at its first poll).
pub(crate) struct Quiet<F> {
    inner: Pin<Box<F>>,
    alarm: Alarm,
}

impl<F: Future> Quiet<F> {
    /// Wrap `inner`.
    pub(crate) fn new(inner: F) -> Self {
        Self {
            inner: Box::pin(inner),
            alarm: Alarm::default(),
        }
    }
}

impl<F: Future> Future for Quiet<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        if !this.alarm.rang(cx) {
            return Poll::Pending;
        }
        let mut quiet = Context::from_waker(this.alarm.waker());
        this.inner.as_mut().poll(&mut quiet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn a_quiet_future_still_completes_when_woken() {
        let token = tokio_util::sync::CancellationToken::new();
        let mut quiet = Box::pin(Quiet::new(token.clone().cancelled_owned()));
        let mut sleep = Box::pin(Quiet::new(tokio::time::sleep(Duration::from_secs(5))));
        // Not ready: polled once (registering its waker), then left alone.
        assert!(futures_util::poll!(quiet.as_mut()).is_pending());
        assert!(!quiet.alarm.rang(&Context::from_waker(Waker::noop())));
        token.cancel();
        tokio::time::timeout(Duration::from_secs(1), quiet)
            .await
            .expect("the cancellation reached the quiet future");
        let start = tokio::time::Instant::now();
        sleep.as_mut().await;
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }
}
