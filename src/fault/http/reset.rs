//! `http_reset`: drop the client connection with a TCP RST instead of answering.

use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::{HttpFault, Matcher, Verdict, http_behaviour};
use crate::fault::FaultError;
use crate::fault::attrs::Attributes;
use crate::fault::catalog::Attr;
use crate::fault::kind::Kind;

/// Reset the client connection when a matching request arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpReset {
    /// Which requests.
    pub matcher: Box<Matcher>,
}

impl Kind for HttpReset {
    const NAME: &'static str = "http_reset";
    const ATTRIBUTES: &'static [Attr] = http_attributes!();
    const HTTP: bool = true;

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Self {
            matcher: Box::new(Matcher::from_attributes(a)?),
        })
    }
}

impl HttpReset {
    fn render_own(&self, _: &mut Map<String, Value>) {}
}

impl HttpFault for HttpReset {
    fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    fn verdict(&self, _: &mut StdRng) -> Verdict {
        Verdict::Reset
    }
}

http_behaviour!(HttpReset);
