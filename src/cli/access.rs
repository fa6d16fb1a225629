//! The control API's access flags, shared by the commands that serve it (`serve`, `gameday`:
//! [`AccessArgs`]) and those that call a running one (`fault`, `note`, `journal`:
//! [`ClientArgs`] and its [`Client`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::experiment::client::Http;

use crate::control::ServeOptions;
use crate::exit::InvalidInput;

/// The environment variable a bearer token is read from when no flag gives one.
const TOKEN_ENV: &str = "SHAKEDOWN_TOKEN";

/// The bearer token: `--token` or `--token-file`, else the `SHAKEDOWN_TOKEN` variable.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TokenArgs {
    /// Bearer token (`Authorization: Bearer …`) of the control API, or of the endpoint a load
    /// agent serves; without this flag or --token-file, the SHAKEDOWN_TOKEN environment
    /// variable is read (a flag wins over it). Prefer SHAKEDOWN_TOKEN or --token-file: a flag's
    /// value shows in the process list.
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// A file holding the bearer token (surrounding whitespace ignored); wins over
    /// SHAKEDOWN_TOKEN.
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

impl TokenArgs {
    /// The token given, if any: by `--token` or `--token-file` (not both), else by the
    /// `SHAKEDOWN_TOKEN` environment variable (ignored when a flag gives one).
    ///
    /// # Errors
    /// [`InvalidInput`] naming where the token came from (`--token`, `--token-file FILE`,
    /// `SHAKEDOWN_TOKEN`) when both flags are given, the file cannot be read, or the token is
    /// empty or not printable ASCII without spaces.
    pub fn resolve(&self) -> Result<Option<String>, InvalidInput> {
        self.resolve_with(std::env::var_os(TOKEN_ENV))
    }

    /// [`TokenArgs::resolve`] with `env` as the variable's value.
    fn resolve_with(
        &self,
        env: Option<std::ffi::OsString>,
    ) -> Result<Option<String>, InvalidInput> {
        let (source, token) = match (&self.token, &self.token_file, env) {
            (Some(_), Some(_), _) => {
                return Err(InvalidInput::new(
                    "give the token once: --token or --token-file, not both",
                ));
            }
            (Some(t), None, _) => ("--token".to_string(), t.clone()),
            (None, Some(path), _) => {
                let source = format!("--token-file {}", path.display());
                let text = std::fs::read_to_string(path)
                    .map_err(|e| InvalidInput::new(format!("{source}: {e}")))?;
                (source, text)
            }
            (None, None, Some(value)) => {
                let text = value.into_string().map_err(|_| {
                    InvalidInput::new(format!("{TOKEN_ENV}: the token is not valid UTF-8"))
                })?;
                (TOKEN_ENV.to_string(), text)
            }
            (None, None, None) => return Ok(None),
        };
        crate::bearer::Token::new(&token)
            .map(|t| Some(t.as_str().to_string()))
            .map_err(|e| InvalidInput::new(format!("{source}: {e}")))
    }

    /// The flag that gave a token (`--token`, `--token-file`), if one did: the variable
    /// does not count.
    pub fn flag(&self) -> Option<&'static str> {
        match (&self.token, &self.token_file) {
            (Some(_), Some(_)) => Some("--token, --token-file"),
            (Some(_), None) => Some("--token"),
            (None, Some(_)) => Some("--token-file"),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(token: Option<&str>, file: Option<&std::path::Path>) -> TokenArgs {
        TokenArgs {
            token: token.map(str::to_string),
            token_file: file.map(std::path::Path::to_path_buf),
        }
    }

    fn env(v: &str) -> Option<std::ffi::OsString> {
        Some(v.into())
    }

    /// A flag wins over SHAKEDOWN_TOKEN; every refusal names where the token came from.
    #[test]
    fn a_flag_wins_over_the_variable_and_errors_name_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "from-file\n").unwrap();
        let resolved = |a: &TokenArgs, e| a.resolve_with(e).map_err(|e| e.to_string());
        assert_eq!(
            resolved(&args(None, Some(&file)), env("from-env")),
            Ok(Some("from-file".into()))
        );
        assert_eq!(
            resolved(&args(Some("from-flag"), None), env("from-env")),
            Ok(Some("from-flag".into()))
        );
        assert_eq!(
            resolved(&args(None, None), env("from-env")),
            Ok(Some("from-env".into()))
        );
        assert_eq!(resolved(&args(None, None), None), Ok(None));
        let both = resolved(&args(Some("a"), Some(&file)), None).unwrap_err();
        assert!(both.contains("--token or --token-file, not both"), "{both}");
        let empty = resolved(&args(None, None), env("")).unwrap_err();
        assert_eq!(empty, "SHAKEDOWN_TOKEN: the token is empty");
        let empty = resolved(&args(Some(" "), None), None).unwrap_err();
        assert_eq!(empty, "--token: the token is empty");
        let missing = dir.path().join("missing");
        let said = resolved(&args(None, Some(&missing)), env("x")).unwrap_err();
        assert!(
            said.starts_with(&format!("--token-file {}: ", missing.display())),
            "{said}"
        );
        let two_lines = dir.path().join("two");
        std::fs::write(&two_lines, "one\ntwo\n").unwrap();
        let said = resolved(&args(None, Some(&two_lines)), None).unwrap_err();
        assert_eq!(
            said,
            format!(
                "--token-file {}: the token contains '\\n': use printable ASCII without spaces",
                two_lines.display()
            )
        );
        assert_eq!(args(None, Some(&file)).flag(), Some("--token-file"));
        assert_eq!(args(None, None).flag(), None);
    }
}

