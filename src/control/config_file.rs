//! `shakedown serve --config FILE`: proxies and their toxics, validated before anything starts.
//!
//! The file is Toxiproxy's config format, a list of proxies, in YAML or JSON,
//! extended with a `toxics` list per proxy (Toxiproxy ignores toxics in its
//! config file; shakedown applies them). Each entry is checked exactly like
//! a `/populate` body, and a problem fails start-up as
//! `file:line:col: field: message`.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::wire::{self, ProxyRequest};
use crate::config::{self, ConfigError};

/// One proxy entry, validated while it is parsed so errors carry a position.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Value")]
struct FileProxy(ProxyRequest);

impl TryFrom<Value> for FileProxy {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, Self::Error> {
        wire::proxy_request(&value).map(FileProxy).map_err(|e| {
            let m = e.message;
            m.strip_prefix("bad request body: ")
                .map(str::to_string)
                .unwrap_or(m)
        })
    }
}

/// Read and validate a config file.
pub fn load(path: &Path) -> Result<Vec<ProxyRequest>, ConfigError> {
    let proxies: Vec<FileProxy> = config::read(path)?;
    parse_checked(path, proxies)
}

/// Validate config text (labelled `file` in errors) in the given format.
pub fn parse(
    file: &Path,
    text: &str,
    format: config::Format,
) -> Result<Vec<ProxyRequest>, ConfigError> {
    let proxies: Vec<FileProxy> = config::parse(file, text, format)?;
    parse_checked(file, proxies)
}

fn parse_checked(file: &Path, proxies: Vec<FileProxy>) -> Result<Vec<ProxyRequest>, ConfigError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(proxies.len());
    for (i, FileProxy(p)) in proxies.into_iter().enumerate() {
        if !seen.insert(p.name.clone()) {
            return Err(ConfigError::one(
                file,
                config::Position::default(),
                format!("[{i}].name"),
                format!("duplicate proxy name {:?}", p.name),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Format;

    #[test]
    fn bad_toxics_fail_with_file_line_and_field() {
        let text = "- name: db\n  upstream: 127.0.0.1:5432\n  toxics:\n    - type: bandwidth\n      attributes: {rate: 0}\n";
        let err = parse(Path::new("proxies.yaml"), text, Format::Yaml).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("proxies.yaml:"), "{shown}");
        assert!(
            shown.contains("toxics[0].attributes.rate: must be > 0"),
            "{shown}"
        );
        assert!(err.problems[0].position.line >= 1, "{shown}");

        let ok = "- {name: db, listen: '127.0.0.1:0', upstream: '127.0.0.1:5432', toxics: [{type: latency, attributes: {latency: 5}}]}\n";
        let proxies = parse(Path::new("p.yaml"), ok, Format::Yaml).unwrap();
        assert_eq!(proxies[0].toxics[0].toxic.name, "latency_downstream");
    }

    #[test]
    fn names_and_duplicate_toxics_follow_the_api_rules() {
        let bad_name = "- {name: 'my db', upstream: '127.0.0.1:1'}\n";
        let shown = parse(Path::new("p.yaml"), bad_name, Format::Yaml)
            .unwrap_err()
            .to_string();
        assert!(shown.contains("name: \"my db\" contains ' '"), "{shown}");
        let dup = "- name: db\n  upstream: 127.0.0.1:1\n  toxics: [{name: a, type: noop}, {name: a, type: noop}]\n";
        let shown = parse(Path::new("p.yaml"), dup, Format::Yaml)
            .unwrap_err()
            .to_string();
        assert!(shown.contains("toxic already exists"), "{shown}");
        let huge = "- name: db\n  upstream: 127.0.0.1:1\n  toxics: [{type: limit_data, attributes: {bytes: 18446744073709551615}}]\n";
        let shown = parse(Path::new("p.yaml"), huge, Format::Yaml)
            .unwrap_err()
            .to_string();
        assert!(
            shown.contains("attributes.bytes: must be at most"),
            "{shown}"
        );
    }
}
