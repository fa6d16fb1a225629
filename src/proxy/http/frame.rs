//! The framing of the responses HTTP toxics fabricate (`http_abort`, `grpc_abort`, a
//! header-driven abort) or rewrite (`http_tamper`): set by the proxy from the body it sends,
//! never by a toxic.
//!
//! hyper writes `content-length` (or chunks) from the body it is given, and trusts a
//! `content-length` or `transfer-encoding` header found in the response instead: a header
//! that disagrees with the body panics its debug build and misframes the exchange in any
//! build. So the toxics' headers never touch [`framing::RESERVED`] (the parsers refuse them;
//! this module skips them too, whatever reaches it), a new body drops the old length, and a
//! bodiless status (1xx, 204, 304) sends neither a body nor framing headers.

use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode, header};

use super::{ProxyBody, forward};
use crate::fault::http::{Header, Tamper, framing};

/// The response of a fabricated answer: `status`, `headers` (but the reserved ones) and
/// `body` (none for a bodiless status), framed by hyper from the body.
pub(super) fn answer(status: StatusCode, headers: Vec<Header>, body: Bytes) -> Response<ProxyBody> {
    let body = if framing::contentless(status) {
        Bytes::new()
    } else {
        body
    };
    let mut r = Response::new(forward::full(body));
    *r.status_mut() = status;
    for (k, v) in headers {
        if !framing::is_reserved(&k) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// One `http_tamper`'s status, header and body changes to the upstream's `response` (the
/// cut, `truncate`, is the caller's: it shapes the body as it streams). A changed body
/// (`body` or `truncate`) loses the upstream's `content-length`; a bodiless status loses the
/// body and its framing headers.
pub(super) fn tamper(response: &mut Response<ProxyBody>, t: &Tamper) {
    if let Some(s) = t.status {
        *response.status_mut() = s;
    }
    let headers = response.headers_mut();
    for name in &t.remove_headers {
        if !framing::is_reserved(name) {
            headers.remove(name);
        }
    }
    for (k, v) in &t.set_headers {
        if !framing::is_reserved(k) {
            headers.insert(k.clone(), v.clone());
        }
    }
    if t.body.is_some() || t.truncate.is_some() {
        unframe(headers);
    }
    if let Some(b) = &t.body {
        *response.body_mut() = forward::full(b.clone());
    }
    if framing::contentless(response.status()) {
        // A 205 is then framed by hyper as empty; a bodiless status is not framed at all.
        unframe(response.headers_mut());
        *response.body_mut() = forward::full(Bytes::new());
    }
}

/// Remove the headers that frame a body.
fn unframe(headers: &mut HeaderMap) {
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::TRANSFER_ENCODING);
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http_body_util::BodyExt;

    use super::*;

    fn upstream(len: usize) -> Response<ProxyBody> {
        let mut r = Response::new(forward::full(Bytes::from(vec![b'x'; len])));
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        r
    }

    async fn body(r: Response<ProxyBody>) -> Bytes {
        r.into_body()
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default()
    }

    /// Whatever reaches it (the parsers refuse these), the framing stays the proxy's.
    #[tokio::test]
    async fn reserved_headers_never_reach_the_response_and_bodiless_statuses_send_no_body() {
        let cl = (header::CONTENT_LENGTH, HeaderValue::from_static("5"));
        let te = (
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        let kept = (header::RETRY_AFTER, HeaderValue::from_static("1"));
        let r = answer(
            StatusCode::OK,
            vec![cl.clone(), te.clone(), kept.clone()],
            Bytes::from_static(b"0123456789"),
        );
        assert_eq!(r.headers().len(), 1, "{:?}", r.headers());
        assert_eq!(body(r).await.len(), 10);
        for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
            let r = answer(status, vec![cl.clone()], Bytes::from_static(b"0123456789"));
            assert!(r.headers().is_empty());
            assert!(body(r).await.is_empty());
            let mut r = upstream(28);
            tamper(
                &mut r,
                &Tamper {
                    status: Some(status),
                    ..Tamper::default()
                },
            );
            assert!(r.headers().is_empty(), "{:?}", r.headers());
            assert!(body(r).await.is_empty());
        }
        let mut r = upstream(28);
        tamper(
            &mut r,
            &Tamper {
                set_headers: vec![cl, te, kept],
                remove_headers: vec![header::CONTENT_LENGTH],
                ..Tamper::default()
            },
        );
        assert_eq!(r.headers()[header::CONTENT_LENGTH], "28");
        assert_eq!(r.headers()[header::RETRY_AFTER], "1");
        assert!(r.headers().get(header::TRANSFER_ENCODING).is_none());
        assert_eq!(body(r).await.len(), 28);
    }
}
