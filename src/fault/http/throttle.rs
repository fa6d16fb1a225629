//! `http_throttle {rate}`: pass each faulted response's body on at `rate` KB/s (1 KB = 1000
//! bytes), per response.

use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::{HttpFault, Matcher, Verdict, http_behaviour};
use crate::fault::attrs::Attributes;
use crate::fault::catalog::Attr;
use crate::fault::kind::Kind;
use crate::fault::{FaultError, MAX_RATE};

/// Throttle a response body.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpThrottle {
    /// Which requests.
    pub matcher: Box<Matcher>,
    /// Bytes per second (the wire's KB/s × 1000).
    pub bytes_per_sec: u64,
}

impl Kind for HttpThrottle {
    const NAME: &'static str = "http_throttle";
    const ATTRIBUTES: &'static [Attr] = http_attributes!(
        Attr::count("rate", "The response body's throughput.")
            .unit("KB/s")
            .range(1, MAX_RATE)
            .required(),
    );
    const HTTP: bool = true;

    /// `rate` in KB/s, in `1..=MAX_RATE`.
    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        let rate = a.integer("rate")?;
        if rate == 0 || rate > MAX_RATE {
            return Err(FaultError::field(
                "attributes.rate",
                format!("must be in 1..={MAX_RATE} KB/s, got {rate}"),
            ));
        }
        Ok(Self {
            matcher: Box::new(Matcher::from_attributes(a)?),
            bytes_per_sec: rate * 1000,
        })
    }
}

impl HttpThrottle {
    fn render_own(&self, map: &mut Map<String, Value>) {
        map.insert("rate".into(), Value::from(self.bytes_per_sec / 1000));
    }
}

impl HttpFault for HttpThrottle {
    fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    fn verdict(&self, _: &mut StdRng) -> Verdict {
        Verdict::Throttle {
            bytes_per_sec: self.bytes_per_sec,
        }
    }
}

http_behaviour!(HttpThrottle);
