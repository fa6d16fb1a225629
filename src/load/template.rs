//! Templates: request parts with placeholders, rendered per scenario iteration.
//!
//! A template is a string with placeholders: `{{seq}}` (a sequence number
//! unique in the run), `{{uuid}}` (a seeded random UUID), `{{random}}` (a
//! seeded random u64), `{{user}}` (the virtual user's number; in the open
//! model, the worker's) and `{{name}}` for a value extracted by an earlier
//! step of the same user. One [`Context`] is drawn per scenario iteration,
//! so a write and its read-back render the same key. Templates without
//! placeholders are rendered once, at start.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use rand::RngExt;
use rand::rngs::StdRng;

mod wire;
pub(super) use wire::WireRequest;

/// Per-iteration values for the built-in placeholders.
#[derive(Debug, Clone, Copy)]
pub(super) struct Context {
    /// `{{seq}}`.
    pub seq: u64,
    /// `{{uuid}}`.
    pub uuid: uuid::Uuid,
    /// `{{random}}`.
    pub random: u64,
    /// `{{user}}`.
    pub user: u64,
}

impl Context {
    /// Draw the random parts from `rng`.
    pub(super) fn draw(seq: u64, user: u64, rng: &mut StdRng) -> Self {
        let bytes: [u8; 16] = rng.random();
        Self {
            seq,
            uuid: uuid::Builder::from_random_bytes(bytes).into_uuid(),
            random: rng.random(),
            user,
        }
    }
}

/// Values extracted by earlier steps, by name.
pub(super) type Vars = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Seq,
    Uuid,
    Random,
    User,
    Var(String),
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parse `text`; an unterminated or empty `{{` placeholder is an error.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("unterminated placeholder in {text:?}"))?;
            let name = after[..close].trim();
            parts.push(match name {
                "seq" => Part::Seq,
                "uuid" => Part::Uuid,
                "random" => Part::Random,
                "user" => Part::User,
                "" => return Err(format!("empty placeholder in {text:?}")),
                other => Part::Var(other.to_string()),
            });
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// Whether the template has no placeholders.
    pub(super) fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// Whether every rendering differs (contains `{{seq}}` or `{{uuid}}`).
    pub(super) fn is_unique(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Seq | Part::Uuid))
    }

    /// Names of extracted variables this template uses.
    pub(super) fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            _ => None,
        })
    }

    /// Render into `out`.
    pub(super) fn render_into(&self, ctx: &Context, vars: &Vars, out: &mut String) {
        use std::fmt::Write;
        for p in &self.parts {
            let _ = match p {
                Part::Lit(s) => {
                    out.push_str(s);
                    Ok(())
                }
                Part::Seq => write!(out, "{}", ctx.seq),
                Part::Uuid => write!(out, "{}", ctx.uuid.hyphenated()),
                Part::Random => write!(out, "{}", ctx.random),
                Part::User => write!(out, "{}", ctx.user),
                Part::Var(name) => {
                    if let Some((_, v)) = vars.iter().find(|(n, _)| n == name) {
                        out.push_str(v);
                    }
                    Ok(())
                }
            };
        }
    }

    /// Render to a new string.
    pub(super) fn render(&self, ctx: &Context, vars: &Vars) -> String {
        let mut s = String::new();
        self.render_into(ctx, vars, &mut s);
        s
    }
}

/// A request template with its static parts prepared once.
#[derive(Debug, Clone)]
pub(super) struct RequestTemplate {
    /// HTTP method.
    pub method: Method,
    /// Path and query (origin form).
    pub path: Template,
    /// Extra headers; values are templates.
    pub headers: Vec<(HeaderName, Template)>,
    /// Body template (empty when absent).
    pub body: Template,
    static_uri: Option<Uri>,
    static_body: Option<Bytes>,
    /// The wire bytes and body of a template without placeholders, once rendered
    /// (see [`RequestTemplate::wire`]); shared by clones, and behind a pointer to keep
    /// the template small.
    static_wire: std::sync::Arc<std::sync::OnceLock<Option<(Bytes, Bytes)>>>,
}

