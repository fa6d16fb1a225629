//! `shakedown fault add|list|rm|clear`: a running server's toxics from the terminal, over its
//! control API ([`super::access::Client`]). Attribute values are typed by the fault registry
//! ([`crate::fault::catalog`]) before anything is sent.

use std::collections::HashMap;

use http::Method;
use serde_json::{Map, Value, json};

use super::access::{Client, ClientArgs};
use crate::exit::{InvalidInput, Outcome};
use crate::fault::catalog::{self, AttrType, KindInfo};
use crate::fault::{Stream, ToxicKind, Toxicity};

/// Arguments of `shakedown fault`.
#[derive(Debug, clap::Args)]
pub struct FaultArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: FaultCommand,
    /// The server.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The `fault` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum FaultCommand {
    /// Add a toxic to a proxy: `fault add db latency latency=300 jitter=50`.
    Add(AddArgs),
    /// List every proxy's toxics as a table.
    List,
    /// Remove one toxic from a proxy.
    Rm {
        /// The proxy.
        proxy: String,
        /// The toxic's name (as `fault list` shows it).
        name: String,
    },
    /// Remove toxics: every toxic of PROXY, or with --all every toxic of every proxy (proxies
    /// are kept and re-enabled: the API's /reset).
    #[command(override_usage = "shakedown fault clear [OPTIONS] <PROXY | --all>")]
    Clear {
        /// The proxy whose toxics to remove.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        proxy: Option<String>,
        /// Remove every toxic of every proxy (and re-enable every proxy).
        #[arg(long)]
        all: bool,
    },
}

/// Arguments of `shakedown fault add`.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// The proxy.
    pub proxy: String,
    /// The toxic type (`latency`, `bandwidth`, `http_abort`, …: `GET /toxic-types`).
    #[arg(value_name = "TYPE")]
    pub type_name: String,
    /// Attributes as KEY=VALUE (integers in the type's unit; objects and arrays as JSON).
    #[arg(value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
    /// The toxic's name (default TYPE_STREAM, e.g. latency_downstream).
    #[arg(long)]
    pub name: Option<String>,
    /// The direction: up (client to upstream) or down (upstream to client, the default).
    #[arg(long, value_parser = ["up", "down", "upstream", "downstream"])]
    pub stream: Option<String>,
    /// The probability it affects a connection or request, 0 to 1 (default 1).
    #[arg(long)]
    pub toxicity: Option<f64>,
}

/// `shakedown fault …`: exit 0 when done, 2 for bad input (also a proxy or toxic the server
/// does not have), 3 when the server cannot be reached or refuses the token.
pub(super) async fn fault_main(args: FaultArgs) -> anyhow::Result<Outcome> {
    let client = Client::new(&args.client)?;
    match args.command {
        FaultCommand::Add(add) => {
            let body = toxic_body(&add)?;
            let path = format!("/proxies/{}/toxics", add.proxy);
            let toxic = client.json(Method::POST, &path, Some(&body)).await?;
            super::print(format_args!("{}: added {}\n", add.proxy, describe(&toxic)));
        }
        FaultCommand::List => {
            let proxies = client.json(Method::GET, "/proxies", None).await?;
            super::print(format_args!("{}", table(&proxies)));
        }
        FaultCommand::Rm { proxy, name } => {
            let path = format!("/proxies/{proxy}/toxics/{name}");
            client.call(Method::DELETE, &path, None).await?;
            super::print(format_args!("{proxy}: removed {name}\n"));
        }
        FaultCommand::Clear { all: true, .. } => {
            client.call(Method::POST, "/reset", None).await?;
            super::print(format_args!("every toxic removed, every proxy enabled\n"));
        }
        FaultCommand::Clear { proxy, .. } => {
            let proxy = proxy.unwrap_or_default();
            let path = format!("/proxies/{proxy}/toxics");
            let toxics = client.json(Method::GET, &path, None).await?;
            let names: Vec<&str> = toxics
                .as_array()
                .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
                .unwrap_or_default();
            for name in &names {
                client
                    .call(Method::DELETE, &format!("{path}/{name}"), None)
                    .await?;
            }
            let n = names.len();
            let plural = if n == 1 { "" } else { "s" };
            super::print(format_args!("{proxy}: removed {n} toxic{plural}\n"));
        }
    }
    Ok(Outcome::Passed)
}

