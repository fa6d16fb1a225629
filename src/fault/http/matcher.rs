//! Which requests an HTTP toxic considers: method, path prefix, path regex, a header, and the
//! `first_n` / `max_active` caps.

use http::{HeaderMap, HeaderName, Method};
use regex::Regex;
use serde_json::{Map, Value};

use crate::fault::FaultError;
use crate::fault::attrs::Attributes;

/// A compiled regular expression, compared by its source.
#[derive(Debug, Clone)]
pub struct Pattern(pub Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// The matcher of an HTTP toxic. Every condition given must hold; none given matches all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matcher {
    /// `method`: the request method, exactly (`POST`).
    pub method: Option<Method>,
    /// `path`: a prefix of the request path (`/orders`).
    pub path: Option<String>,
    /// `path_regex`: a regular expression searched in the path.
    pub path_regex: Option<Pattern>,
    /// `header`: `"name"` (present) or `"name: value"` (present with that value).
    pub header: Option<(HeaderName, Option<String>)>,
    /// `first_n`: fault only the first N matching requests (0: no limit).
    pub first_n: u64,
    /// `max_active`: at most this many faulted requests in flight (0: no limit).
    pub max_active: u64,
}

impl Matcher {
    /// The matcher's wire attributes, accepted by every HTTP toxic.
    pub const ATTRIBUTES: &'static [crate::fault::catalog::Attr] = http_attributes!();

    /// Read the matcher attributes, naming the field on error.
    pub fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        let field =
            |name: &str, message: String| FaultError::field(format!("attributes.{name}"), message);
        let method = a
            .text("method")?
            .map(|m| {
                Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| field("method", format!("not an HTTP method: {m:?}")))
            })
            .transpose()?;
        let path = a.text("path")?.map(str::to_string);
        if let Some(p) = &path
            && !p.starts_with('/')
        {
            return Err(field("path", format!("must start with '/', got {p:?}")));
        }
        let path_regex = a
            .text("path_regex")?
            .map(|r| {
                Regex::new(r)
                    .map(Pattern)
                    .map_err(|e| field("path_regex", format!("does not compile: {e}")))
            })
            .transpose()?;
        let header = a
            .text("header")?
            .map(|h| {
                let (name, value) = match h.split_once(':') {
                    Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
                    None => (h.trim(), None),
                };
                HeaderName::from_bytes(name.as_bytes())
                    .map(|n| (n, value))
                    .map_err(|_| field("header", format!("not a header name: {name:?}")))
            })
            .transpose()?;
        Ok(Self {
            method,
            path,
            path_regex,
            header,
            first_n: a.count("first_n")?,
            max_active: a.count("max_active")?,
        })
    }

    /// Write the attributes that are set into `map`.
    pub fn render(&self, map: &mut Map<String, Value>) {
        if let Some(m) = &self.method {
            map.insert("method".into(), Value::from(m.as_str()));
        }
        if let Some(p) = &self.path {
            map.insert("path".into(), Value::from(p.as_str()));
        }
        if let Some(r) = &self.path_regex {
            map.insert("path_regex".into(), Value::from(r.0.as_str()));
        }
        if let Some((n, v)) = &self.header {
            let text = match v {
                Some(v) => format!("{n}: {v}"),
                None => n.to_string(),
            };
            map.insert("header".into(), Value::from(text));
        }
        for (k, v) in [("first_n", self.first_n), ("max_active", self.max_active)] {
            if v > 0 {
                map.insert(k.into(), Value::from(v));
            }
        }
    }

    /// Whether a request with this method, path and headers matches.
    pub fn matches(&self, method: &Method, path: &str, headers: &HeaderMap) -> bool {
        self.method.as_ref().is_none_or(|m| m == method)
            && self
                .path
                .as_ref()
                .is_none_or(|p| path.starts_with(p.as_str()))
            && self.path_regex.as_ref().is_none_or(|r| r.0.is_match(path))
            && self.header.as_ref().is_none_or(|(name, value)| {
                headers.get_all(name).iter().any(|v| {
                    value
                        .as_ref()
                        .is_none_or(|want| v.to_str().is_ok_and(|got| got.trim() == want))
                })
            })
    }
}
