//! A located tree ([`super::node`]) turned into a typed value, a failure told at the place it
//! was written: `file:line:col: field.path: message`. Shared by the files checked field by
//! field (experiments' sections, `load --scenario`), so that a value of the wrong type is
//! refused the same way everywhere: a quoted `"yes"` or a `0` where `true` or `false` belongs
//! is `tls.insecure: expected true or false, got "yes"`, never taken as a boolean.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::node::{Locations, join, locate};
use super::{ConfigError, Position};

/// One value that could not be read as its type: where, which field, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeProblem {
    /// Where the field (or, for an unknown field, its key) was written.
    pub position: Position,
    /// The field's path from the file's root (`tls.insecure`, `scenarios[0].weight`).
    pub field: String,
    /// What is wrong, in plain words.
    pub message: String,
}

/// Deserialize `value` (found at `path`, located by `locations`) as `T`.
///
/// # Errors
/// The first field that does not fit, as a [`TypeProblem`].
pub fn deserialize<T: DeserializeOwned>(
    path: &str,
    value: &Value,
    locations: &Locations,
) -> Result<T, TypeProblem> {
    serde_path_to_error::deserialize::<_, T>(value.clone()).map_err(|e| {
        let inner = e.path().to_string();
        let mut field = match inner.as_str() {
            "." => path.to_string(),
            i if i.starts_with('[') => format!("{path}{i}"),
            i => join(path, i),
        };
        let message = e.into_inner().to_string();
        let mut position = locate(locations, &field);
        if let Some(name) = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split('`').next())
        {
            if !field.ends_with(name) {
                field = join(&field, name);
            }
            position = locations
                .get(&format!("{field}#key"))
                .copied()
                .unwrap_or(position);
        }
        TypeProblem {
            position,
            field,
            message: plain(&message),
        }
    })
}

/// Read `file` (YAML 1.2 with strict booleans, or JSON) into `T`, each problem at its place.
///
/// # Errors
/// [`ConfigError`]: the file unreadable or not YAML, or a field of the wrong type or unknown.
pub fn read<T: DeserializeOwned>(file: &std::path::Path) -> Result<T, ConfigError> {
    let text = super::read_text(file)?;
    let root = super::node::parse(file, &text)?;
    let mut locations = Locations::new();
    let json = root.to_json("", &mut locations);
    deserialize("", &json, &locations)
        .map_err(|p| ConfigError::one(file, p.position, p.field, p.message))
}

/// serde's type errors in the file's words: `invalid type: string "yes", expected a boolean`
/// is `expected true or false, got "yes"`. Other messages are kept.
pub fn plain(message: &str) -> String {
    let Some(rest) = message.strip_prefix("invalid type: ") else {
        return message.to_string();
    };
    let Some((got, expected)) = rest.rsplit_once(", expected ") else {
        return message.to_string();
    };
    // `string "yes"`, `integer `0``, `floating point `1.5``: the value as written.
    let got = ["string ", "integer ", "floating point "]
        .iter()
        .find_map(|kind| got.strip_prefix(kind))
        .map_or(got, |v| v.trim_matches('`'))
        .to_string();
    let expected = match expected {
        "a boolean" => "true or false",
        other => other,
    };
    format!("expected {expected}, got {got}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Tls {
        #[serde(default)]
        insecure: bool,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct File {
        tls: Tls,
    }

    fn problem(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("s.yaml");
        std::fs::write(&file, text).unwrap();
        let e = read::<File>(&file).unwrap_err().to_string();
        e.replace(&file.display().to_string(), "s.yaml")
    }

    /// A boolean is `true` or `false`: a quoted string, YAML 1.1's `yes`/`on`, a number are
    /// type errors naming the field at its place.
    #[test]
    fn a_boolean_is_true_or_false_and_anything_else_names_the_field() {
        for (value, got) in [
            (r#""yes""#, r#""yes""#),
            ("yes", r#""yes""#),
            (r#""on""#, r#""on""#),
            ("on", r#""on""#),
            (r#""true""#, r#""true""#),
            ("0", "0"),
            ("1.5", "1.5"),
        ] {
            let said = problem(&format!("tls:\n  insecure: {value}\n"));
            assert!(
                said.starts_with(&format!(
                    "s.yaml:2:13: tls.insecure: expected true or false, got {got}"
                )),
                "{value}: {said}"
            );
        }
        let said = problem("tls: {insecure: true, nope: 1}\n");
        assert!(
            said.starts_with("s.yaml:1:23: tls.nope: unknown field `nope`"),
            "{said}"
        );
        assert_eq!(plain("missing field `tls`"), "missing field `tls`");
        assert_eq!(
            plain("invalid type: sequence, expected a string"),
            "expected a string, got sequence"
        );
    }
}
