//! A request template rendered straight to HTTP/1.1 bytes, for the plain-`http` wire path
//! (see [`crate::load::client`]).
//!
//! The bytes say what hyper would send for the same [`RequestTemplate::build`]: the request
//! line with the origin-form path, `Host` (the target's authority), the common headers, then
//! the template's headers, a later header replacing an earlier one of the same name (as
//! `HeaderMap::insert` does), and `content-length` for a non-empty body unless a header
//! already frames it. A `transfer-encoding` header whose last coding is `chunked` gets the
//! body as one chunk. A template without placeholders is rendered once and shared.

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderName, HeaderValue, Method, Uri, header};

use super::{Context, RequestTemplate, Vars};

/// One request's bytes on the wire.
#[derive(Debug, Clone)]
pub(in crate::load) struct WireRequest {
    /// The request line, headers and body.
    pub bytes: Bytes,
    /// Whether the response has no body whatever its headers say (a `HEAD` request).
    pub head: bool,
}

/// Whether `value` is a valid field value (RFC 9110: visible ASCII, obs-text, space, tab),
/// the rule `HeaderValue::from_str` applies.
fn valid_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| (b >= 0x20 && b != 0x7f) || b == b'\t')
}

impl RequestTemplate {
    /// The request's bytes for `host` with the `common` headers; `None` when a rendered path
    /// or header value is not valid HTTP. The body is returned too (keyed writes record it).
    ///
    /// A template without placeholders is rendered on the first call and reused after, so
    /// every call on one template must pass the same `host` and `common` (a plan's target
    /// and headers).
    pub(in crate::load) fn wire(
        &self,
        host: &HeaderValue,
        common: &[(HeaderName, HeaderValue)],
        ctx: &Context,
        vars: &Vars,
    ) -> Option<(WireRequest, Bytes)> {
        let head = self.method == Method::HEAD;
        if self.is_static() {
            let (bytes, body) = self
                .static_wire
                .get_or_init(|| self.render_wire(host, common, ctx, vars))
                .clone()?;
            return Some((WireRequest { bytes, head }, body));
        }
        let (bytes, body) = self.render_wire(host, common, ctx, vars)?;
        Some((WireRequest { bytes, head }, body))
    }

