//! The `chaostoolkit-toxiproxy` extension (modules `chaostoxi.proxy.actions`,
//! `chaostoxi.toxic.actions`, and the older `toxiproxy.*`): proxies become `proxies`, each
//! toxic a fault step from its `create_*_toxic` to its `delete_toxic` (or the end of the method),
//! a disabled proxy a `reset_peer` fault until it is enabled again; `reset` ends them all.

use serde_json::{Map, Value, json};

use super::super::yaml::Y;
use super::activity::Effect;
use super::{Importer, Step};

/// The toxic key of a disabled proxy (not a valid toxic name, so it cannot clash).
const DISABLED: &str = " disabled";

impl Importer {
    /// One call of the extension at `path` (the provider); `rollback` when it is a rollback.
    pub(super) fn toxiproxy(
        &mut self,
        path: &str,
        provider: &Value,
        name: &str,
        rollback: bool,
    ) -> Option<Effect> {
        let func = provider.get("func").and_then(Value::as_str).unwrap_or("?");
        let empty = Map::new();
        let args = provider
            .get("arguments")
            .and_then(Value::as_object)
            .unwrap_or(&empty)
            .clone();
        let apath = format!("{path}.arguments");
        let ends = matches!(
            func,
            "delete_toxic" | "delete_proxy" | "enable_proxy" | "reset"
        );
        if rollback && !ends {
            self.drop(
                format!("{path}.func"),
                format!("`{func}` in a rollback: shakedown's rollbacks are commands"),
            );
            return None;
        }
        match func {
            "create_proxy" => {
                self.create_proxy(&apath, &args);
                Some(Effect::Done)
            }
            // Faults end at their removal or the method's end, proxies at teardown.
            "delete_proxy" => Some(Effect::Done),
            "delete_toxic" | "enable_proxy" | "reset" if rollback => Some(Effect::Done),
            "reset" => {
                // Toxiproxy's reset removes every toxic and enables every proxy.
                let now = self.clock;
                for step in self.steps.iter_mut().filter(|s| s.toxic.is_some()) {
                    step.until.get_or_insert(now);
                }
                Some(Effect::Done)
            }
            "delete_toxic" => {
                let proxy = self.arg_text(&apath, &args, "for_proxy")?;
                let toxic = self.arg_text(&apath, &args, "toxic_name")?;
                self.end_fault(path, &proxy, &toxic);
                Some(Effect::Done)
            }
            "enable_proxy" => {
                let proxy = self.arg_text(&apath, &args, "proxy_name")?;
                self.end_fault(path, &proxy, DISABLED);
                Some(Effect::Done)
            }
            "disable_proxy" => {
                let proxy = self.arg_text(&apath, &args, "proxy_name")?;
                let fault = json!({"type": "reset_peer", "attributes": {"timeout": 0}});
                self.fault(path, name, &proxy, DISABLED, fault)
            }
            _ => {
                let (toxic, fault) = self.toxic(&apath, func, &args)?;
                let proxy = self.arg_text(&apath, &args, "for_proxy")?;
                self.fault(path, name, &proxy, &toxic, fault)
            }
        }
    }

    /// `create_proxy(proxy_name, upstream_host, upstream_port, listen_host, listen_port)`.
    fn create_proxy(&mut self, path: &str, args: &Map<String, Value>) {
        let (Some(name), Some(host), Some(port)) = (
            self.arg_text(path, args, "proxy_name"),
            self.arg_text(path, args, "upstream_host"),
            self.arg_text(path, args, "upstream_port"),
        ) else {
            return;
        };
        let listen_host = args
            .get("listen_host")
            .and_then(|h| self.string(&format!("{path}.listen_host"), h))
            .unwrap_or_else(|| "127.0.0.1".into());
        let listen_port = args
            .get("listen_port")
            .and_then(|p| self.string(&format!("{path}.listen_port"), p))
            .unwrap_or_else(|| "0".into());
        if listen_port == "0" {
            self.drop(
                format!("{path}.listen_port"),
                format!(
                    "a random listen port (published as `{name}_PORT`) has no shakedown \
                     equivalent: written as port 0; give the proxy a fixed port"
                ),
            );
        }
        if args.get("enabled") == Some(&Value::Bool(false)) {
            self.drop(
                format!("{path}.enabled"),
                "a proxy created disabled: shakedown's proxies start enabled",
            );
        }
        if !self.proxy_names.insert(name.clone()) {
            return;
        }
        self.proxies.push(Y::map([
            ("name", Some(Y::str(name))),
            (
                "listen",
                Some(Y::str(format!("{listen_host}:{listen_port}"))),
            ),
            (
                "upstream",
                Some(Y::str(format!("{}:{port}", env_ref(&host)))),
            ),
        ]));
    }

