//! `refuse_new`: refuse new connections, leave open ones alone (shakedown extension).
//!
//! An affected new connection is reset at once, before the upstream is dialled. With toxicity 1
//! the control plane also closes the proxy's listening socket, so connects get `ECONNREFUSED`
//! from the kernel (see `docs/faults.md`). Its `stream` is ignored.

use super::FaultError;
use super::attrs::Attributes;
use super::catalog::Attr;
use super::kind::{Behaviour, Kind, OnOpen};

/// Refuse new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RefuseNew;

impl Kind for RefuseNew {
    const NAME: &'static str = "refuse_new";
    const ATTRIBUTES: &'static [Attr] = &[];

    fn from_attributes(_: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(RefuseNew)
    }
}

impl Behaviour for RefuseNew {
    fn on_open(&self) -> Option<OnOpen> {
        Some(OnOpen::Refuse)
    }
}