impl RequestTemplate {
    /// Prepare a template; `path` must start with `/`.
    pub(super) fn new(
        method: Method,
        path: Template,
        headers: Vec<(HeaderName, Template)>,
        body: Template,
    ) -> Result<Self, String> {
        let static_uri = if path.is_static() {
            let text = path.render(&Context::zero(), &Vars::new());
            Some(
                text.parse::<Uri>()
                    .map_err(|e| format!("invalid path {text:?}: {e}"))?,
            )
        } else {
            None
        };
        let static_body = body
            .is_static()
            .then(|| Bytes::from(body.render(&Context::zero(), &Vars::new())));
        Ok(Self {
            method,
            path,
            headers,
            body,
            static_uri,
            static_body,
            static_wire: std::sync::Arc::default(),
        })
    }

    /// Whether nothing in the request has a placeholder.
    fn is_static(&self) -> bool {
        self.path.is_static()
            && self.body.is_static()
            && self.headers.iter().all(|(_, v)| v.is_static())
    }

    /// Build the request for `host`; `None` when a rendered value is not valid HTTP.
    pub(super) fn build(
        &self,
        host: &HeaderValue,
        common: &[(HeaderName, HeaderValue)],
        ctx: &Context,
        vars: &Vars,
    ) -> Option<(Request<Full<Bytes>>, Bytes)> {
        let uri = match &self.static_uri {
            Some(u) => u.clone(),
            None => self.path.render(ctx, vars).parse().ok()?,
        };
        let body = match &self.static_body {
            Some(b) => b.clone(),
            None => Bytes::from(self.body.render(ctx, vars)),
        };
        let mut req = Request::new(Full::new(body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = uri;
        let h = req.headers_mut();
        h.insert(http::header::HOST, host.clone());
        for (name, value) in common {
            h.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.headers {
            let v = HeaderValue::from_str(&value.render(ctx, vars)).ok()?;
            h.insert(name.clone(), v);
        }
        Some((req, body))
    }
}

impl Context {
    fn zero() -> Self {
        Self {
            seq: 0,
            uuid: uuid::Uuid::nil(),
            random: 0,
            user: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn templates_render_placeholders_and_vars() {
        let t = Template::parse("/kv/{{seq}}/{{ user }}?t={{token}}").unwrap();
        assert!(!t.is_static() && t.is_unique());
        assert_eq!(t.vars().collect::<Vec<_>>(), ["token"]);
        let mut rng = StdRng::seed_from_u64(1);
        let ctx = Context::draw(42, 7, &mut rng);
        let vars = vec![("token".to_string(), "abc".to_string())];
        assert_eq!(t.render(&ctx, &vars), "/kv/42/7?t=abc");
        let u = Template::parse("{{uuid}}").unwrap().render(&ctx, &vars);
        assert_eq!(u.len(), 36);
        assert_eq!(
            Context::draw(42, 7, &mut StdRng::seed_from_u64(1)).uuid,
            ctx.uuid
        );
        assert!(Template::parse("/a/{{seq").is_err());
        assert!(Template::parse("/a/{{}}").is_err());
        assert!(Template::parse("/health").unwrap().is_static());
    }

    #[test]
    fn requests_build_with_host_and_headers() {
        let r = RequestTemplate::new(
            Method::PUT,
            Template::parse("/kv/{{seq}}").unwrap(),
            vec![(
                HeaderName::from_static("authorization"),
                Template::parse("Bearer {{token}}").unwrap(),
            )],
            Template::parse("v-{{seq}}").unwrap(),
        )
        .unwrap();
        let ctx = Context::draw(5, 0, &mut StdRng::seed_from_u64(0));
        let vars = vec![("token".into(), "t1".into())];
        let host = HeaderValue::from_static("127.0.0.1:9");
        let (req, body) = r.build(&host, &[], &ctx, &vars).unwrap();
        assert_eq!(req.uri(), "/kv/5");
        assert_eq!(req.headers()["authorization"], "Bearer t1");
        assert_eq!(req.headers()["host"], "127.0.0.1:9");
        assert_eq!(body, "v-5");
        // A value that is not a valid header is a failed build, not a panic.
        let bad = vec![("token".into(), "a\nb".into())];
        assert!(r.build(&host, &[], &ctx, &bad).is_none());
    }
}
