//! The game-day console (`shakedown gameday`, `/ui`): one page and its script and style sheet,
//! embedded at build time (`control/ui/`), served from the API's own origin.
//!
//! The page is driven only by what the API reports (`/toxic-types`, `/journal.json`, the
//! `/events` stream) and changes things only through the API. Every answer here carries a
//! Content-Security-Policy that allows nothing outside the page's origin and no inline script,
//! so no request leaves the origin and a user string can never run as code.

use bytes::Bytes;
use http::{Method, Response, StatusCode, header};
use http_body_util::Full;

/// The assets by path: (path, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/ui",
        "text/html; charset=utf-8",
        include_str!("ui/index.html"),
    ),
    (
        "/ui/",
        "text/html; charset=utf-8",
        include_str!("ui/index.html"),
    ),
    (
        "/ui/console.js",
        "text/javascript; charset=utf-8",
        include_str!("ui/console.js"),
    ),
    (
        "/ui/console.css",
        "text/css; charset=utf-8",
        include_str!("ui/console.css"),
    ),
];

/// What the browser may load and connect to: this origin only, no inline script.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The answer to `GET path` when it names a console asset; `None` for every other request
/// (`/ui/…` that names no asset is a 404 here; other paths belong to the API).
pub(super) fn serve(method: &Method, path: &str) -> Option<Response<Full<Bytes>>> {
    if path != "/ui" && !path.starts_with("/ui/") {
        return None;
    }
    let found = ASSETS.iter().find(|(p, _, _)| *p == path);
    let (status, content_type, body) = match (found, method) {
        (Some((_, ct, body)), &Method::GET | &Method::HEAD) => (StatusCode::OK, *ct, *body),
        (Some(_), _) => (StatusCode::METHOD_NOT_ALLOWED, "text/plain", ""),
        (None, _) => (StatusCode::NOT_FOUND, "text/plain", "404 page not found\n"),
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_SECURITY_POLICY, POLICY)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::CACHE_CONTROL, "no-store");
    if status == StatusCode::METHOD_NOT_ALLOWED {
        builder = builder.header(header::ALLOW, "GET, HEAD");
    }
    builder
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_served_with_their_type_and_the_policy_others_are_left_to_the_api() {
        let page = serve(&Method::GET, "/ui").unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(
            page.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(page.headers()[header::CONTENT_SECURITY_POLICY], POLICY);
        let js = serve(&Method::GET, "/ui/console.js").unwrap();
        assert_eq!(
            js.headers()[header::CONTENT_TYPE],
            "text/javascript; charset=utf-8"
        );
        assert_eq!(serve(&Method::GET, "/ui/nothing").unwrap().status(), 404);
        assert_eq!(serve(&Method::POST, "/ui").unwrap().status(), 405);
        assert!(serve(&Method::GET, "/proxies").is_none());
        assert!(serve(&Method::GET, "/uix").is_none());
    }

    #[test]
    fn the_page_names_only_its_own_assets_and_has_no_inline_script() {
        let page = include_str!("ui/index.html");
        assert!(page.contains(r#"<script src="/ui/console.js" defer></script>"#));
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert_eq!(page.matches("<script").count(), 1);
    }
}
