//! `http_delay {delay, jitter, response_delay}` in ms: hold the request `delay ± jitter`
//! before forwarding it (uniform, never below zero), and the response head `response_delay`.

use std::time::Duration;

use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::{HttpFault, Matcher, Verdict, http_behaviour};
use crate::fault::attrs::{Attributes, as_millis};
use crate::fault::catalog::Attr;
use crate::fault::kind::Kind;
use crate::fault::{FaultError, Latency};

/// Delay a request before forwarding and its response before answering.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpDelay {
    /// Which requests.
    pub matcher: Box<Matcher>,
    /// Before forwarding: `delay ± jitter`.
    pub request: Latency,
    /// Before the response head is passed on.
    pub response_delay: Duration,
}

impl Kind for HttpDelay {
    const NAME: &'static str = "http_delay";
    const ATTRIBUTES: &'static [Attr] = http_attributes!(
        Attr::millis(
            "delay",
            "How long a matching request waits before it is forwarded."
        ),
        Attr::millis(
            "jitter",
            "The most the request delay deviates either side of delay (uniform)."
        ),
        Attr::millis(
            "response_delay",
            "How long the response head waits before it is passed on."
        ),
    );
    const HTTP: bool = true;

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Self {
            matcher: Box::new(Matcher::from_attributes(a)?),
            request: Latency {
                latency: a.millis("delay")?,
                jitter: a.millis("jitter")?,
            },
            response_delay: a.millis("response_delay")?,
        })
    }
}

impl HttpDelay {
    fn render_own(&self, map: &mut Map<String, Value>) {
        map.insert("delay".into(), Value::from(as_millis(self.request.latency)));
        map.insert("jitter".into(), Value::from(as_millis(self.request.jitter)));
        map.insert(
            "response_delay".into(),
            Value::from(as_millis(self.response_delay)),
        );
    }
}

impl HttpFault for HttpDelay {
    fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    fn verdict(&self, rng: &mut StdRng) -> Verdict {
        Verdict::Delay {
            request: self.request.delay(rng),
            response: self.response_delay,
        }
    }
}

http_behaviour!(HttpDelay);
