//! Seeded, order-independent random draws for toxicity and per-toxic randomness.
//!
//! Every random choice is derived from the server seed and the *identity* of
//! the decision (proxy name, connection number, toxic name, purpose), never
//! from timing or task scheduling. So the same seed and the same sequence of
//! connections give the same verdicts, however the runtime interleaves them.

use rand::SeedableRng;
use rand::rngs::StdRng;

/// What a draw is used for; part of its identity so streams never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Whether the toxic affects the connection (compared with the toxicity).
    Toxicity,
    /// The toxic's own random choices (latency jitter, slice sizes).
    Randomness,
    /// Whether an HTTP toxic faults one request (the key's number is the request's).
    Request,
    /// An HTTP toxic's own random choices for one request.
    RequestRandomness,
}

/// Identifies one toxic on one connection (or, for HTTP toxics, on one request): the key of
/// its decisions.
#[derive(Debug, Clone, Copy)]
pub struct DecisionKey<'a> {
    /// The server seed (`--seed`).
    pub seed: u64,
    /// The proxy's name.
    pub proxy: &'a str,
    /// The connection's number on that proxy, from 1 in accept order; for an HTTP toxic's
    /// per-request draws, the request's number among those the toxic matched, from 1 since
    /// the toxic was created.
    pub connection: u64,
    /// The toxic's name.
    pub toxic: &'a str,
}

impl DecisionKey<'_> {
    /// A 64-bit hash of the key and purpose (FNV-1a then a SplitMix64 finaliser:
    /// stable across platforms and Rust releases).
    pub fn hash(&self, purpose: Purpose) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            // A separator so ("ab","c") and ("a","bc") differ.
            h ^= 0xff;
            h = h.wrapping_mul(0x0100_0000_01b3);
        };
        eat(&self.seed.to_le_bytes());
        eat(self.proxy.as_bytes());
        eat(&self.connection.to_le_bytes());
        eat(self.toxic.as_bytes());
        eat(&[purpose as u8]);
        splitmix64(h)
    }

    /// The fixed draw in `[0, 1)` compared with the toxicity.
    pub fn draw(&self) -> f64 {
        unit(self.hash(Purpose::Toxicity))
    }

    /// A generator for the toxic's own random choices on this connection.
    pub fn rng(&self) -> StdRng {
        StdRng::seed_from_u64(self.hash(Purpose::Randomness))
    }

    /// The fixed draw in `[0, 1)` of one request (the key's `connection` is its number).
    pub fn request_draw(&self) -> f64 {
        unit(self.hash(Purpose::Request))
    }

    /// A generator for an HTTP toxic's random choices on one request.
    pub fn request_rng(&self) -> StdRng {
        StdRng::seed_from_u64(self.hash(Purpose::RequestRandomness))
    }
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The top 53 bits of `x` as a float in `[0, 1)`.
pub fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn key(connection: u64, toxic: &str) -> DecisionKey<'_> {
        DecisionKey {
            seed: 42,
            proxy: "db",
            connection,
            toxic,
        }
    }

    #[test]
    fn draws_are_reproducible_and_distinct() {
        assert_eq!(key(1, "latency").draw(), key(1, "latency").draw());
        assert_ne!(key(1, "latency").draw(), key(2, "latency").draw());
        assert_ne!(key(1, "latency").draw(), key(1, "latency2").draw());
        let a: u64 = key(3, "x").rng().random();
        let b: u64 = key(3, "x").rng().random();
        assert_eq!(a, b);
    }

    #[test]
    fn draws_are_roughly_uniform() {
        // 10,000 draws: the share below 0.3 is 0.3 ± 0.03 (over 6 sigma).
        let below = (1..=10_000).filter(|c| key(*c, "t").draw() < 0.3).count();
        assert!((2_700..=3_300).contains(&below), "{below}");
        assert!((1..=1000).all(|c| (0.0..1.0).contains(&key(c, "t").draw())));
    }
}
