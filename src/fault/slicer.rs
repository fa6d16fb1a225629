//! `slicer {average_size, size_variation, delay}`: cut chunks into small slices.
//!
//! Wire units: `average_size` and `size_variation` in bytes, `delay` in
//! **microseconds** (as in Toxiproxy). Each chunk is cut into slices of
//! `average_size ± size_variation` bytes (uniform, at least 1), and slice
//! *i* of a chunk leaves `i × delay` after the chunk. `average_size` must be
//! > 0 and `size_variation` < `average_size`.

use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;

use super::FaultError;
use super::attrs::{Attributes, MAX_BYTES, as_micros};
use super::catalog::Attr;
use super::kind::{Behaviour, Item, Kind, State, after};

/// Slice chunks into pieces of about `average_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slicer {
    /// The mean slice size in bytes.
    pub average_size: u64,
    /// The maximum deviation of a slice's size from the mean, in bytes.
    pub size_variation: u64,
    /// The pause between slices.
    pub delay: Duration,
}

impl Kind for Slicer {
    const NAME: &'static str = "slicer";
    const ATTRIBUTES: &'static [Attr] = &[
        Attr::bytes("average_size", "The mean slice size.")
            .range(1, MAX_BYTES)
            .required(),
        Attr::bytes(
            "size_variation",
            "How far a slice's size deviates from the mean (below average_size).",
        ),
        Attr::micros("delay", "The pause between slices."),
    ];

    /// Sizes at most [`super::attrs::MAX_BYTES`], `delay` at most 24 h.
    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        let average_size = a.bytes("average_size")?;
        let size_variation = a.bytes("size_variation")?;
        if average_size == 0 {
            return Err(FaultError::field("attributes.average_size", "must be > 0"));
        }
        if size_variation >= average_size {
            return Err(FaultError::field(
                "attributes.size_variation",
                format!("must be less than average_size ({average_size}), got {size_variation}"),
            ));
        }
        Ok(Self {
            average_size,
            size_variation,
            delay: a.micros("delay")?,
        })
    }
}

impl Behaviour for Slicer {
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("average_size", self.average_size),
            ("size_variation", self.size_variation),
            ("delay", as_micros(self.delay)),
        ]
    }

    /// Slice *i* of a chunk leaves `i × delay` after the chunk (or after the previous chunk's
    /// last slice, whichever is later); the close passes behind them.
    fn schedule(&self, state: &mut State, item: Item, out: &mut Vec<Item>) {
        let Item::Data { at, bytes } = item else {
            out.push(item);
            return;
        };
        let mut when = state.last.map_or(at, |l| l.max(at));
        let mut offset = 0;
        for (i, len) in self
            .slices(bytes.len(), &mut state.rng)
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                when = after(when, self.delay);
            }
            out.push(Item::Data {
                at: when,
                bytes: bytes.slice(offset..offset + len),
            });
            offset += len;
        }
        state.last = Some(when);
    }
}

impl Slicer {
    /// The slice sizes for a chunk of `len` bytes (they sum to `len`).
    pub fn slices(&self, len: usize, rng: &mut StdRng) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut left = len;
        while left > 0 {
            let size = if self.size_variation == 0 {
                self.average_size
            } else {
                let low = self.average_size - self.size_variation;
                rng.random_range(low..=self.average_size + self.size_variation)
            };
            let size = usize::try_from(size).unwrap_or(usize::MAX).clamp(1, left);
            sizes.push(size);
            left -= size;
        }
        sizes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use serde_json::json;

    #[test]
    fn slices_cover_the_chunk_within_bounds() {
        let t = Slicer {
            average_size: 10,
            size_variation: 3,
            delay: Duration::ZERO,
        };
        let mut rng = StdRng::seed_from_u64(3);
        let sizes = t.slices(1000, &mut rng);
        assert_eq!(sizes.iter().sum::<usize>(), 1000);
        assert!(
            sizes[..sizes.len() - 1]
                .iter()
                .all(|s| (7..=13).contains(s))
        );
        let mut again = StdRng::seed_from_u64(3);
        assert_eq!(sizes, t.slices(1000, &mut again));
    }

    #[test]
    fn variation_must_be_smaller_than_the_average() {
        let m = json!({"average_size": 4, "size_variation": 4})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let err = Slicer::from_attributes(&Attributes::new(&m)).unwrap_err();
        assert!(
            err.to_string().starts_with("attributes.size_variation"),
            "{err}"
        );
    }
}
