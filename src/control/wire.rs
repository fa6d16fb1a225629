//! Request bodies of the control API, validated field by field, and the JSON views it answers.
//!
//! Bodies are parsed as JSON values first, then each field is checked, so an
//! error always names the field (`bad request body: toxicity: must be
//! between 0 and 1, got 1.5`) instead of a parser position.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::error::ApiError;
use crate::fault::{Stream, Toxic, ToxicKind, Toxicity};
use crate::proxy::{Protocol, ToxicEntry};

mod note;
mod tls;
pub use note::{NoteRequest, note_request};
pub use tls::TlsFields;
pub(crate) use tls::check_tls;
use tls::tls_fields;

/// A validated proxy to create (`POST /proxies`, `/populate`, a config file).
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyRequest {
    /// Unique name.
    pub name: String,
    /// `host:port` to listen on; port 0 picks one. Default `127.0.0.1:0`.
    pub listen: String,
    /// `host:port` to forward to.
    pub upstream: String,
    /// Whether it listens (default true).
    pub enabled: bool,
    /// `protocol`: `tcp` or `http` (shakedown extension); `None` (not given) is `tcp` for a
    /// new proxy and keeps an existing one's protocol on `/populate`.
    pub protocol: Option<Protocol>,
    /// `header_faults`: HTTP mode obeys `x-shakedown-fault-*` request headers; `None` (not
    /// given) is false for a new proxy and keeps an existing one's on `/populate`.
    pub header_faults: Option<bool>,
    /// `http_header_timeout` (ms on the wire): how long an HTTP-mode client has to send a
    /// request head; `None` (not given) is the default (10 s) for a new proxy and keeps an
    /// existing one's on `/populate`.
    pub header_timeout: Option<Duration>,
    /// HTTP mode's TLS (`upstream_tls`, `upstream_ca`, `upstream_insecure`, `tls_cert`,
    /// `tls_key`).
    pub tls: TlsFields,
    /// Toxics to start with (shakedown extension; Toxiproxy ignores them).
    pub toxics: Vec<ToxicRequest>,
}

/// A validated proxy update: omitted fields keep their value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyUpdate {
    /// New listen address.
    pub listen: Option<String>,
    /// New upstream.
    pub upstream: Option<String>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New protocol.
    pub protocol: Option<Protocol>,
    /// Turn header-driven faults on or off.
    pub header_faults: Option<bool>,
    /// New head timeout (`http_header_timeout`).
    pub header_timeout: Option<Duration>,
    /// TLS settings to change.
    pub tls: TlsFields,
}

/// A validated toxic to create.
#[derive(Debug, Clone, PartialEq)]
pub struct ToxicRequest {
    /// The toxic.
    pub toxic: Toxic,
    /// `lease_ms`: remove it when not renewed for this long (shakedown extension).
    pub lease: Option<Duration>,
}

/// A toxic update: attributes merge, toxicity replaces, any update renews a lease.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToxicPatch {
    /// New toxicity.
    pub toxicity: Option<Toxicity>,
    /// Attributes to merge over the current ones.
    pub attributes: Map<String, Value>,
    /// New lease duration.
    pub lease: Option<Duration>,
    /// `type` if given (must match).
    pub type_name: Option<String>,
    /// `stream` if given (must match).
    pub stream: Option<Stream>,
}

/// Parse a request body as JSON; an object that repeats a key is refused (whichever copy a
/// reader keeps, the request would mean two things: `config::unique_keys`).
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    crate::config::unique_keys::check(body).map_err(ApiError::bad_body)?;
    serde_json::from_slice(body).map_err(ApiError::bad_body)
}

fn object<'a>(value: &'a Value, what: &str) -> Result<&'a Map<String, Value>, ApiError> {
    value.as_object().ok_or_else(|| {
        ApiError::bad_field("", format!("expected {what} as a JSON object, got {value}"))
    })
}

fn only(map: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(ApiError::bad_field(
            k.as_str(),
            format!("unknown field (expected {})", known.join(", ")),
        )),
    }
}

fn string(map: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::bad_field(
            field,
            format!("expected a string, got {other}"),
        )),
    }
}

fn boolean(map: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(ApiError::bad_field(
            field,
            format!("expected true or false, got {other}"),
        )),
    }
}

fn toxicity(map: &Map<String, Value>) -> Result<Option<Toxicity>, ApiError> {
    match map.get("toxicity") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let value = n.as_f64().unwrap_or(f64::NAN);
            Ok(Some(Toxicity::new(value).map_err(ApiError::from)?))
        }
        Some(other) => Err(ApiError::bad_field(
            "toxicity",
            format!("expected a number between 0 and 1, got {other}"),
        )),
    }
}