    /// Render the request's bytes and its body.
    fn render_wire(
        &self,
        host: &HeaderValue,
        common: &[(HeaderName, HeaderValue)],
        ctx: &Context,
        vars: &Vars,
    ) -> Option<(Bytes, Bytes)> {
        let path = match &self.static_uri {
            Some(u) => u.to_string(),
            None => {
                let text = self.path.render(ctx, vars);
                text.parse::<Uri>().ok()?;
                text
            }
        };
        let values: Vec<String> = self
            .headers
            .iter()
            .map(|(_, v)| v.render(ctx, vars))
            .collect();
        if !values.iter().all(|v| valid_value(v)) {
            return None;
        }
        let body = match &self.static_body {
            Some(b) => b.clone(),
            None => Bytes::from(self.body.render(ctx, vars)),
        };
        let mut out = BytesMut::with_capacity(128 + path.len() + body.len());
        for part in [self.method.as_str(), " ", &path, " HTTP/1.1\r\n"] {
            out.put_slice(part.as_bytes());
        }
        // Every header as the HeaderMap of `build` would hold it: the last of a name wins.
        let mut fields: Vec<(&HeaderName, &[u8])> = vec![(&header::HOST, host.as_bytes())];
        let given = common.iter().map(|(n, v)| (n, v.as_bytes()));
        let templated = self.headers.iter().zip(&values);
        for (name, value) in given.chain(templated.map(|((n, _), v)| (n, v.as_bytes()))) {
            fields.retain(|(n, _)| *n != name);
            fields.push((name, value));
        }
        let has = |name: &HeaderName| fields.iter().find(|(n, _)| *n == name).map(|f| f.1);
        let chunked = has(&header::TRANSFER_ENCODING).is_some_and(|te| {
            let last = te.rsplit(|b| *b == b',').next().unwrap_or_default();
            last.trim_ascii().eq_ignore_ascii_case(b"chunked")
        });
        let framed = chunked || has(&header::CONTENT_LENGTH).is_some();
        for (name, value) in &fields {
            for part in [name.as_str().as_bytes(), b": ", value, b"\r\n"] {
                out.put_slice(part);
            }
        }
        if !framed && !body.is_empty() {
            out.put_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
        }
        out.put_slice(b"\r\n");
        if chunked {
            if !body.is_empty() {
                out.put_slice(format!("{:x}\r\n", body.len()).as_bytes());
                out.put_slice(&body);
                out.put_slice(b"\r\n");
            }
            out.put_slice(b"0\r\n\r\n");
        } else {
            out.put_slice(&body);
        }
        Some((out.freeze(), body))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Template;
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn template(
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> RequestTemplate {
        let headers = headers
            .iter()
            .map(|(n, v)| (n.parse().unwrap(), Template::parse(v).unwrap()))
            .collect();
        let (path, body) = (
            Template::parse(path).unwrap(),
            Template::parse(body).unwrap(),
        );
        RequestTemplate::new(method, path, headers, body).unwrap()
    }

    fn text(r: &RequestTemplate, common: &[(HeaderName, HeaderValue)], vars: &Vars) -> String {
        let ctx = Context::draw(5, 0, &mut StdRng::seed_from_u64(0));
        let host = HeaderValue::from_static("127.0.0.1:9");
        let (w, _) = r.wire(&host, common, &ctx, vars).unwrap();
        String::from_utf8(w.bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_request_renders_its_line_host_headers_and_framed_body() {
        let r = template(
            Method::PUT,
            "/kv/{{seq}}",
            &[("authorization", "Bearer {{token}}")],
            "v-{{seq}}",
        );
        let vars = vec![("token".into(), "t1".into())];
        assert_eq!(
            text(&r, &[], &vars),
            "PUT /kv/5 HTTP/1.1\r\nhost: 127.0.0.1:9\r\nauthorization: Bearer t1\r\n\
             content-length: 3\r\n\r\nv-5"
        );
        // A value that is not a valid header, or a path that is not a URI, fails the build.
        let ctx = Context::draw(5, 0, &mut StdRng::seed_from_u64(0));
        let host = HeaderValue::from_static("h");
        let bad = vec![("token".into(), "a\nb".into())];
        assert!(r.wire(&host, &[], &ctx, &bad).is_none());
        let spaced = template(Method::GET, "/a {{token}}", &[], "");
        assert!(spaced.wire(&host, &[], &ctx, &vars).is_none());
    }

    #[test]
    fn later_headers_replace_earlier_ones_and_framing_headers_are_honoured() {
        let common = [
            (header::HOST, HeaderValue::from_static("api.test")),
            (
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("1"),
            ),
        ];
        let r = template(Method::GET, "/", &[("x-a", "2")], "");
        assert_eq!(
            text(&r, &common, &Vars::new()),
            "GET / HTTP/1.1\r\nhost: api.test\r\nx-a: 2\r\n\r\n"
        );
        let chunked = template(
            Method::POST,
            "/",
            &[("transfer-encoding", "chunked")],
            "hello",
        );
        assert!(
            text(&chunked, &[], &Vars::new())
                .ends_with("transfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        );
        let sized = template(Method::POST, "/", &[("content-length", "5")], "hello");
        assert!(text(&sized, &[], &Vars::new()).ends_with("content-length: 5\r\n\r\nhello"));
        assert!(!text(&sized, &[], &Vars::new()).contains("content-length: 5\r\ncontent-length"));
    }

    #[test]
    fn a_static_template_is_rendered_once_and_head_is_marked() {
        let r = template(Method::HEAD, "/health", &[], "");
        let ctx = Context::draw(1, 0, &mut StdRng::seed_from_u64(0));
        let host = HeaderValue::from_static("h");
        let (a, _) = r.wire(&host, &[], &ctx, &Vars::new()).unwrap();
        let (b, _) = r.wire(&host, &[], &ctx, &Vars::new()).unwrap();
        assert!(a.head && a.bytes.as_ptr() == b.bytes.as_ptr());
        assert_eq!(a.bytes, "HEAD /health HTTP/1.1\r\nhost: h\r\n\r\n");
    }
}
