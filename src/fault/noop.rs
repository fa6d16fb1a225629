//! `noop`: does nothing; it shows up in the metrics, which proves the plumbing.

use super::FaultError;
use super::attrs::Attributes;
use super::catalog::Attr;
use super::kind::{Behaviour, Kind};

/// Pass everything unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Noop;

impl Kind for Noop {
    const NAME: &'static str = "noop";
    const ATTRIBUTES: &'static [Attr] = &[];

    fn from_attributes(_: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Noop)
    }
}

impl Behaviour for Noop {}
