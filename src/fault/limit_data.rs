//! `limit_data {bytes}`: close the connection after a number of bytes.
//!
//! Wire unit: bytes. Counting from when the toxic first applied to the
//! connection, at most `bytes` bytes pass in this direction; the connection
//! is closed (FIN on both sides) as soon as that many have been delivered.
//! With `bytes: 0` it closes on the first chunk, passing nothing.

use super::FaultError;
use super::attrs::Attributes;
use super::catalog::Attr;
use super::kind::{Behaviour, Ending, Item, Kind, State};

/// Pass at most `bytes` bytes, then close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitData {
    /// The byte budget.
    pub bytes: u64,
}

/// The verdict on one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admit {
    /// How many bytes of the chunk pass.
    pub(crate) pass: usize,
    /// Whether the connection closes after them.
    pub(crate) close: bool,
}

impl Kind for LimitData {
    const NAME: &'static str = "limit_data";
    const ATTRIBUTES: &'static [Attr] = &[Attr::bytes(
        "bytes",
        "Close the connection once this many bytes have passed in this direction (0: on the first chunk).",
    )];

    /// `bytes`, at most [`super::attrs::MAX_BYTES`].
    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Self {
            bytes: a.bytes("bytes")?,
        })
    }
}

impl Behaviour for LimitData {
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        vec![("bytes", self.bytes)]
    }

    /// Pass what the budget allows, then close (FIN) at the same moment.
    fn schedule(&self, state: &mut State, item: Item, out: &mut Vec<Item>) {
        let Item::Data { at, bytes } = item else {
            out.push(item);
            return;
        };
        let verdict = self.admit(state.passed, bytes.len());
        state.passed = state.passed.saturating_add(verdict.pass as u64);
        if verdict.pass > 0 {
            out.push(Item::Data {
                at,
                bytes: bytes.slice(..verdict.pass),
            });
        }
        if verdict.close {
            out.push(Item::Close {
                at,
                how: Ending::Fin,
            });
        }
    }
}

impl LimitData {
    /// The verdict on a chunk of `len` bytes when `passed` bytes have already gone through.
    pub(crate) fn admit(&self, passed: u64, len: usize) -> Admit {
        let left = self.bytes.saturating_sub(passed);
        let pass = usize::try_from(left).unwrap_or(usize::MAX).min(len);
        Admit {
            pass,
            close: passed.saturating_add(pass as u64) >= self.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_up_to_the_budget_then_closes() {
        let t = LimitData { bytes: 10 };
        assert_eq!(
            t.admit(0, 4),
            Admit {
                pass: 4,
                close: false
            }
        );
        assert_eq!(
            t.admit(4, 20),
            Admit {
                pass: 6,
                close: true
            }
        );
        assert_eq!(
            t.admit(0, 10),
            Admit {
                pass: 10,
                close: true
            }
        );
        assert_eq!(
            LimitData { bytes: 0 }.admit(0, 5),
            Admit {
                pass: 0,
                close: true
            }
        );
    }
}
