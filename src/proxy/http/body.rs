//! A response body as a faulted request delivers it: throttled (`http_throttle`), cut short
//! (`http_tamper.truncate`), or with trailers added (`grpc_abort`), holding its toxics'
//! `max_active` slots until it ends. Bodies stream: nothing is buffered whole.
//!
//! A throttle follows the live configuration (`held`): when its toxic is removed the rest of
//! the body flows unthrottled, when its rate is updated the rest goes at the new rate from
//! now (what the link was still sending is re-timed at the new rate).
//!
//! Also the client's request body as it goes upstream ([`ClientBody`]), which remembers a
//! failure of the client's own (a malformed chunked body, a close mid-body) so that the
//! exchange is answered `400` for the client and not `502` for the upstream.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::decide::ActiveGuard;
use super::held::LiveRate;
use super::{BoxError, ProxyBody};
use crate::fault::attrs::MAX_DELAY;
use crate::fault::kind::after;

/// A body passed on with the faults' shaping.
pub(super) struct Shaped {
    inner: ProxyBody,
    /// Bytes per second, if throttled.
    rate: Option<u64>,
    /// The throttles' rate as the configuration changes (when throttled).
    live: Option<LiveRate>,
    /// Bytes still allowed, if truncated.
    remaining: Option<u64>,
    /// Trailers to send after the data.
    trailers: Option<HeaderMap>,
    /// The rest of a chunk that the throttle has not taken yet.
    carry: Option<Bytes>,
    /// A piece the throttled link is sending: delivered when it would have finished (`free`).
    due: Option<Bytes>,
    /// When the throttled link is free again.
    free: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
    _guards: Vec<ActiveGuard>,
}

impl Shaped {
    /// Shape `inner`: throttled at `rate` bytes per second, which `live` (when given)
    /// updates as the configuration changes; cut after `remaining` bytes; `trailers` added.
    pub(super) fn new(
        inner: ProxyBody,
        rate: Option<u64>,
        live: Option<LiveRate>,
        remaining: Option<u64>,
        trailers: Option<HeaderMap>,
        guards: Vec<ActiveGuard>,
    ) -> Self {
        Self {
            inner,
            rate,
            live,
            remaining,
            trailers,
            carry: None,
            due: None,
            free: None,
            sleep: None,
            _guards: guards,
        }
    }

    /// The next data chunk (or a non-data frame) from the carry or the inner body.
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(chunk) = self.carry.take() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    /// Go on at `rate` (`None`: unthrottled) from now: what the link is still sending at the
    /// old rate takes the time the new rate gives it.
    fn retime(&mut self, rate: Option<u64>) {
        let old = std::mem::replace(&mut self.rate, rate);
        let now = Instant::now();
        let (Some(old), Some(new), Some(free)) = (old, rate, self.free.filter(|f| *f > now)) else {
            // Unthrottled, or the link is free already.
            self.free = None;
            self.sleep = None;
            return;
        };
        let left = (free - now).as_secs_f64() * old as f64 / new as f64;
        let free = after(now, Duration::try_from_secs_f64(left).unwrap_or(MAX_DELAY));
        self.free = Some(free);
        self.sleep = Some(Box::pin(tokio::time::sleep_until(free)));
    }

    /// Cut `chunk` to what the truncation lets through; throttled, take at most 100 ms worth
    /// of it onto the link (delivered when the link would have finished sending it, as the
    /// TCP `bandwidth` toxic does) and keep the rest; else pass it now.
    fn release(&mut self, mut chunk: Bytes) -> Bytes {
        if let Some(rem) = self.remaining.as_mut() {
            let keep = usize::try_from(*rem).unwrap_or(usize::MAX).min(chunk.len());
            chunk.truncate(keep);
            *rem -= keep as u64;
        }
        if let Some(rate) = self.rate {
            let piece = usize::try_from((rate / 10).max(1)).unwrap_or(usize::MAX);
            if chunk.len() > piece {
                self.carry = Some(chunk.split_off(piece));
            }
            let now = Instant::now();
            let start = self.free.map_or(now, |f| f.max(now));
            let send = Duration::from_secs_f64(chunk.len() as f64 / rate as f64);
            let free = after(start, send);
            self.free = Some(free);
            self.sleep = Some(Box::pin(tokio::time::sleep_until(free)));
            self.due = Some(chunk);
            return Bytes::new();
        }
        chunk
    }
}

impl Body for Shaped {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(rate) = this.live.as_mut().and_then(|l| l.poll_changed(cx)) {
            this.retime(rate);
        }
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
            }
            if let Some(chunk) = this.due.take() {
                return Poll::Ready(Some(Ok(Frame::data(chunk))));
            }
            if this.remaining == Some(0) {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            let frame = match ready!(this.poll_next(cx)) {
                None => {
                    return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(frame)) => frame,
            };
            match frame.into_data() {
                Ok(chunk) => {
                    let chunk = this.release(chunk);
                    if !chunk.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(chunk))));
                    }
                }
                Err(other) => return Poll::Ready(Some(Ok(other))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.carry.is_none()
            && self.due.is_none()
            && self.trailers.is_none()
            && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.remaining.is_some() || self.trailers.is_some() {
            SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}

/// Where a [`ClientBody`] leaves the client's error: set once, by the first one.
pub(super) type ClientError = Arc<OnceLock<String>>;

/// The client's request body on its way upstream; its first error (the client's, whatever
/// the upstream client makes of it) is kept in the shared [`ClientError`].
pub(super) struct ClientBody {
    inner: ProxyBody,
    error: ClientError,
}

impl ClientBody {
    /// Pass `inner` on, noting its failure in `error`.
    pub(super) fn new(inner: ProxyBody, error: ClientError) -> Self {
        Self { inner, error }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let frame = ready!(Pin::new(&mut this.inner).poll_frame(cx));
        if let Some(Err(e)) = &frame {
            let _ = this.error.set(super::forward::blamed("client", &**e));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
