//! The control API's access flags, shared by the commands that serve it (`serve`, `gameday`:
//! [`AccessArgs`]).

use std::path::PathBuf;

use crate::control::ServeOptions;
use crate::exit::InvalidInput;

/// The bearer token: `--token`, `SHAKEDOWN_TOKEN` or `--token-file`.
#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// Bearer token of the control API (`Authorization: Bearer …`). Prefer SHAKEDOWN_TOKEN or
    /// --token-file: a flag's value shows in the process list.
    #[arg(long, env = "SHAKEDOWN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A file holding the bearer token (surrounding whitespace ignored).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

impl TokenArgs {
    /// The token given, if any.
    ///
    /// # Errors
    /// [`InvalidInput`] when both a token and a file are given, the file cannot be read, or
    /// the token is empty.
    pub fn resolve(&self) -> Result<Option<String>, InvalidInput> {
        let token = match (&self.token, &self.token_file) {
            (Some(_), Some(_)) => {
                return Err(InvalidInput::new(
                    "give the token once: --token (or SHAKEDOWN_TOKEN) or --token-file, not both",
                ));
            }
            (Some(t), None) => t.trim().to_string(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| InvalidInput::new(format!("{}: {e}", path.display())))?
                .trim()
                .to_string(),
            (None, None) => return Ok(None),
        };
        if token.is_empty() {
            return Err(InvalidInput::new("the token is empty"));
        }
        if let Some(c) = token.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(InvalidInput::new(format!(
                "the token contains {c:?}: use printable ASCII without spaces"
            )));
        }
        Ok(Some(token))
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
