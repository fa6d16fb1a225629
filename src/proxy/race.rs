//! Racing a connection's futures (its kill token and its two directions), polling on each
//! wake-up only those that were woken.
//!
//! `tokio::select!` polls every branch whenever the task wakes. For a proxied connection a
//! wake-up almost always comes from one socket, yet the kill token (two mutex locks in
//! `tokio_util`) and the other direction (a readiness check that locks its socket's waiter
//! list) were polled too, on every chunk. [`Race`] gives each branch its own waker, which
//! marks the branch and wakes the task: a branch is polled again only when its waker fired.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

/// A branch: a pinned future borrowed by the race.
pub(crate) type Branch<'a, T> = Pin<&'a mut (dyn Future<Output = T> + Send + 'a)>;

/// Resolves to the output of the first of `N` (at most 32) futures to finish; on each poll it
/// polls, in order, only the branches woken since their last poll (all of them on the first).
pub(crate) struct Race<'a, T, const N: usize> {
    branches: [Branch<'a, T>; N],
    wakers: [Waker; N],
    shared: Arc<Shared>,
}

/// What the branch wakers share with the race.
#[derive(Debug)]
struct Shared {
    /// One bit per branch woken since its last poll.
    woken: AtomicU32,
    /// The task polling the race.
    task: AtomicWaker,
}

/// The waker of branch `bit`.
struct BranchWaker {
    shared: Arc<Shared>,
    bit: u32,
}

impl Wake for BranchWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken.fetch_or(self.bit, Ordering::AcqRel);
        self.shared.task.wake();
    }
}

impl<'a, T, const N: usize> Race<'a, T, N> {
    /// Race `branches`; on a tie the earlier one wins.
    pub(crate) fn new(branches: [Branch<'a, T>; N]) -> Self {
        const { assert!(N <= 32, "one bit per branch") };
        let shared = Arc::new(Shared {
            woken: AtomicU32::new(u32::MAX),
            task: AtomicWaker::new(),
        });
        let wakers = std::array::from_fn(|i| {
            Waker::from(Arc::new(BranchWaker {
                shared: Arc::clone(&shared),
                bit: 1 << i,
            }))
        });
        Self {
            branches,
            wakers,
            shared,
        }
    }
}

impl<T, const N: usize> Future for Race<'_, T, N> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        // Registered before the bits are taken, so a wake that comes after the swap wakes
        // the task again.
        this.shared.task.register(cx.waker());
        let woken = this.shared.woken.swap(0, Ordering::AcqRel);
        for (i, (branch, waker)) in this.branches.iter_mut().zip(&this.wakers).enumerate() {
            if woken & (1 << i) == 0 {
                continue;
            }
            if let Poll::Ready(out) = branch.as_mut().poll(&mut Context::from_waker(waker)) {
                return Poll::Ready(out);
            }
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::pin::pin;
    use std::sync::atomic::AtomicUsize;

    /// A future that counts its polls and is ready once `open` is set.
    struct Gate<'a> {
        polls: &'a AtomicUsize,
        open: &'a std::sync::atomic::AtomicBool,
        waker: &'a std::sync::Mutex<Option<Waker>>,
    }

    impl Future for Gate<'_> {
        type Output = usize;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls.fetch_add(1, Ordering::SeqCst);
            if self.open.load(Ordering::SeqCst) {
                return Poll::Ready(self.polls.load(Ordering::SeqCst));
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    #[test]
    fn only_the_woken_branch_is_polled_again_and_its_output_wins() {
        let polls = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let open = [
            std::sync::atomic::AtomicBool::new(false),
            std::sync::atomic::AtomicBool::new(false),
        ];
        let wakers = [std::sync::Mutex::new(None), std::sync::Mutex::new(None)];
        let gate = |i: usize| Gate {
            polls: &polls[i],
            open: &open[i],
            waker: &wakers[i],
        };
        let (mut a, mut b) = (pin!(gate(0)), pin!(gate(1)));
        let mut race = pin!(Race::new([a.as_mut() as Branch<'_, usize>, b.as_mut()]));
        let task_wakes = Arc::new(Counted(AtomicUsize::new(0)));
        let task = Waker::from(Arc::clone(&task_wakes));
        let mut cx = Context::from_waker(&task);
        assert!(race.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.each(), [1, 1], "the first poll polls every branch");
        assert!(race.as_mut().poll(&mut cx).is_pending());
        assert_eq!(polls.each(), [1, 1], "an unwoken branch is not polled");
        open[1].store(true, Ordering::SeqCst);
        wakers[1].lock().unwrap().take().unwrap().wake();
        assert_eq!(
            task_wakes.0.load(Ordering::SeqCst),
            1,
            "a branch wakes the task"
        );
        assert_eq!(race.as_mut().poll(&mut cx), Poll::Ready(2));
        assert_eq!(polls.each(), [1, 2], "only the woken branch was polled");
    }

    struct Counted(AtomicUsize);

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    trait Each {
        fn each(&self) -> [usize; 2];
    }

    impl Each for [AtomicUsize; 2] {
        fn each(&self) -> [usize; 2] {
            [
                self[0].load(Ordering::SeqCst),
                self[1].load(Ordering::SeqCst),
            ]
        }
    }
}