/// The toxic's JSON from the arguments, every attribute checked against the registry.
fn toxic_body(add: &AddArgs) -> Result<Value, InvalidInput> {
    let info = catalog::kind_info(&add.type_name).ok_or_else(|| {
        InvalidInput::new(format!(
            "unknown toxic type {:?} (expected one of {})",
            add.type_name,
            ToxicKind::TYPES.join(", ")
        ))
    })?;
    let mut attributes = Map::new();
    let mut given: HashMap<&str, &str> = HashMap::new();
    for pair in &add.attributes {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| InvalidInput::new(format!("{pair:?}: expected KEY=VALUE")))?;
        // A key given twice is a mistake either way round: neither value is taken.
        if let Some(first) = given.insert(key, pair) {
            return Err(InvalidInput::new(format!(
                "{}.{key}: given twice ({first} and {pair}): give it once",
                info.name
            )));
        }
        attributes.insert(key.to_string(), typed(info, key, value)?);
    }
    let stream = match add.stream.as_deref() {
        None => Stream::Downstream,
        Some("up" | "upstream") => Stream::Upstream,
        Some(_) => Stream::Downstream,
    };
    let toxicity = add
        .toxicity
        .map(|t| Toxicity::new(t).map_err(|e| InvalidInput::new(format!("--{e}"))))
        .transpose()?
        .unwrap_or_default();
    // The same checks as the server, so a mistake is named before anything is sent.
    ToxicKind::from_wire(info.name, &attributes)
        .map_err(|e| InvalidInput::new(format!("{}: {e}", info.name)))?;
    if let Some(name) = &add.name {
        crate::config::name::check(name)
            .map_err(|e| InvalidInput::new(format!("--name {name:?} {e}")))?;
    }
    let mut body = json!({
        "type": info.name,
        "stream": stream.as_str(),
        "toxicity": toxicity.value(),
        "attributes": attributes,
    });
    if let (Some(name), Some(map)) = (&add.name, body.as_object_mut()) {
        map.insert("name".into(), json!(name));
    }
    Ok(body)
}

/// One `KEY=VALUE` typed by the kind's attribute list.
fn typed(info: &KindInfo, key: &str, value: &str) -> Result<Value, InvalidInput> {
    let Some(attr) = info.attribute(key) else {
        let known: Vec<&str> = info.attributes.iter().map(|a| a.name).collect();
        return Err(InvalidInput::new(if known.is_empty() {
            format!(
                "{}: unknown attribute {key:?} ({} takes none)",
                info.name, info.name
            )
        } else {
            format!(
                "{}: unknown attribute {key:?} (expected {})",
                info.name,
                known.join(", ")
            )
        }));
    };
    let bad = |what: &str| {
        InvalidInput::new(format!(
            "{}.{key}: expected {what}, got {value:?}",
            info.name
        ))
    };
    match attr.ty {
        AttrType::Integer => {
            let unit = attr.unit.map(|u| format!(" (in {u})")).unwrap_or_default();
            value.trim().parse::<u64>().map(Value::from).map_err(|_| {
                let why = value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(crate::fault::attrs::digits_hint)
                    .map(|hint| format!(" ({hint})"))
                    .unwrap_or_default();
                let InvalidInput(message) = bad(&format!("a non-negative integer{unit}"));
                InvalidInput(message + &why)
            })
        }
        AttrType::String => Ok(Value::from(value)),
        AttrType::Object => match serde_json::from_str(value) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(bad(r#"a JSON object such as {"name":"value"}"#)),
        },
        AttrType::Array => match serde_json::from_str(value) {
            Ok(v @ Value::Array(_)) => Ok(v),
            _ => Err(bad(r#"a JSON array such as ["name"]"#)),
        },
    }
}

/// A toxic's attributes as `k=v k=v`.
fn attributes_text(toxic: &Value) -> String {
    let attrs: Vec<String> = toxic["attributes"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
        .unwrap_or_default();
    attrs.join(" ")
}

/// `name (type, stream, toxicity T) k=v …`.
fn describe(toxic: &Value) -> String {
    format!(
        "{} ({}, {}, toxicity {}) {}",
        toxic["name"].as_str().unwrap_or_default(),
        toxic["type"].as_str().unwrap_or_default(),
        toxic["stream"].as_str().unwrap_or_default(),
        crate::fault::toxicity_text(toxic),
        attributes_text(toxic)
    )
}

/// `GET /proxies` as a table: one row per toxic (a proxy without toxics gets one row too).
fn table(proxies: &Value) -> String {
    let mut rows = vec![
        [
            "PROXY",
            "LISTEN",
            "UPSTREAM",
            "ENABLED",
            "TOXIC",
            "TYPE",
            "STREAM",
            "TOXICITY",
            "ATTRIBUTES",
        ]
        .map(String::from),
    ];
    for (name, p) in proxies.as_object().into_iter().flatten() {
        let head = [
            name.clone(),
            p["listen"].as_str().unwrap_or_default().to_string(),
            p["upstream"].as_str().unwrap_or_default().to_string(),
            p["enabled"].to_string(),
        ];
        let toxics = p["toxics"].as_array().cloned().unwrap_or_default();
        if toxics.is_empty() {
            let [a, b, c, d] = head.clone();
            rows.push([
                a,
                b,
                c,
                d,
                "-".into(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        for t in toxics {
            let [a, b, c, d] = head.clone();
            rows.push([
                a,
                b,
                c,
                d,
                t["name"].as_str().unwrap_or_default().to_string(),
                t["type"].as_str().unwrap_or_default().to_string(),
                t["stream"].as_str().unwrap_or_default().to_string(),
                crate::fault::toxicity_text(&t),
                attributes_text(&t),
            ]);
        }
    }
    let widths: Vec<usize> = (0..9)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
