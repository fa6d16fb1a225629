//! A response body as a faulted request delivers it: throttled (`http_throttle`), cut short
//! (`http_tamper.truncate`), or with trailers added (`grpc_abort`), holding its toxics'
//! `max_active` slots until it ends. Bodies stream: nothing is buffered whole.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::decide::ActiveGuard;
use super::{BoxError, ProxyBody};
use crate::fault::kind::after;

/// A body passed on with the faults' shaping.
pub(super) struct Shaped {
    inner: ProxyBody,
    /// Bytes per second, if throttled.
    rate: Option<u64>,
    /// Bytes still allowed, if truncated.
    remaining: Option<u64>,
    /// Trailers to send after the data.
    trailers: Option<HeaderMap>,
    /// The rest of a chunk that the throttle has not released yet.
    carry: Option<Bytes>,
    /// When the throttled link is free again.
    free: Option<Instant>,
    sleep: Option<Pin<Box<Sleep>>>,
    _guards: Vec<ActiveGuard>,
}

impl Shaped {
    /// Shape `inner`.
    pub(super) fn new(
        inner: ProxyBody,
        rate: Option<u64>,
        remaining: Option<u64>,
        trailers: Option<HeaderMap>,
        guards: Vec<ActiveGuard>,
    ) -> Self {
        Self {
            inner,
            rate,
            remaining,
            trailers,
            carry: None,
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

    /// Cut `chunk` to what the truncation and the throttle let through now; keep the rest.
    fn release(&mut self, mut chunk: Bytes) -> Bytes {
        if let Some(rem) = self.remaining.as_mut() {
            let keep = usize::try_from(*rem).unwrap_or(usize::MAX).min(chunk.len());
            chunk.truncate(keep);
            *rem -= keep as u64;
        }
        if let Some(rate) = self.rate {
            // At most 100 ms worth at a time, released when the link would have sent it.
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
        loop {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
                this.sleep = None;
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
        self.carry.is_none() && self.trailers.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        if self.remaining.is_some() || self.trailers.is_some() {
            SizeHint::default()
        } else {
            self.inner.size_hint()
        }
    }
}
