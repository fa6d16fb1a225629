//! `bandwidth {rate}`: limit a connection's throughput in one direction.
//!
//! Wire unit: KB/s, where 1 KB = 1000 bytes; `rate` must be > 0. The limit
//! is per connection and direction. Data is sent in pieces of at most 100 ms
//! worth of bytes, each released when the link would have finished sending
//! it, so the average rate holds from the first byte.

use std::time::Duration;

use tokio::time::Instant;

use super::FaultError;
use super::attrs::Attributes;
use super::catalog::Attr;
use super::kind::{Behaviour, Item, Kind, State, after};

/// The largest `rate` accepted, in KB/s (10^9 KB/s = 1 TB/s: beyond any link).
pub const MAX_RATE: u64 = 1_000_000_000;

/// Limit throughput to `bytes_per_sec`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    /// The rate, in bytes per second (the wire's KB/s × 1000).
    pub bytes_per_sec: u64,
}

/// One piece of a chunk and when it leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Piece {
    /// Its length in bytes.
    pub(crate) len: usize,
    /// When it has been fully sent at the limited rate.
    pub(crate) release: Instant,
}

impl Kind for Bandwidth {
    const NAME: &'static str = "bandwidth";
    const ATTRIBUTES: &'static [Attr] =
        &[
            Attr::count("rate", "The throughput limit per connection and direction.")
                .unit("KB/s")
                .range(1, MAX_RATE)
                .required(),
        ];

    /// `rate` in KB/s, in `1..=MAX_RATE`.
    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        let rate = a.integer("rate")?;
        if rate == 0 {
            return Err(FaultError::field("attributes.rate", "must be > 0"));
        }
        if rate > MAX_RATE {
            return Err(FaultError::field(
                "attributes.rate",
                format!("must be at most {MAX_RATE} KB/s, got {rate}"),
            ));
        }
        Ok(Self {
            bytes_per_sec: rate * 1000,
        })
    }
}

impl Behaviour for Bandwidth {
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        vec![("rate", self.bytes_per_sec / 1000)]
    }

    /// Data leaves in pieces at the rate; the close waits until the link is free.
    fn schedule(&self, state: &mut State, item: Item, out: &mut Vec<Item>) {
        match item {
            Item::Data { at, bytes } => {
                let (pieces, free) = self.pieces(at, state.free, bytes.len());
                state.free = free;
                let mut offset = 0;
                for p in pieces {
                    out.push(Item::Data {
                        at: p.release,
                        bytes: bytes.slice(offset..offset + p.len),
                    });
                    offset += p.len;
                }
            }
            other => {
                let at = other.at().max(state.free);
                out.push(other.retimed(at));
            }
        }
    }
}

impl Bandwidth {
    /// The time to send `bytes` at this rate.
    pub fn transmit_time(&self, bytes: u64) -> Duration {
        let nanos = u128::from(bytes) * 1_000_000_000 / u128::from(self.bytes_per_sec.max(1));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Schedule `len` bytes that arrived at `arrival` on a link that is busy
    /// until `free`: the pieces and when each leaves, and when the link is
    /// free again.
    pub(crate) fn pieces(
        &self,
        arrival: Instant,
        free: Instant,
        len: usize,
    ) -> (Vec<Piece>, Instant) {
        let quantum = usize::try_from(self.bytes_per_sec / 10)
            .unwrap_or(usize::MAX)
            .max(1);
        let start = arrival.max(free);
        let mut pieces = Vec::with_capacity(len.div_ceil(quantum));
        let mut sent = 0usize;
        while sent < len {
            let n = quantum.min(len - sent);
            sent += n;
            pieces.push(Piece {
                len: n,
                release: after(start, self.transmit_time(sent as u64)),
            });
        }
        let end = pieces.last().map_or(start, |p| p.release);
        (pieces, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test(start_paused = true)]
    async fn bytes_leave_at_the_rate() {
        let t = Bandwidth {
            bytes_per_sec: 10_000,
        };
        let t0 = Instant::now();
        let (pieces, free) = t.pieces(t0, t0, 25_000);
        assert_eq!(pieces.len(), 25); // 1,000-byte (100 ms) pieces
        assert_eq!(free - t0, Duration::from_millis(2_500));
        // A chunk arriving while the link is busy waits for it.
        let (more, free2) = t.pieces(t0 + Duration::from_secs(1), free, 1_000);
        assert_eq!(more[0].release - t0, Duration::from_millis(2_600));
        assert_eq!(free2, more[0].release);
    }

    #[test]
    fn rate_is_kilobytes_and_zero_is_refused() {
        let m = json!({"rate": 32}).as_object().cloned().unwrap_or_default();
        let t = Bandwidth::from_attributes(&Attributes::new(&m)).unwrap();
        assert_eq!(t.bytes_per_sec, 32_000);
        let m = json!({}).as_object().cloned().unwrap_or_default();
        assert!(Bandwidth::from_attributes(&Attributes::new(&m)).is_err());
    }
}