fn lease(map: &Map<String, Value>) -> Result<Option<Duration>, ApiError> {
    match map.get("lease_ms") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64() {
            Some(ms) if ms > 0 && ms <= 86_400_000 => Ok(Some(Duration::from_millis(ms))),
            _ => Err(ApiError::bad_field(
                "lease_ms",
                format!("expected an integer number of milliseconds in 1..=86400000, got {v}"),
            )),
        },
    }
}

/// `http_header_timeout`: an integer number of milliseconds within
/// [`crate::proxy::HEADER_TIMEOUT_RANGE`].
fn header_timeout(map: &Map<String, Value>) -> Result<Option<Duration>, ApiError> {
    let range = crate::proxy::HEADER_TIMEOUT_RANGE;
    match map.get("http_header_timeout") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_u64().map(Duration::from_millis) {
            Some(d) if range.contains(&d) => Ok(Some(d)),
            _ => Err(ApiError::bad_field(
                "http_header_timeout",
                format!(
                    "expected an integer number of milliseconds in {}..={}, got {v}",
                    range.start().as_millis(),
                    range.end().as_millis()
                ),
            )),
        },
    }
}

fn attributes(map: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    match map.get("attributes") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(a)) => Ok(a.clone()),
        Some(other) => Err(ApiError::bad_field(
            "attributes",
            format!("expected an object, got {other}"),
        )),
    }
}

fn stream(map: &Map<String, Value>) -> Result<Option<Stream>, ApiError> {
    match string(map, "stream")? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => Ok(Some(Stream::parse(&s)?)),
    }
}

const PROXY_FIELDS: &[&str] = &[
    "name",
    "listen",
    "upstream",
    "enabled",
    "toxics",
    "protocol",
    "header_faults",
    "http_header_timeout",
];

/// A proxy body's known keys: [`PROXY_FIELDS`] and the TLS fields.
fn only_proxy_fields(map: &Map<String, Value>) -> Result<(), ApiError> {
    only(
        map,
        &[PROXY_FIELDS, &crate::proxy::http::TLS_FIELDS[..]].concat(),
    )
}

fn protocol(map: &Map<String, Value>) -> Result<Option<Protocol>, ApiError> {
    string(map, "protocol")?
        .filter(|p| !p.is_empty())
        .map(|p| Protocol::parse(&p).map_err(|e| ApiError::bad_field("protocol", e)))
        .transpose()
}
const TOXIC_FIELDS: &[&str] = &[
    "name",
    "type",
    "stream",
    "toxicity",
    "attributes",
    "lease_ms",
];

/// A proxy or toxic name, checked against the one rule ([`crate::config::name`]).
fn name(map: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match string(map, "name")?.filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => match crate::config::name::check(&n) {
            Ok(()) => Ok(Some(n)),
            Err(e) => Err(ApiError::bad_field("name", format!("{n:?} {e}"))),
        },
    }
}

/// A proxy to create from a JSON value. Its toxics' names are unique (409 otherwise, as
/// adding a toxic twice is).
pub fn proxy_request(value: &Value) -> Result<ProxyRequest, ApiError> {
    let map = object(value, "a proxy")?;
    only_proxy_fields(map)?;
    let Some(name) = name(map)? else {
        return Err(ApiError::missing("name"));
    };
    let upstream = string(map, "upstream")?.unwrap_or_default();
    if upstream.is_empty() {
        return Err(ApiError::missing("upstream"));
    }
    let listen = string(map, "listen")?
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let toxics: Vec<ToxicRequest> = match map.get("toxics") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, t)| toxic_request(t).map_err(|e| e.within(&format!("toxics[{i}]"))))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ApiError::bad_field(
                "toxics",
                format!("expected an array, got {other}"),
            ));
        }
    };
    for (i, t) in toxics.iter().enumerate() {
        if let Some(first) = toxics[..i]
            .iter()
            .position(|o| o.toxic.name == t.toxic.name)
        {
            // A name given twice, or a default name (`type_stream`) met twice.
            return Err(ApiError::at(
                409,
                format!("toxics[{i}].name"),
                format!(
                    "toxic already exists: {:?} is the name of toxics[{first}] too",
                    t.toxic.name
                ),
            ));
        }
    }
    Ok(ProxyRequest {
        name,
        listen,
        upstream,
        enabled: boolean(map, "enabled")?.unwrap_or(true),
        protocol: protocol(map)?,
        header_faults: boolean(map, "header_faults")?,
        header_timeout: header_timeout(map)?,
        tls: tls_fields(map, true)?,
        toxics,
    })
}

