//! A worker's share of the closed model's virtual users: who runs, who starts, who stops.
//!
//! User `j` of worker `w` is global user `lane.nth(j)` (of segment `I/N` with `W` workers:
//! `I + N·w + j·N·W`, see [`super::super::segment`]); the worker runs the users of its lane
//! among the first [`Users::active`] at each tick. New users start ready at the
//! tick; when the count falls, users with `j ≥ keep` stop at their next
//! request boundary (after the in-flight request, or on waking from think
//! time) and may start again fresh if the count rises later. A user that
//! reached `requests_per_user` stays finished.

use std::time::Duration;

use rand::rngs::StdRng;
use tokio::time::Instant;

use super::super::plan::Plan;
use super::super::scenario::{Context, Vars};
use super::super::segment::Lane;
use super::super::users::Users;

/// One virtual user's state between requests.
#[derive(Debug)]
pub(super) struct User {
    /// Global user number (`{{user}}`).
    pub id: u64,
    /// This worker's index of the user.
    pub slot: usize,
    /// Requests (or failed builds) done.
    pub done: u64,
    /// Current scenario.
    pub scenario: usize,
    /// Next step of it.
    pub step: usize,
    /// Placeholder values of the current iteration.
    pub ctx: Context,
    /// Extracted values of the current iteration.
    pub vars: Vars,
    /// When the next request is intended.
    pub ready_at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Idle,
    Running,
    Finished,
}

/// This worker's users.
#[derive(Debug)]
pub(super) struct Crowd {
    users: Users,
    lane: Lane,
    keep: u64,
    slots: Vec<Slot>,
    seq_next: u64,
    limit: Option<u64>,
}

impl Crowd {
    /// The users of `lane`, each stopping after `limit` requests.
    pub(super) fn new(users: Users, lane: Lane, limit: Option<u64>) -> Self {
        let mine = lane.share(users.max());
        Self {
            users,
            lane,
            keep: 0,
            slots: vec![Slot::Idle; usize::try_from(mine).unwrap_or(0)],
            seq_next: 0,
            limit,
        }
    }

    /// Fresh placeholder values for an iteration of user `id` (`{{seq}}` unique in the run).
    pub(super) fn context(&mut self, id: u64, rng: &mut StdRng) -> Context {
        let seq = self
            .seq_next
            .wrapping_mul(self.lane.stride)
            .wrapping_add(self.lane.offset);
        self.seq_next += 1;
        Context::draw(seq, id, rng)
    }

    /// Follow the count at `since` (since the start): start users that should
    /// run (ready at `now`) into `ready`.
    pub(super) fn tick(
        &mut self,
        since: Duration,
        now: Instant,
        plan: &Plan,
        rng: &mut StdRng,
        ready: &mut std::collections::VecDeque<User>,
    ) {
        let k = self
            .lane
            .share(self.users.active(since))
            .min(self.slots.len() as u64);
        for j in self.keep..k {
            let j = j as usize;
            if self.slots[j] != Slot::Idle {
                continue;
            }
            self.slots[j] = Slot::Running;
            let id = self.lane.offset + j as u64 * self.lane.stride;
            let scenario = plan.picker.pick(rng);
            let ctx = self.context(id, rng);
            ready.push_back(User {
                id,
                slot: j,
                done: 0,
                scenario,
                step: 0,
                ctx,
                vars: Vars::new(),
                ready_at: now,
            });
        }
        self.keep = k;
    }

    /// Whether the count will never change again after `since`.
    pub(super) fn settled(&self, since: Duration) -> bool {
        since >= self.users.settled()
    }

    /// At a request boundary: whether `user` goes on (else it is finished or stopped).
    pub(super) fn goes_on(&mut self, user: &User) -> bool {
        let slot = &mut self.slots[user.slot];
        if self.limit.is_some_and(|l| user.done >= l) {
            *slot = Slot::Finished;
            false
        } else if user.slot as u64 >= self.keep {
            *slot = Slot::Idle;
            false
        } else {
            true
        }
    }

    /// The user stops for good (the run is stopping).
    pub(super) fn retire(&mut self, user: &User) {
        self.slots[user.slot] = Slot::Finished;
    }
}
