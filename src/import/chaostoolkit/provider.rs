//! Chaos Toolkit providers and tolerances: `http` → a shakedown HTTP request (or a `curl`
//! command for an action), `process` → a command line, and the tolerances each can express.

use std::time::Duration;

use serde_json::{Value, json};

use super::super::yaml::Y;
use super::{Importer, seconds};

impl Importer {
    /// An `http` provider → `http: {url, method, headers, body}` and a timeout.
    pub(super) fn http(&mut self, path: &str, provider: &Value) -> Option<(Y, Option<Y>)> {
        let Some(url) = provider
            .get("url")
            .and_then(|u| self.string(&format!("{path}.url"), u))
        else {
            self.drop(format!("{path}.url"), "an HTTP provider without a `url`");
            return None;
        };
        let method = provider
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase();
        // Header values are text (a number is sent as its digits).
        let headers = provider.get("headers").filter(|h| h.is_object()).map(|h| {
            match self.value(&format!("{path}.headers"), h) {
                Value::Object(map) => map
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(plain(&v))))
                    .collect(),
                other => other,
            }
        });
        let json_body = headers.as_ref().is_some_and(|h| {
            h.as_object().into_iter().flatten().any(|(k, v)| {
                k.eq_ignore_ascii_case("content-type")
                    && v.as_str().is_some_and(|v| v.contains("json"))
            })
        });
        let (mut url, mut body) = (url, None);
        if let Some(args) = provider.get("arguments").filter(|a| !a.is_null()) {
            let args = self.value(&format!("{path}.arguments"), args);
            match (&args, method.as_str()) {
                (Value::Object(map), "GET") => {
                    let query: Vec<String> = map
                        .iter()
                        .map(|(k, v)| format!("{}={}", encode(k), encode(&plain(v))))
                        .collect();
                    url.push(if url.contains('?') { '&' } else { '?' });
                    url.push_str(&query.join("&"));
                }
                (Value::Object(map), _) if !json_body => {
                    let form: Vec<String> = map
                        .iter()
                        .map(|(k, v)| format!("{}={}", encode(k), encode(&plain(v))))
                        .collect();
                    body = Some(form.join("&"));
                }
                (Value::String(s), _) => body = Some(s.clone()),
                (other, _) => body = Some(other.to_string()),
            }
        }
        for key in ["verify_tls", "expected_status", "max_retries"] {
            if provider.get(key).is_some() {
                let why = if key == "verify_tls" {
                    "`verify_tls` is not kept (the experiment's `tls: {insecure: true}` turns \
                     verification off for every probe)"
                        .to_string()
                } else {
                    format!("`{key}` is not kept")
                };
                self.drop(format!("{path}.{key}"), why);
            }
        }
        let request = Y::map([
            ("url", Some(Y::str(url))),
            ("method", (method != "GET").then(|| Y::str(method))),
            ("headers", headers.as_ref().map(Y::json)),
            ("body", body.map(Y::str)),
        ]);
        Some((request, self.timeout(&format!("{path}.timeout"), provider)))
    }

    /// A provider's `timeout` in seconds (or `[connect, read]`, added up) as a duration.
    pub(super) fn timeout(&mut self, path: &str, provider: &Value) -> Option<Y> {
        let t = provider.get("timeout")?;
        let secs = match t {
            Value::Array(parts) => parts.iter().filter_map(Value::as_f64).sum(),
            other => other.as_f64().unwrap_or(-1.0),
        };
        if secs > 0.0 && secs <= super::MAX_SECONDS {
            Some(Y::str(seconds(Duration::from_secs_f64(secs))))
        } else {
            self.drop(path.to_string(), format!("{t} is not a timeout in seconds"));
            None
        }
    }

    /// A `process` provider → `[path, args…]` and a timeout.
    pub(super) fn process(&mut self, path: &str, provider: &Value) -> Option<(Y, Option<Y>)> {
        let Some(program) = provider
            .get("path")
            .and_then(|p| self.string(&format!("{path}.path"), p))
        else {
            self.drop(
                format!("{path}.path"),
                "a process provider without a `path`",
            );
            return None;
        };
        let apath = format!("{path}.arguments");
        let mut argv = vec![program];
        match provider.get("arguments") {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => {
                self.check_refs(&apath, s);
                argv.extend(words(&self.text(s)));
            }
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    argv.extend(self.string(&format!("{apath}[{i}]"), v));
                }
            }
            Some(Value::Object(map)) => {
                for (k, v) in map.clone() {
                    argv.push(format!("--{k}"));
                    argv.extend(self.string(&format!("{apath}.{k}"), &v));
                }
            }
            Some(other) => {
                self.drop(
                    apath,
                    format!("arguments {other} are not a string, list or mapping"),
                );
                return None;
            }
        }
        let argv = Y::List(argv.into_iter().map(Y::str).collect());
        Some((argv, self.timeout(&format!("{path}.timeout"), provider)))
    }

    /// The tolerance of an HTTP probe → `expect` (status, body regex, JSONPath value).
    pub(super) fn http_tolerance(&mut self, path: &str, t: &Value) -> Option<Option<Y>> {
        let expect = match t {
            Value::Number(_) if is_status(t) => json!({"status": t}),
            Value::Array(items) if !items.is_empty() && items.iter().all(is_status) => {
                json!({"status": items})
            }
            Value::Object(o) => match (type_of(t), target(t)) {
                (Some("range"), "status") => {
                    let range = o.get("range").and_then(Value::as_array);
                    let bounds =
                        range.and_then(|r| Some((r.first()?.as_u64()?, r.get(1)?.as_u64()?)));
                    match bounds {
                        Some((lo, hi)) if 100 <= lo && lo <= hi && hi <= 599 => {
                            json!({"status": (lo..=hi).collect::<Vec<_>>()})
                        }
                        _ => return self.tolerance_dropped(path, t),
                    }
                }
                (Some("regex"), "body") => json!({"body": o.get("pattern")}),
                (Some("jsonpath"), "body") if o.contains_key("expect") => {
                    let p = o.get("path").and_then(Value::as_str).unwrap_or_default();
                    let want = match &o["expect"] {
                        Value::Array(one) if one.len() == 1 => one[0].clone(),
                        other => other.clone(),
                    };
                    json!({"json": {p: want}})
                }
                _ => return self.tolerance_dropped(path, t),
            },
            _ => return self.tolerance_dropped(path, t),
        };
        Some(Some(Y::json(&self.value(path, &expect))))
    }

    /// The tolerance of a process probe → `expect` (exit code, stdout regex).
    pub(super) fn process_tolerance(&mut self, path: &str, t: &Value) -> Option<Option<Y>> {
        let expect = match t {
            Value::Number(n) if n.is_i64() => json!({"exit": n}),
            Value::Object(o) if type_of(t) == Some("regex") && target(t) == "stdout" => {
                json!({"stdout": o.get("pattern")})
            }
            _ => return self.tolerance_dropped(path, t),
        };
        Some(Some(Y::json(&self.value(path, &expect))))
    }

    fn tolerance_dropped(&mut self, path: &str, t: &Value) -> Option<Option<Y>> {
        self.drop(
            path.to_string(),
            format!(
                "tolerance {t} has no shakedown equivalent (an HTTP probe takes a status, a list or \
                 range of them, a body regex or a JSONPath with `expect`; a process probe an exit \
                 code or a stdout regex): the probe is left out"
            ),
        );
        None
    }

    /// An HTTP action as a `curl` command (shakedown's actions are commands).
    pub(super) fn curl(&mut self, path: &str, provider: &Value) -> Option<(Y, Option<Y>)> {
        let (request, timeout) = self.http(path, provider)?;
        let Y::Map(fields) = request else {
            return None;
        };
        let mut argv = vec![
            Y::str("curl"),
            Y::str("-sS"),
            Y::str("-o"),
            Y::str("/dev/null"),
        ];
        let mut url = Y::str("");
        for (key, value) in fields {
            match (key.as_str(), value) {
                ("url", v) => url = v,
                ("method", v) => argv.extend([Y::str("-X"), v]),
                ("headers", Y::Map(h)) => {
                    for (k, v) in h {
                        if let Y::Scalar(v) = v {
                            argv.extend([Y::str("-H"), Y::str(format!("{k}: {}", plain(&v)))]);
                        }
                    }
                }
                ("body", v) => argv.extend([Y::str("--data"), v]),
                _ => {}
            }
        }
        if let Some(Y::Scalar(Value::String(t))) = &timeout {
            let secs = humantime::parse_duration(t)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            argv.extend([Y::str("--max-time"), Y::str(secs.to_string())]);
        }
        argv.push(url);
        Some((Y::List(argv), timeout))
    }
}