/// The `/populate` body: an array of proxies (or `{"proxies": [...]}`), all validated first.
/// An error's field leads with the entry's index in the list, in both forms: `[1].listen`.
pub fn populate_request(value: &Value) -> Result<Vec<ProxyRequest>, ApiError> {
    let listed = match value {
        Value::Array(items) => Some(items),
        Value::Object(map) if map.len() == 1 => match map.get("proxies") {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    };
    let Some(items) = listed else {
        return Err(ApiError::bad_field(
            "",
            format!("expected an array of proxies, got {value}"),
        ));
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("[{i}]");
        let proxy = proxy_request(item).map_err(|e| e.within(&at))?;
        if !seen.insert(proxy.name.clone()) {
            return Err(ApiError::bad_field(
                format!("{at}.name"),
                format!("duplicate proxy name {:?}", proxy.name),
            ));
        }
        out.push(proxy);
    }
    Ok(out)
}

/// A proxy update from a JSON value.
pub fn proxy_update(value: &Value) -> Result<ProxyUpdate, ApiError> {
    let map = object(value, "a proxy")?;
    only_proxy_fields(map)?;
    Ok(ProxyUpdate {
        listen: string(map, "listen")?.filter(|l| !l.is_empty()),
        upstream: string(map, "upstream")?.filter(|u| !u.is_empty()),
        enabled: boolean(map, "enabled")?,
        protocol: protocol(map)?,
        header_faults: boolean(map, "header_faults")?,
        header_timeout: header_timeout(map)?,
        tls: tls_fields(map, false)?,
    })
}

/// A toxic to create from a JSON value.
pub fn toxic_request(value: &Value) -> Result<ToxicRequest, ApiError> {
    let map = object(value, "a toxic")?;
    only(map, TOXIC_FIELDS)?;
    let type_name = string(map, "type")?.unwrap_or_default();
    let stream = stream(map)?.unwrap_or_default();
    let kind = ToxicKind::from_wire(&type_name, &attributes(map)?)?;
    let name = name(map)?.unwrap_or_else(|| format!("{type_name}_{stream}"));
    Ok(ToxicRequest {
        toxic: Toxic {
            name,
            stream,
            toxicity: toxicity(map)?.unwrap_or_default(),
            kind,
        },
        lease: lease(map)?,
    })
}

/// A toxic update from a JSON value.
pub fn toxic_patch(value: &Value) -> Result<ToxicPatch, ApiError> {
    let map = object(value, "a toxic")?;
    only(map, TOXIC_FIELDS)?;
    Ok(ToxicPatch {
        toxicity: toxicity(map)?,
        attributes: attributes(map)?,
        lease: lease(map)?,
        type_name: string(map, "type")?.filter(|t| !t.is_empty()),
        stream: stream(map)?,
    })
}

/// Apply a patch to a toxic: the merged, re-validated toxic.
pub(crate) fn patched(toxic: &Toxic, patch: &ToxicPatch) -> Result<Toxic, ApiError> {
    if let Some(t) = &patch.type_name
        && t != toxic.kind.type_name()
    {
        return Err(ApiError::bad_field(
            "type",
            format!(
                "cannot change a toxic's type ({} to {t}); delete and re-create it",
                toxic.kind.type_name()
            ),
        ));
    }
    if let Some(s) = patch.stream
        && s != toxic.stream
    {
        return Err(ApiError::bad_field(
            "stream",
            format!(
                "cannot change a toxic's stream ({} to {s}); delete and re-create it",
                toxic.stream
            ),
        ));
    }
    let mut attrs = toxic.kind.attributes();
    attrs.extend(patch.attributes.clone());
    Ok(Toxic {
        name: toxic.name.clone(),
        stream: toxic.stream,
        toxicity: patch.toxicity.unwrap_or(toxic.toxicity),
        kind: ToxicKind::from_wire(toxic.kind.type_name(), &attrs)?,
    })
}

/// The JSON of a toxic; `lease_ms` only on leased toxics; HTTP toxics add their request
/// counters, `"requests": {"matched", "faulted", "passed"}`.
pub(crate) fn toxic_view(entry: &ToxicEntry, lease: Option<Duration>) -> Value {
    let t = &entry.toxic;
    let mut v = json!({
        "name": t.name,
        "type": t.kind.type_name(),
        "stream": t.stream.as_str(),
        "toxicity": t.toxicity.value(),
        "attributes": Value::Object(t.kind.attributes()),
    });
    if let (Some(lease), Some(map)) = (lease, v.as_object_mut()) {
        let ms = u64::try_from(lease.as_millis()).unwrap_or(u64::MAX);
        map.insert("lease_ms".into(), json!(ms));
    }
    if let (true, Some(map)) = (t.kind.is_http(), v.as_object_mut()) {
        let m = &entry.metrics;
        map.insert(
            "requests".into(),
            json!({"matched": m.matched.get(), "faulted": m.faulted.get(), "passed": m.passed.get()}),
        );
    }
    v
}

#[cfg(test)]
mod tests;
