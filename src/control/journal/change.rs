//! The journal entries of the API's changes: which kind, which proxy and toxic, the view the
//! API answered as detail, and one human line (`db: added toxic latency_downstream (latency,
//! downstream, toxicity 1): latency=100 ms, jitter=0 ms`).

use serde_json::{Value, json};

use super::{Entry, EventKind};
use crate::fault::catalog;

fn field<'a>(view: &'a Value, name: &str) -> &'a str {
    view[name].as_str().unwrap_or_default()
}

/// A proxy's state in words: `listen …, upstream …` and what differs from the defaults.
fn proxy_words(view: &Value) -> String {
    let mut words = format!(
        "listen {}, upstream {}",
        field(view, "listen"),
        field(view, "upstream")
    );
    if view["enabled"] == false {
        words.push_str(", disabled");
    }
    if let Some(p) = view["protocol"].as_str() {
        words.push_str(&format!(", protocol {p}"));
    }
    words
}

/// A toxic in words: `name (type, stream, toxicity T): key=value unit, …`.
fn toxic_words(view: &Value) -> String {
    let type_name = field(view, "type");
    let info = catalog::kind_info(type_name);
    let given = view["attributes"].as_object();
    // In the order the kind declares its attributes (the JSON map is sorted by name).
    let declared = info.map_or(&[][..], |i| i.attributes);
    let attrs: Vec<String> = declared
        .iter()
        .filter_map(|a| {
            let v = given?.get(a.name)?;
            let unit = a.unit.map(|u| format!(" {u}")).unwrap_or_default();
            Some(format!("{}={v}{unit}", a.name))
        })
        .collect();
    let toxicity = crate::fault::toxicity_text(view);
    let mut words = format!(
        "{} ({type_name}, {}, toxicity {toxicity})",
        field(view, "name"),
        field(view, "stream")
    );
    if !attrs.is_empty() {
        words.push_str(": ");
        words.push_str(&attrs.join(", "));
    }
    words
}

/// `POST /proxies` answered `view`.
pub(crate) fn proxy_created(view: &Value) -> Entry {
    let name = field(view, "name");
    Entry::new(
        EventKind::ProxyCreated,
        format!("created proxy {name}: {}", proxy_words(view)),
    )
    .proxy(name)
    .detail(view.clone())
}

/// `POST|PATCH /proxies/{p}` answered `view`.
pub(crate) fn proxy_updated(view: &Value) -> Entry {
    let name = field(view, "name");
    Entry::new(
        EventKind::ProxyUpdated,
        format!("updated proxy {name}: {}", proxy_words(view)),
    )
    .proxy(name)
    .detail(view.clone())
}

/// `DELETE /proxies/{p}`.
pub(crate) fn proxy_deleted(proxy: &str) -> Entry {
    Entry::new(EventKind::ProxyDeleted, format!("deleted proxy {proxy}")).proxy(proxy)
}

/// `POST /proxies/{p}/toxics` answered `view`.
pub(crate) fn toxic_added(proxy: &str, view: &Value) -> Entry {
    Entry::new(
        EventKind::ToxicAdded,
        format!("{proxy}: added toxic {}", toxic_words(view)),
    )
    .proxy(proxy)
    .toxic(field(view, "name"))
    .detail(view.clone())
}

/// `POST|PATCH /proxies/{p}/toxics/{t}` answered `view`.
pub(crate) fn toxic_updated(proxy: &str, view: &Value) -> Entry {
    Entry::new(
        EventKind::ToxicUpdated,
        format!("{proxy}: updated toxic {}", toxic_words(view)),
    )
    .proxy(proxy)
    .toxic(field(view, "name"))
    .detail(view.clone())
}

/// `DELETE /proxies/{p}/toxics/{t}`, or a lease that expired (`why`: `lease expired`).
pub(crate) fn toxic_removed(proxy: &str, toxic: &str, why: Option<&str>) -> Entry {
    let why = why.map(|w| format!(" ({w})")).unwrap_or_default();
    Entry::new(
        EventKind::ToxicRemoved,
        format!("{proxy}: removed toxic {toxic}{why}"),
    )
    .proxy(proxy)
    .toxic(toxic)
}

/// `POST /reset`.
pub(crate) fn reset() -> Entry {
    Entry::new(
        EventKind::Reset,
        "reset: every toxic removed, every proxy enabled",
    )
}

/// `POST /populate` (or a config file) created or replaced `names`.
pub(crate) fn populate(names: &[String]) -> Entry {
    Entry::new(
        EventKind::Populate,
        format!("populate: {}", names.join(", ")),
    )
    .detail(json!({ "proxies": names }))
}

/// A participant's note.
pub(crate) fn note(author: &str, text: &str, via: &str) -> Entry {
    Entry::new(EventKind::Note, text).detail(json!({"author": author, "via": via}))
}
