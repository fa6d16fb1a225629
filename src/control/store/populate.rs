//! `POST /populate` (and `serve --config`): create or replace many proxies, all or nothing.
//!
//! Every proxy is planned and prepared (its socket bound) before any is committed, so a list
//! that fails anywhere changes nothing. A proxy that replaces another on the very address the
//! old one listens on takes over the old one's listening socket instead of binding it again.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::listen::{Bound, same_address};
use super::settle::{Plan, Prepared};
use super::{Entry, Store};
use crate::control::error::ApiError;
use crate::control::wire::ProxyRequest;

/// One proxy of the list, ready to commit.
#[derive(Debug)]
enum Step {
    /// Same name, `listen` and `upstream`: updated in place (connections stay open).
    Update(String, Plan, Prepared),
    /// New, or replacing a different proxy of the same name.
    Replace {
        entry: Box<Entry>,
        plan: Plan,
        prepared: Prepared,
        /// Take over the replaced proxy's listening socket.
        reuse: bool,
    },
}

impl Store {
    /// `POST /populate`: create or replace each proxy; unchanged ones are left alone.
    pub(crate) async fn populate(
        self: &Arc<Self>,
        reqs: Vec<ProxyRequest>,
    ) -> Result<Vec<Value>, ApiError> {
        let mut inner = self.inner.lock().await;
        let steps = self.plan_all(&inner, reqs).await?;
        let mut views = Vec::with_capacity(steps.len());
        for step in steps {
            if let Some(view) = self.commit_step(&mut inner, step).await {
                views.push(view);
            }
        }
        Ok(views)
    }

    /// Plan and prepare every proxy of the list; the first failure refuses the whole list.
    async fn plan_all(
        self: &Arc<Self>,
        inner: &BTreeMap<String, Entry>,
        reqs: Vec<ProxyRequest>,
    ) -> Result<Vec<Step>, ApiError> {
        let mut steps = Vec::with_capacity(reqs.len());
        for (i, req) in reqs.into_iter().enumerate() {
            let within = |e: ApiError| e.within(&format!("[{i}]"));
            let existing = inner.get(&req.name);
            let same_listen = match existing {
                Some(old) => {
                    old.requested_listen == req.listen
                        || same_address(&req.listen, &old.listen).await
                }
                None => false,
            };
            if let Some(old) = existing
                && same_listen
                && old.upstream == req.upstream
            {
                let mut plan = Plan::of(old);
                plan.enabled = req.enabled;
                // A Toxiproxy client does not know `protocol`: what it leaves out is kept.
                plan.protocol = req.protocol.unwrap_or(old.protocol);
                plan.header_faults = req.header_faults.unwrap_or(old.header_faults);
                plan.header_timeout = req.header_timeout.unwrap_or(old.header_timeout);
                plan.set_tls(&req.tls).map_err(within)?;
                if !req.toxics.is_empty() {
                    plan.toxics = self.new_plan(req.clone()).map_err(within)?.toxics;
                }
                let prepared = self.prepare(old, &plan).await.map_err(within)?;
                steps.push(Step::Update(req.name, plan, prepared));
                continue;
            }
            let entry = Box::new(Entry::new(&req.name, &req.listen, &req.upstream));
            let reuse = req.enabled
                && same_listen
                && existing
                    .is_some_and(|old| old.running.as_ref().is_some_and(|r| r.is_listening()));
            let plan = self.new_plan(req).map_err(within)?;
            let prepared = if reuse {
                Prepared::Nothing
            } else {
                self.prepare(&entry, &plan).await.map_err(within)?
            };
            steps.push(Step::Replace {
                entry,
                plan,
                prepared,
                reuse,
            });
        }
        Ok(steps)
    }

    /// Commit one prepared step: the proxy's view.
    async fn commit_step(&self, inner: &mut BTreeMap<String, Entry>, step: Step) -> Option<Value> {
        let entry = match step {
            Step::Update(name, plan, prepared) => {
                let entry = inner.get_mut(&name)?;
                self.commit(entry, plan, prepared).await;
                entry
            }
            Step::Replace {
                mut entry,
                plan,
                mut prepared,
                reuse,
            } => {
                if let Some(mut old) = inner.remove(&*entry.name) {
                    if reuse
                        && let Some(running) = old.running.take()
                        && let Some((listener, addr)) = running.into_listener().await
                    {
                        prepared = Prepared::Bound(Bound { listener, addr });
                    }
                    self.forget(&mut old).await;
                }
                self.commit(&mut entry, plan, prepared).await;
                inner.entry(entry.name.to_string()).or_insert(*entry)
            }
        };
        Some(entry.view())
    }
}
