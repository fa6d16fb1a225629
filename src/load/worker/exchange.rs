//! One request's life in a worker: built from its scenario, sent, and recorded when it completes.

use futures_util::{FutureExt, Stream, StreamExt};
use tokio::time::Instant;

use super::super::client::{Conn, Exchanged, Outgoing, Watched, exchange, request};
use super::super::errors::ErrorClass;
use super::super::histogram::record;
use super::super::plan::Plan;
use super::super::recorder::Recorder;
use super::super::scenario::{Context, Kind, Vars};
use super::super::writes::WriteLog;
use super::crowd::User;

/// What travels with a request while it is in flight.
#[derive(Debug)]
pub(super) struct Meta {
    /// When the request was due.
    pub intended: Instant,
    /// Its scenario.
    pub scenario: usize,
    /// Its step in the scenario.
    pub step: usize,
    /// Placeholder values.
    pub ctx: Context,
    /// The key, for a keyed write.
    pub write: Option<String>,
    /// The closed-model user sending it.
    pub user: Option<User>,
}

/// Send a request within `limit` (its connection's slot, lent by the worker) and hand its
/// metadata back with the result.
pub(super) async fn tagged(
    conn: Conn,
    plan: &Plan,
    req: Outgoing,
    keep: bool,
    meta: Meta,
    limit: Watched<'_>,
) -> (Exchanged, Meta) {
    (exchange(conn, &plan.target, req, keep, limit).await, meta)
}

/// Handle `first` and every other answer already in `inflight`, in one pass (one turn of
/// the worker's loop for all of them, instead of one each).
pub(super) fn each_ready<S, T>(first: T, inflight: &mut S, mut handle: impl FnMut(T))
where
    S: Stream<Item = T> + Unpin,
{
    let mut answer = Some(first);
    while let Some(a) = answer {
        handle(a);
        answer = inflight.next().now_or_never().flatten();
    }
}

/// Build the request for `meta`; on failure record an `other` error and return `None`.
pub(super) fn prepare(
    plan: &Plan,
    rec: &mut Recorder,
    writes: &mut WriteLog,
    meta: &mut Meta,
    now: Instant,
    origin: Instant,
) -> Option<(Outgoing, bool)> {
    record(&mut rec.lag, now.saturating_duration_since(meta.intended));
    let scenario = &plan.scenarios[meta.scenario];
    let (template, keep) = scenario.step(meta.step);
    let empty = Vars::new();
    let vars = meta.user.as_ref().map_or(&empty, |u| &u.vars);
    let Some((req, body)) = request(template, &plan.target, &plan.headers, &meta.ctx, vars) else {
        let second = meta.intended.saturating_duration_since(origin).as_secs();
        rec.record(
            meta.scenario,
            second,
            now.saturating_duration_since(meta.intended),
            None,
            Some(ErrorClass::Other),
        );
        return None;
    };
    if let Kind::Write { read_back, .. } = &scenario.kind {
        let key = read_back.path.render(&meta.ctx, &empty);
        writes.attempt(key.clone(), meta.scenario, meta.ctx, body);
        meta.write = Some(key);
    }
    Some((req, keep))
}

/// Record a finished exchange; hand back the connection and the user, if any.
pub(super) fn complete(
    plan: &Plan,
    rec: &mut Recorder,
    writes: &mut WriteLog,
    ex: Exchanged,
    mut meta: Meta,
    origin: Instant,
) -> (Conn, Option<User>) {
    let (mut error, acked) = match &ex.result {
        Ok(a) => (a.class(), Ok(a.is_success())),
        Err(class) => (Some(*class), Err(*class)),
    };
    let scenario = &plan.scenarios[meta.scenario];
    let steps = scenario.len();
    if let (Kind::Steps(list), None, Some(user)) = (&scenario.kind, error, meta.user.as_mut()) {
        let body = ex
            .result
            .as_ref()
            .ok()
            .and_then(|a| a.body.as_deref())
            .unwrap_or_default();
        for (name, extractor) in &list[meta.step].extract {
            match extractor.extract(body) {
                Some(v) => {
                    user.vars.retain(|(n, _)| n != name);
                    user.vars.push((name.clone(), v));
                }
                None => error = Some(ErrorClass::Extract),
            }
        }
    }
    if let Some(key) = &meta.write {
        writes.complete(key, acked, ex.done);
    }
    let second = meta.intended.saturating_duration_since(origin).as_secs();
    rec.record(
        meta.scenario,
        second,
        ex.done.saturating_duration_since(meta.intended),
        Some(ex.done.saturating_duration_since(ex.sent)),
        error,
    );
    let user = meta.user.map(|mut u| {
        u.step = if error.is_some() || meta.step + 1 >= steps {
            0
        } else {
            meta.step + 1
        };
        if u.step == 0 {
            u.vars.clear();
        }
        u.ready_at = ex.done;
        u
    });
    (ex.conn, user)
}
