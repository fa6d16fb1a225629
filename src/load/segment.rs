//! Segments: one agent's exact share of a plan that N agents run together.
//!
//! A [`Segment`] `I/N` numbers the plan's open-model slots (and the closed model's users)
//! globally and keeps those `k` with `k mod N = I`. Inside an agent, worker `w` of `W`
//! takes every `W`-th of the segment's numbers, so worker `w` of segment `I/N` owns the
//! [`Lane`] `I + N·w + j·N·W` (`j = 0, 1, …`). Lanes of different agents never meet, and
//! the agents together cover every number once, whatever thread count each agent uses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The most agents one plan may be split across.
pub(crate) const MAX_SEGMENTS: u64 = 10_000;

/// Segment `index` of `count` (`I/N`, written `"0/4"`); the whole plan is `0/1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Segment {
    /// This agent's index `I`, `0 ≤ I < N`.
    pub index: u64,
    /// The number of agents `N`, `1 ≤ N ≤ 10 000`.
    pub count: u64,
}

impl Segment {
    /// The whole plan, run by one agent.
    pub const WHOLE: Segment = Segment { index: 0, count: 1 };

    /// The numbers worker `worker` of `workers` in this segment owns.
    pub(super) fn lane(self, worker: u64, workers: u64) -> Lane {
        Lane {
            offset: self.index + self.count * worker,
            stride: self.count * workers.max(1),
        }
    }

    /// How many of the numbers `0..total` fall in this segment.
    pub(super) fn share(self, total: u64) -> u64 {
        total / self.count + u64::from(self.index < total % self.count)
    }

    /// Whether this is the whole plan.
    pub fn is_whole(self) -> bool {
        self.count == 1
    }
}

impl Default for Segment {
    fn default() -> Self {
        Self::WHOLE
    }
}

impl FromStr for Segment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("invalid segment {s:?} (expected I/N with 0 ≤ I < N, e.g. 0/4)");
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        if count > MAX_SEGMENTS {
            return Err(format!("segment {s:?}: at most {MAX_SEGMENTS} segments"));
        }
        Ok(Segment { index, count })
    }
}

impl TryFrom<String> for Segment {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Segment> for String {
    fn from(s: Segment) -> String {
        s.to_string()
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The global numbers one worker owns: `offset + j·stride` for `j = 0, 1, …`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lane {
    /// The first number.
    pub(super) offset: u64,
    /// The step between numbers (agents × workers of this agent).
    pub(super) stride: u64,
}

impl Lane {
    /// The `j`-th number of this lane (`None` past `u64::MAX`).
    pub(super) fn nth(self, j: u64) -> Option<u64> {
        j.checked_mul(self.stride)?.checked_add(self.offset)
    }

    /// How many of the numbers `0..total` this lane owns.
    pub(super) fn share(self, total: u64) -> u64 {
        total.saturating_sub(self.offset).div_ceil(self.stride)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_parse_and_bad_ones_say_why() {
        assert_eq!("1/4".parse::<Segment>(), Ok(Segment { index: 1, count: 4 }));
        assert_eq!(" 0 / 1 ".parse::<Segment>(), Ok(Segment::WHOLE));
        for bad in ["4/4", "1/0", "x/2", "1", "-1/2", "1/2/3", "0/10001"] {
            let err = bad.parse::<Segment>().unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
        assert_eq!(
            Segment {
                index: 3,
                count: 16
            }
            .to_string(),
            "3/16"
        );
    }

    #[test]
    fn lanes_of_all_segments_and_workers_cover_every_number_once() {
        let total = 1000;
        let mut seen = vec![0u32; total as usize];
        for (count, workers) in [(1, 1), (3, 2), (4, 3), (16, 1)] {
            seen.fill(0);
            for index in 0..count {
                let seg = Segment { index, count };
                // A different thread count on each agent.
                let w = workers + index % 2;
                let mut mine = 0;
                for worker in 0..w {
                    let lane = seg.lane(worker, w);
                    let owned: Vec<u64> = (0..)
                        .map_while(|j| lane.nth(j).filter(|k| *k < total))
                        .collect();
                    assert_eq!(owned.len() as u64, lane.share(total));
                    assert!(owned.iter().all(|k| k % count == index));
                    mine += owned.len() as u64;
                    for k in owned {
                        seen[k as usize] += 1;
                    }
                }
                assert_eq!(mine, seg.share(total));
            }
            assert!(seen.iter().all(|n| *n == 1), "{count} segments");
        }
    }
}