/// Who may use a served control API.
#[derive(Debug, Clone, clap::Args)]
pub struct AccessArgs {
    /// The bearer token (required to listen on anything but loopback).
    #[command(flatten)]
    pub token: TokenArgs,
    /// A host name clients reach the server by, accepted in the Host header beside loopback
    /// names and the listen address (repeatable).
    #[arg(long = "allow-host", value_name = "NAME")]
    pub allow_hosts: Vec<String>,
}

impl AccessArgs {
    /// `options` with the token and allowed hosts set.
    ///
    /// # Errors
    /// As [`TokenArgs::resolve`].
    pub fn apply(&self, options: ServeOptions) -> Result<ServeOptions, InvalidInput> {
        Ok(ServeOptions {
            token: self.token.resolve()?,
            allowed_hosts: self.allow_hosts.clone(),
            ..options
        })
    }
}

/// Where a running server's control API is, and its token (`fault`, `note`, `journal`).
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The control API's base URL.
    #[arg(
        long,
        global = true,
        env = "SHAKEDOWN_URL",
        default_value = "http://127.0.0.1:8474"
    )]
    pub url: String,
    /// The bearer token.
    #[command(flatten)]
    pub token: TokenArgs,
}

/// How long one call to the control API may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of a running server's control API.
#[derive(Debug, Clone)]
pub(super) struct Client {
    base: String,
    headers: BTreeMap<String, String>,
    http: Http,
}

impl Client {
    /// A client for `args`.
    ///
    /// # Errors
    /// [`InvalidInput`] for a URL that is not `http://HOST[:PORT]` or a bad token input.
    pub(super) fn new(args: &ClientArgs) -> Result<Self, InvalidInput> {
        let base = args.url.trim_end_matches('/').to_string();
        let uri: http::Uri = base
            .parse()
            .map_err(|e| InvalidInput::new(format!("--url {:?}: {e}", args.url)))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() || uri.path() != "/" {
            return Err(InvalidInput::new(format!(
                "--url {:?}: expected http://HOST[:PORT] (the control API's address)",
                args.url
            )));
        }
        let mut headers = BTreeMap::new();
        headers.insert("content-type".into(), "application/json".into());
        headers.insert(
            "user-agent".into(),
            format!("shakedown-cli/{}", env!("CARGO_PKG_VERSION")),
        );
        if let Some(token) = args.token.resolve()? {
            headers.insert("authorization".into(), format!("Bearer {token}"));
        }
        Ok(Self {
            base,
            headers,
            http: Http::default(),
        })
    }

    /// Call `METHOD PATH` with an optional JSON body; the answer's body on 2xx.
    ///
    /// # Errors
    /// The server unreachable, too slow, refusing the token or the host (401, 403) or failing
    /// (5xx): exit 3. Any other 4xx (no such proxy, a bad attribute, a name taken) is about
    /// the input: [`InvalidInput`], exit 2. Both carry the server's message.
    pub(super) async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Bytes> {
        let url = format!("{}{path}", self.base);
        let body = body.map(|b| Bytes::from(b.to_string()));
        let answer = self
            .http
            .send(method.clone(), &url, &self.headers, body, CALL_TIMEOUT)
            .await
            .map_err(|e| {
                anyhow::anyhow!("{method} {url}: {e} (is `shakedown serve` running there?)")
            })?;
        if (200..300).contains(&answer.status) {
            return Ok(answer.body);
        }
        let text = String::from_utf8_lossy(&answer.body);
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.trim().to_string());
        let message = format!("{method} {url}: {} {message}", answer.status);
        if (400..500).contains(&answer.status) && ![401, 403].contains(&answer.status) {
            Err(InvalidInput::new(message).into())
        } else {
            Err(anyhow::anyhow!(message))
        }
    }

    /// [`Client::call`], the answer parsed as JSON.
    pub(super) async fn json(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let bytes = self.call(method, path, body).await?;
        Ok(serde_json::from_slice(&bytes)?)
    }
}
