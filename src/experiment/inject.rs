//! Fault injection through the Toxiproxy wire API, embedded or external, with leases.
//!
//! The runner speaks HTTP to a control API whether it runs in-process (an embedded
//! `control::ControlServer` on 127.0.0.1:0) or elsewhere (`control: http://…`). Faults
//! injected into an external server carry `lease_ms` and are renewed every third of the
//! lease, so they expire on their own if the runner dies. `t_inject` and `t_clear` are read
//! from the run's clock when the API confirms.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::client::{Http, HttpError};
use super::spec::{Fault, Proxy};
use crate::clock::Clock;

/// Time limit of one control API call.
const CALL_LIMIT: Duration = Duration::from_secs(5);

/// A control API call that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("control API: {action}: {source}")]
pub(super) struct InjectError {
    /// What was being done.
    pub action: String,
    /// Why it failed.
    pub source: HttpError,
}

/// A toxic in place.
#[derive(Debug)]
struct Active {
    proxy: String,
    toxic: String,
    renewer: Option<JoinHandle<()>>,
}

/// Creates proxies and adds/removes toxics through one control API.
#[derive(Debug)]
pub(super) struct Injector {
    base: String,
    http: Http,
    lease: Option<Duration>,
    clock: Clock,
    proxies: Vec<String>,
    active: BTreeMap<String, Active>,
}

impl Injector {
    /// An injector for the control API at `base` (`http://host:port`); `lease` for external ones.
    pub(super) fn new(base: String, http: Http, lease: Option<Duration>, clock: Clock) -> Self {
        Self {
            base,
            http,
            lease,
            clock,
            proxies: Vec::new(),
            active: BTreeMap::new(),
        }
    }

    /// Read `t_inject` and `t_clear` from this clock from now on.
    pub(super) fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        action: String,
    ) -> Result<Value, InjectError> {
        let url = format!("{}{path}", self.base);
        let answer = self
            .http
            .json(method, &url, body, CALL_LIMIT)
            .await
            .map_err(|source| InjectError { action, source })?;
        Ok(serde_json::from_slice(&answer.body).unwrap_or(Value::Null))
    }

    /// Create the experiment's proxies (replacing any left over with the same name).
    pub(super) async fn create_proxies(&mut self, proxies: &[Proxy]) -> Result<(), InjectError> {
        for p in proxies {
            let mut body = json!({"name": p.name, "listen": p.listen, "upstream": p.upstream,
                "enabled": true, "protocol": p.protocol.as_str()});
            if let Some(map) = body.as_object_mut() {
                p.tls.view(map);
                if let Some(t) = p.header_timeout {
                    map.insert("http_header_timeout".into(), json!(t.as_millis()));
                }
            }
            let action = format!("create proxy `{}` ({} → {})", p.name, p.listen, p.upstream);
            if let Err(e) = self
                .call(http::Method::POST, "/proxies", Some(&body), action.clone())
                .await
            {
                // 409: a proxy of that name exists (a previous run's); replace it.
                if e.source.status() != Some(409) {
                    return Err(e);
                }
                let _ = self
                    .call(
                        http::Method::DELETE,
                        &format!("/proxies/{}", p.name),
                        None,
                        action.clone(),
                    )
                    .await;
                self.call(http::Method::POST, "/proxies", Some(&body), action)
                    .await?;
            }
            self.proxies.push(p.name.clone());
        }
        Ok(())
    }

    /// Add a toxic named `name`; returns `t_inject`, when the API confirmed it.
    pub(super) async fn inject(
        &mut self,
        name: &str,
        fault: &Fault,
    ) -> Result<Duration, InjectError> {
        let kind = fault.kind.type_name();
        let mut body = json!({
            "name": name,
            "type": kind,
            "stream": fault.stream.as_str(),
            "toxicity": fault.toxicity.value(),
            "attributes": fault.kind.attributes(),
        });
        if let Some(lease) = self.lease {
            body["lease_ms"] = json!(lease.as_millis() as u64);
        }
        let path = format!("/proxies/{}/toxics", fault.proxy);
        self.call(
            http::Method::POST,
            &path,
            Some(&body),
            format!("add {kind} to `{}`", fault.proxy),
        )
        .await?;
        let at = self.clock.now();
        let renewer = self.lease.map(|lease| {
            let (http, url) = (self.http.clone(), format!("{}{path}/{name}", self.base));
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(lease / 3);
                tick.tick().await;
                // Ends when the toxic is removed (the task is aborted) or the API forgets it.
                loop {
                    tick.tick().await;
                    if let Err(e) = http
                        .json(http::Method::POST, &url, Some(&json!({})), CALL_LIMIT)
                        .await
                    {
                        tracing::warn!("renewing the lease of {url}: {e}");
                        if e.status() == Some(404) {
                            break;
                        }
                    }
                }
            })
        });
        self.active.insert(
            name.to_string(),
            Active {
                proxy: fault.proxy.clone(),
                toxic: name.to_string(),
                renewer,
            },
        );
        Ok(at)
    }

    /// Remove a toxic; returns `t_clear`, when the API confirmed it.
    pub(super) async fn remove(&mut self, name: &str) -> Result<Duration, InjectError> {
        let Some(active) = self.active.remove(name) else {
            return Ok(self.clock.now());
        };
        if let Some(r) = &active.renewer {
            r.abort();
        }
        let path = format!("/proxies/{}/toxics/{}", active.proxy, active.toxic);
        let result = self
            .call(
                http::Method::DELETE,
                &path,
                None,
                format!("remove {}", active.toxic),
            )
            .await;
        match result {
            Ok(_) => Ok(self.clock.now()),
            Err(e) if e.source.status() == Some(404) => Ok(self.clock.now()),
            Err(e) => Err(e),
        }
    }

    /// Names of the toxics in place.
    pub(super) fn active(&self) -> Vec<String> {
        self.active.keys().cloned().collect()
    }

    /// Remove every toxic still in place, then delete the proxies created; returns what failed.
    pub(super) async fn clear(&mut self) -> Vec<String> {
        let mut failures = Vec::new();
        for name in self.active() {
            if let Err(e) = self.remove(&name).await {
                failures.push(e.to_string());
            }
        }
        for p in std::mem::take(&mut self.proxies) {
            if let Err(e) = self
                .call(
                    http::Method::DELETE,
                    &format!("/proxies/{p}"),
                    None,
                    format!("delete proxy `{p}`"),
                )
                .await
            {
                failures.push(e.to_string());
            }
        }
        failures
    }
}

