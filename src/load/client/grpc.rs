//! Whether a response is a gRPC error: a `grpc-status` other than `0` in its headers (a
//! trailers-only response) or its trailers, or a gRPC response (`content-type:
//! application/grpc…`, not gRPC-Web) that carries no `grpc-status` at all, which gRPC clients
//! treat as an error too (an HTTP/1.1 server drops trailers the request did not ask for with
//! `TE: trailers`). `grpc_abort` answers HTTP 200 this way; only a marked response's gRPC
//! error counts ([`super::super::errors::ErrorClass::of_response`]).

use http::HeaderMap;

/// What the fields of a response said of gRPC so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Grpc {
    /// `content-type: application/grpc` (or `application/grpc+proto`, …).
    is_grpc: bool,
    /// The first `grpc-status` seen: whether it was `0` (OK).
    ok: Option<bool>,
}

impl Grpc {
    /// Note one header or trailer field (any case of `name`).
    pub(super) fn field(&mut self, name: &[u8], value: &[u8]) {
        if name.eq_ignore_ascii_case(b"grpc-status") {
            self.ok.get_or_insert(value.trim_ascii() == b"0");
        } else if name.eq_ignore_ascii_case(b"content-type") {
            let media = value.split(|b| *b == b';').next().unwrap_or_default();
            let media = media.trim_ascii();
            self.is_grpc |= media.eq_ignore_ascii_case(b"application/grpc")
                || media
                    .get(..b"application/grpc+".len())
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"application/grpc+"));
        }
    }

    /// Note the fields of a header or trailer map.
    pub(super) fn fields(&mut self, map: &HeaderMap) {
        for name in ["grpc-status", "content-type"] {
            if let Some(v) = map.get(name) {
                self.field(name.as_bytes(), v.as_bytes());
            }
        }
    }

    /// Whether the response is a gRPC error.
    pub(super) fn failed(&self) -> bool {
        match self.ok {
            Some(ok) => !ok,
            None => self.is_grpc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(fields: &[(&str, &str)]) -> bool {
        let mut g = Grpc::default();
        for (n, v) in fields {
            g.field(n.as_bytes(), v.as_bytes());
        }
        g.failed()
    }

    #[test]
    fn a_non_zero_or_missing_grpc_status_is_an_error() {
        assert!(!of(&[]));
        assert!(!of(&[("content-type", "text/plain")]));
        assert!(!of(&[
            ("content-type", "application/grpc"),
            ("grpc-status", "0")
        ]));
        assert!(of(&[
            ("Content-Type", "application/grpc"),
            ("Grpc-Status", "14")
        ]));
        assert!(of(&[("content-type", "application/grpc+proto")]));
        assert!(!of(&[("content-type", "application/grpc-web")]));
        assert!(of(&[("grpc-status", "2")]));
        // The first status counts (headers before trailers).
        assert!(!of(&[("grpc-status", " 0 "), ("grpc-status", "13")]));
        let mut map = HeaderMap::new();
        map.insert("grpc-status", "14".parse().unwrap());
        let mut g = Grpc::default();
        g.fields(&map);
        assert!(g.failed());
    }
}
