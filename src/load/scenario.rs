//! Scenarios: weighted request templates, keyed writes and per-user step sequences.
//!
//! A template is a string with placeholders: `{{seq}}` (a sequence number
//! unique in the run), `{{uuid}}` (a seeded random UUID), `{{random}}` (a
//! seeded random u64), `{{user}}` (the virtual user's number; in the open
//! model, the worker's) and `{{name}}` for a value extracted by an earlier
//! step of the same user. One [`Context`] is drawn per scenario iteration,
//! so a write and its read-back render the same key. Templates without
//! placeholders are rendered once, at start.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use rand::RngExt;
use rand::rngs::StdRng;
use regex::Regex;
use serde_json_path::JsonPath;

/// Per-iteration values for the built-in placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Context {
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
    pub fn draw(seq: u64, user: u64, rng: &mut StdRng) -> Self {
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
pub type Vars = Vec<(String, String)>;

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
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parse `text`; an unterminated or empty `{{` placeholder is an error.
    pub fn parse(text: &str) -> Result<Self, String> {
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
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// Whether every rendering differs (contains `{{seq}}` or `{{uuid}}`).
    pub fn is_unique(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Seq | Part::Uuid))
    }

    /// Names of extracted variables this template uses.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            _ => None,
        })
    }

    /// Render into `out`.
    pub fn render_into(&self, ctx: &Context, vars: &Vars, out: &mut String) {
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
    pub fn render(&self, ctx: &Context, vars: &Vars) -> String {
        let mut s = String::new();
        self.render_into(ctx, vars, &mut s);
        s
    }
}

/// A request template with its static parts prepared once.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
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
}

impl RequestTemplate {
    /// Prepare a template; `path` must start with `/`.
    pub fn new(
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
        })
    }

    /// Build the request for `host`; `None` when a rendered value is not valid HTTP.
    pub fn build(
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

/// How a value is taken from a response body.
#[derive(Debug, Clone)]
pub enum Extractor {
    /// The first node a JSON path selects (strings unquoted).
    Json(JsonPath),
    /// The first capture group of a regex (or the whole match without groups).
    Regex(Regex),
}

impl Extractor {
    /// The extracted value, `None` when nothing matched.
    pub fn extract(&self, body: &[u8]) -> Option<String> {
        match self {
            Extractor::Json(path) => {
                let value: serde_json::Value = serde_json::from_slice(body).ok()?;
                match path.query(&value).first()? {
                    serde_json::Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                }
            }
            Extractor::Regex(re) => {
                let text = String::from_utf8_lossy(body);
                let caps = re.captures(&text)?;
                caps.get(1)
                    .or_else(|| caps.get(0))
                    .map(|m| m.as_str().to_string())
            }
        }
    }
}

/// One step of a per-user sequence.
#[derive(Debug, Clone)]
pub struct Step {
    /// The request.
    pub request: RequestTemplate,
    /// Values to extract from its response, by variable name.
    pub extract: Vec<(String, Extractor)>,
}

/// What a scenario sends.
#[derive(Debug, Clone)]
pub enum Kind {
    /// One request per iteration.
    Request(RequestTemplate),
    /// A keyed write, read back at the end of the run.
    Write {
        /// The write.
        write: Box<RequestTemplate>,
        /// The read that must return the written body.
        read_back: Box<RequestTemplate>,
    },
    /// A sequence of steps per iteration, carrying extracted values forward.
    Steps(Vec<Step>),
}

/// A validated scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name in reports.
    pub name: String,
    /// Relative weight (> 0).
    pub weight: u32,
    /// What it sends.
    pub kind: Kind,
    /// Think time after each request (closed model), overriding the run's.
    pub think: Option<(Duration, Duration)>,
}

impl Scenario {
    /// Number of requests in one iteration.
    pub fn len(&self) -> usize {
        match &self.kind {
            Kind::Steps(s) => s.len(),
            _ => 1,
        }
    }

    /// Never empty (validation rejects empty step lists).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The request of step `i` and whether its body must be kept.
    pub fn step(&self, i: usize) -> (&RequestTemplate, bool) {
        match &self.kind {
            Kind::Request(r) => (r, false),
            Kind::Write { write, .. } => (write, false),
            Kind::Steps(steps) => {
                let s = &steps[i.min(steps.len().saturating_sub(1))];
                (&s.request, !s.extract.is_empty())
            }
        }
    }
}

/// Weighted choice among scenarios.
#[derive(Debug, Clone)]
pub struct Picker {
    cumulative: Vec<u64>,
}

impl Picker {
    /// A picker for these weights (all > 0).
    pub fn new(weights: impl IntoIterator<Item = u32>) -> Self {
        let mut total = 0u64;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += u64::from(w);
                total
            })
            .collect();
        Self { cumulative }
    }

    /// Pick an index with probability proportional to its weight.
    pub fn pick(&self, rng: &mut StdRng) -> usize {
        match self.cumulative.as_slice() {
            [] | [_] => 0,
            all => {
                let total = all[all.len() - 1];
                let x = rng.random_range(0..total);
                all.partition_point(|&c| c <= x)
            }
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

    #[test]
    fn extraction_by_json_path_and_regex() {
        let j = Extractor::Json(JsonPath::parse("$.auth.token").unwrap());
        assert_eq!(
            j.extract(br#"{"auth":{"token":"xyz"}}"#).as_deref(),
            Some("xyz")
        );
        assert_eq!(j.extract(b"not json"), None);
        let n = Extractor::Json(JsonPath::parse("$.version").unwrap());
        assert_eq!(n.extract(br#"{"version":3}"#).as_deref(), Some("3"));
        let r = Extractor::Regex(Regex::new("id=(\\d+)").unwrap());
        assert_eq!(r.extract(b"ok id=12 done").as_deref(), Some("12"));
        assert_eq!(r.extract(b"nothing"), None);
    }

    #[test]
    fn picker_follows_weights() {
        let p = Picker::new([8, 2]);
        let mut rng = StdRng::seed_from_u64(3);
        let firsts = (0..10_000).filter(|_| p.pick(&mut rng) == 0).count();
        // Binomial sd ≈ 40; 5 sd margin.
        assert!((firsts as i64 - 8000).abs() < 200, "{firsts}");
        assert_eq!(Picker::new([5]).pick(&mut rng), 0);
    }
}