    /// A `create_*_toxic` call → its toxic name and `{type, stream, toxicity, attributes}`.
    fn toxic(
        &mut self,
        path: &str,
        func: &str,
        args: &Map<String, Value>,
    ) -> Option<(String, Value)> {
        let attrs: &[(&str, &str)] = match func {
            "create_latency_toxic" => &[("latency", "latency"), ("jitter", "jitter")],
            "create_bandwith_degradation_toxic" | "create_bandwidth_degradation_toxic" => {
                &[("rate", "rate")]
            }
            "create_slow_connection_close_toxic" => &[("delay", "delay")],
            "create_timeout_toxic" => &[("timeout", "timeout")],
            "create_slicer_toxic" => &[
                ("average_size", "average_size"),
                ("size_variation", "size_variation"),
                ("delay", "delay"),
            ],
            "create_limiter_toxic" => &[("bytes_limit", "bytes")],
            "create_toxic" => &[],
            other => {
                self.drop(
                    format!("{}.func", path.trim_end_matches(".arguments")),
                    format!("`{other}` of the toxiproxy extension has no shakedown equivalent"),
                );
                return None;
            }
        };
        let toxic = self.arg_text(path, args, "toxic_name")?;
        let kind = match func {
            "create_latency_toxic" => "latency",
            "create_slow_connection_close_toxic" => "slow_close",
            "create_timeout_toxic" => "timeout",
            "create_slicer_toxic" => "slicer",
            "create_limiter_toxic" => "limit_data",
            "create_toxic" => return self.generic_toxic(path, args).map(|f| (toxic, f)),
            _ => "bandwidth",
        };
        let mut attributes = Map::new();
        for (arg, attribute) in attrs {
            match args.get(*arg) {
                Some(v) => {
                    let v = self.value(&format!("{path}.{arg}"), v);
                    attributes.insert(attribute.to_string(), v);
                }
                // jitter is the only optional one (default 0).
                None if *arg == "jitter" => {}
                None => {
                    self.drop(format!("{path}.{arg}"), format!("`{func}` without `{arg}`"));
                    return None;
                }
            }
        }
        Some((toxic, json!({"type": kind, "attributes": attributes})))
    }

    /// `create_toxic(toxic_type, stream, toxicity, attributes)`.
    fn generic_toxic(&mut self, path: &str, args: &Map<String, Value>) -> Option<Value> {
        let kind = self.arg_text(path, args, "toxic_type")?;
        let mut fault = json!({"type": kind});
        for key in ["stream", "toxicity", "attributes"] {
            if let Some(v) = args.get(key).filter(|v| !v.is_null()) {
                fault[key] = self.value(&format!("{path}.{key}"), v);
            }
        }
        Some(fault)
    }

    /// A fault step on `proxy` from now until its toxic is deleted.
    fn fault(
        &mut self,
        path: &str,
        name: &str,
        proxy: &str,
        toxic: &str,
        fault: Value,
    ) -> Option<Effect> {
        if !self.proxy_names.contains(proxy) {
            self.drop(
                path.to_string(),
                format!(
                    "proxy `{proxy}` is not created in this experiment (create_proxy): declare it \
                     under `proxies` and add this fault by hand"
                ),
            );
            return None;
        }
        let mut fault = fault;
        fault["proxy"] = Value::from(proxy);
        let ordered = ["proxy", "type", "stream", "toxicity", "attributes"]
            .iter()
            .filter_map(|k| fault.get(*k).map(|v| (k.to_string(), Y::json(v))))
            .collect();
        Some(Effect::Step(Step {
            at: self.clock,
            name: self.text(name),
            kind: ("fault", Y::Map(ordered)),
            until: None,
            toxic: Some((proxy.to_string(), toxic.to_string(), path.to_string())),
        }))
    }

    /// The open fault of `toxic` on `proxy` ends now; one added at this very moment is dropped.
    fn end_fault(&mut self, path: &str, proxy: &str, toxic: &str) {
        let now = self.clock;
        let open = self.steps.iter().rposition(|s| {
            s.until.is_none()
                && s.toxic
                    .as_ref()
                    .is_some_and(|(p, t, _)| p == proxy && t == toxic)
        });
        match open {
            Some(i) if self.steps[i].at == now => {
                let step = self.steps.remove(i);
                let created = step.toxic.map(|(_, _, p)| p).unwrap_or_default();
                self.drop(
                    created,
                    format!(
                        "removed at the moment it is added ({path}): no pause between, so no time \
                         under the fault"
                    ),
                );
            }
            Some(i) => self.steps[i].until = Some(now),
            // Deleting a toxic this experiment did not add changes nothing shakedown runs.
            None => {}
        }
    }

    /// A required text argument; its absence is a dropped item.
    fn arg_text(&mut self, path: &str, args: &Map<String, Value>, key: &str) -> Option<String> {
        let value = args
            .get(key)
            .and_then(|v| self.string(&format!("{path}.{key}"), v));
        if value.is_none() {
            self.drop(format!("{path}.{key}"), format!("missing `{key}`"));
        }
        value
    }
}

/// The extension reads `env:NAME` as the environment variable NAME.
fn env_ref(host: &str) -> String {
    match host.strip_prefix("env:") {
        Some(name) => format!("${{env.{name}}}"),
        None => host.to_string(),
    }
}