impl Drop for Injector {
    fn drop(&mut self) {
        for a in self.active.values() {
            if let Some(r) = &a.renewer {
                r.abort();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::embedded::Embedded;

    /// The injector tells a control API's answers apart by their status, not their text: a
    /// proxy left behind (409) is replaced, a toxic already gone (404) counts as removed, and
    /// any other refusal is an error that carries the status and body.
    #[tokio::test]
    async fn control_api_answers_are_matched_by_status() {
        let (server, base) = Embedded::start(Some(1)).await.unwrap();
        let proxy = Proxy {
            name: "kv".into(),
            listen: "127.0.0.1:0".into(),
            upstream: "127.0.0.1:9".into(),
            protocol: crate::proxy::Protocol::Tcp,
            tls: Default::default(),
            header_timeout: None,
        };
        let mut first = Injector::new(base.clone(), Http::default(), None, Clock::start());
        first
            .create_proxies(std::slice::from_ref(&proxy))
            .await
            .unwrap();
        // A second run finds the proxy in place: 409, replaced.
        let mut second = Injector::new(base.clone(), Http::default(), None, Clock::start());
        second
            .create_proxies(std::slice::from_ref(&proxy))
            .await
            .unwrap();
        let fault = Fault {
            proxy: "kv".into(),
            kind: crate::fault::ToxicKind::Noop(crate::fault::Noop),
            stream: crate::fault::Stream::Upstream,
            toxicity: crate::fault::Toxicity::default(),
        };
        second.inject("t", &fault).await.unwrap();
        // Removed behind the injector's back: its removal answers 404, which is success.
        Http::default()
            .json(
                http::Method::DELETE,
                &format!("{base}/proxies/kv/toxics/t"),
                None,
                CALL_LIMIT,
            )
            .await
            .unwrap();
        second.remove("t").await.unwrap();
        // A toxic on a proxy that does not exist: an error with the status and the body.
        let missing = Fault {
            proxy: "nope".into(),
            ..fault
        };
        let e = second.inject("t", &missing).await.unwrap_err();
        assert_eq!(e.source.status(), Some(404), "{e}");
        let HttpError::Status { body, .. } = &e.source else {
            panic!("{e:?}");
        };
        assert!(body.contains("proxy not found"), "{body}");
        assert!(second.clear().await.is_empty());
        server.shutdown().await;
    }

    /// An experiment's HTTP-mode proxy reaches the control API with its head timeout (ms on
    /// the wire).
    #[tokio::test]
    async fn a_proxy_is_created_with_its_head_timeout() {
        let (server, base) = Embedded::start(Some(1)).await.unwrap();
        let proxy = Proxy {
            name: "web".into(),
            listen: "127.0.0.1:0".into(),
            upstream: "127.0.0.1:9".into(),
            protocol: crate::proxy::Protocol::Http,
            tls: Default::default(),
            header_timeout: Some(Duration::from_millis(2_500)),
        };
        let mut injector = Injector::new(base.clone(), Http::default(), None, Clock::start());
        injector
            .create_proxies(std::slice::from_ref(&proxy))
            .await
            .unwrap();
        let url = format!("{base}/proxies/web");
        let answer = Http::default()
            .json(http::Method::GET, &url, None, CALL_LIMIT)
            .await
            .unwrap();
        let view: Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(view["http_header_timeout"], 2_500, "{view}");
        server.shutdown().await;
    }
}
