//! `slow_open {delay}`: wait before dialling the upstream (shakedown extension).
//!
//! Wire unit: milliseconds. An affected new connection is accepted at once,
//! but the upstream is only dialled `delay` later; nothing flows meanwhile.
//! It acts when a connection opens, so its `stream` is ignored and existing
//! connections are not touched.

use std::time::Duration;

use super::FaultError;
use super::attrs::{Attributes, as_millis};
use super::catalog::Attr;
use super::kind::{Behaviour, Kind, OnOpen};

/// Delay the upstream dial by `delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowOpen {
    /// How long the dial is held back.
    pub delay: Duration,
}

impl Kind for SlowOpen {
    const NAME: &'static str = "slow_open";
    const ATTRIBUTES: &'static [Attr] = &[Attr::millis(
        "delay",
        "How long before the upstream is dialled.",
    )];

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Self {
            delay: a.millis("delay")?,
        })
    }
}

impl Behaviour for SlowOpen {
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        vec![("delay", as_millis(self.delay))]
    }

    fn on_open(&self) -> Option<OnOpen> {
        Some(OnOpen::Delay(self.delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn delay_is_milliseconds() {
        let m = json!({"delay": 250})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let t = SlowOpen::from_attributes(&Attributes::new(&m)).unwrap();
        assert_eq!(t.delay, Duration::from_millis(250));
        assert_eq!(t.to_attributes(), vec![("delay", 250)]);
    }
}
