//! `shakedown serve --config FILE`: proxies and their toxics, validated before anything starts.
//!
//! The file is Toxiproxy's config format, a list of proxies, in YAML or JSON,
//! extended with a `toxics` list per proxy (Toxiproxy ignores toxics in its
//! config file; shakedown applies them). It is read into a located tree
//! ([`crate::config::node`]) and checked exactly as a `/populate` body is; every problem,
//! found while reading or when the proxies are created (a TLS setting on a TCP proxy, a
//! `listen` address in use), fails start-up as `file:line:col: [i].field: message`, at the
//! line and column where that field was written (at its proxy's entry when it was left out).

use std::path::{Path, PathBuf};

use super::error::ApiError;
use super::wire::{self, ProxyRequest};
use crate::config::node::{self, Locations};
use crate::config::{self, ConfigError};

/// A config file's proxies, and where each of their fields was written.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The file, as named on the command line.
    pub path: PathBuf,
    /// The proxies, in file order, validated as a `/populate` body is.
    pub proxies: Vec<ProxyRequest>,
    /// Field paths (`[0].toxics[1].attributes.rate`) to positions.
    locations: Locations,
    /// `proxies` when the file is `{proxies: [...]}`, else empty (a list): what the fields of
    /// a `/populate` error (`[0].listen`) are under in the file.
    base: &'static str,
}

impl ConfigFile {
    /// `error`, about these proxies (from the server creating them), as a problem of the file
    /// at its field's line and column.
    pub fn locate(&self, error: &ApiError) -> ConfigError {
        match &error.field {
            Some(field) => {
                let field = super::error::join(self.base, field);
                let at = node::locate(&self.locations, &field);
                ConfigError::one(&self.path, at, field, error.reason())
            }
            None => ConfigError::one(
                &self.path,
                config::Position::default(),
                "",
                error.message.clone(),
            ),
        }
    }
}

/// Read and validate a config file.
///
/// # Errors
/// The file cannot be read, is not YAML or JSON, or a proxy in it is invalid: each problem at
/// its line and column.
pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = config::read_text(path)?;
    parse(path, &text)
}

/// Validate config text (YAML, or JSON, which is YAML), labelled `file` in errors.
///
/// # Errors
/// As [`load`].
pub fn parse(file: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    let root = node::parse(file, text)?;
    let mut located = ConfigFile {
        path: file.to_path_buf(),
        proxies: Vec::new(),
        locations: Locations::new(),
        base: "",
    };
    let value = root.to_json("", &mut located.locations);
    if value.get("proxies").is_some() {
        located.base = "proxies";
    }
    located.proxies = wire::populate_request(&value).map_err(|e| located.locate(&e))?;
    Ok(located)
}

#[cfg(test)]
mod tests;