fn type_of(t: &Value) -> Option<&str> {
    t.get("type").and_then(Value::as_str)
}

/// The `target` of a tolerance: `status`, `body` or `stdout` (a regex or JSONPath on an HTTP
/// probe without one looks at the body).
fn target(t: &Value) -> &str {
    t.get("target")
        .and_then(Value::as_str)
        .unwrap_or(match type_of(t) {
            Some("range") => "status",
            _ => "body",
        })
}

/// An HTTP status Chaos Toolkit could compare with: a whole number from 100 to 599.
fn is_status(v: &Value) -> bool {
    v.as_u64().is_some_and(|s| (100..=599).contains(&s))
}

/// `text` percent-encoded for a query string or a form (RFC 3986 unreserved characters and
/// `${…}` references kept as they are, so shakedown still expands them).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        if text[i..].starts_with("${") {
            depth += 1;
        }
        let keep = depth > 0 || c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
        if keep {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        if c == '}' && depth > 0 {
            depth -= 1;
        }
    }
    out
}

/// A scalar as plain text (strings without quotes).
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Split a command line on whitespace, honouring single and double quotes (as Chaos Toolkit's
/// `shlex.split` of a string `arguments`).
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quote, mut any) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, c) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded_but_references_kept() {
        assert_eq!(encode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
        assert_eq!(encode("x ${var.q:-a b} y"), "x%20${var.q:-a b}%20y");
    }

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(words("-c 'echo hi' x"), ["-c", "echo hi", "x"]);
        assert_eq!(words("  a \"b c\"  ''"), ["a", "b c", ""]);
    }
}
