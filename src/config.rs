//! Reading configuration and experiment files into typed values.
//!
//! Every file shakedown reads goes through [`parse`]: YAML (through
//! `serde-saphyr`) or JSON (through `serde_json`), chosen by the file's
//! extension. A failure is a [`ConfigError`] naming the file and, for each
//! problem, the line, column and field path, so a user can jump straight to
//! it. Semantic validation after parsing (times out of order, a fault on an
//! undeclared proxy) adds [`Problem`]s to the same error type so that all of
//! a file's problems are reported at once.
//!
//! Files checked field by field (experiments, `load --scenario`) are first read into a
//! [`node`] tree that keeps each value's line and column, then typed by [`typed`]. The YAML parser sits behind this one
//! module so it can be swapped.

mod error;
pub mod name;
pub mod node;
pub mod schema;
mod text;
pub mod typed;
pub mod unique_keys;

use std::path::Path;

use serde::de::DeserializeOwned;

pub use error::{ConfigError, Position, Problem};
pub use text::{MAX_FILE_BYTES, read_text, read_text_within};

/// The format a file is parsed as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML 1.2 (also accepts JSON, which is YAML).
    Yaml,
    /// Strict JSON.
    Json,
}

impl Format {
    /// The format implied by a file's extension: `.json` is JSON, anything else YAML.
    pub fn of_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// Read and parse a file, choosing the format by extension.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = read_text(path)?;
    parse(path, &text, Format::of_path(path))
}

/// Parse `text` (labelled `file` in errors) as `format`.
pub fn parse<T: DeserializeOwned>(
    file: impl AsRef<Path>,
    text: &str,
    format: Format,
) -> Result<T, ConfigError> {
    let file = file.as_ref();
    match format {
        Format::Yaml => serde_saphyr::from_str(text).map_err(|e| yaml_error(file, &e)),
        Format::Json => serde_json::from_str(text).map_err(|e| {
            ConfigError::one(
                file,
                Position {
                    line: e.line() as u64,
                    column: e.column() as u64,
                },
                "",
                strip_json_position(&e.to_string()),
            )
        }),
    }
}

fn yaml_error(file: &Path, error: &serde_saphyr::Error) -> ConfigError {
    let rendered = error.to_string();
    // The parser renders "error: line L column C: message\n --> <input>:L:C\n snippet".
    let mut lines = rendered.lines();
    let head = lines.next().unwrap_or_default();
    let message = head
        .split_once(": ")
        .map(|(_, rest)| rest)
        .unwrap_or(head)
        .trim_start_matches("error: ");
    let message = match message.split_once(": ") {
        Some((loc, rest)) if loc.starts_with("line ") => rest,
        _ => message,
    };
    let plain = plain(error).unwrap_or_else(|| message.to_string());
    // The snippet repeats the message under its caret: in the same plain words.
    let snippet: String = lines
        .skip_while(|l| l.trim_start().starts_with("-->"))
        .map(|l| l.replace(message, &plain))
        .collect::<Vec<_>>()
        .join("\n");
    ConfigError {
        file: file.to_path_buf(),
        problems: vec![Problem {
            position: error.location().map(Position::of).unwrap_or_default(),
            field: String::new(),
            message: plain,
        }],
        snippet: (!snippet.trim().is_empty()).then_some(snippet),
    }
}

/// The parser's message in plain words where its own speaks to a programmer (a setting of
/// the library to change, a Rust type or debug value, an API to call); `None` keeps its message.
pub(crate) fn plain(error: &serde_saphyr::Error) -> Option<String> {
    use serde_saphyr::Error as E;
    use serde_saphyr::budget::BudgetBreach as B;
    let mut e = error;
    while let E::WithSnippet { error, .. } | E::AliasError { error, .. } = e {
        e = error;
    }
    let too = "the file is too large or too intricate to read safely";
    Some(match e {
        E::DuplicateMappingKey { key: Some(k), .. } => {
            format!("`{k}` is written twice in the same mapping; each key may appear once")
        }
        E::DuplicateMappingKey { key: None, .. } => {
            "a key is written twice in the same mapping; each key may appear once".to_string()
        }
        E::Budget { breach, .. } => match breach {
            B::Nodes { nodes } => format!(
                "{too}: it expands to more than {} values (aliases counted each time they are \
                 used; an alias bomb?)",
                nodes - 1
            ),
            B::Aliases { aliases } => format!("{too}: it uses more than {} aliases", aliases - 1),
            B::AliasAnchorRatio { aliases, anchors } => {
                format!("{too}: {aliases} aliases for {anchors} anchors (an alias bomb?)")
            }
            B::Depth { depth } => format!("{too}: it nests {depth} levels deep"),
            B::Anchors { anchors } => {
                format!("{too}: it defines more than {} anchors", anchors - 1)
            }
            B::Documents { documents } => {
                format!("{too}: it holds more than {} documents", documents - 1)
            }
            _ => too.to_string(),
        },
        E::ExternalMessage { msg, .. } if msg == "recursion limit exceeded" => {
            format!("{too}: it nests lists or mappings too deep")
        }
        E::MultipleDocuments { .. } => {
            "a second YAML document starts here (after `---` or `...`); a file holds one".into()
        }
        E::NullIntoString { .. } => "expected text, found null (`~`, `null` or nothing)".into(),
        E::NonFiniteFloat { value, .. } => format!("`{value}` is not a finite number"),
        _ => return None,
    })
}

fn strip_json_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        rate: u32,
    }

    /// The YAML library's words for a programmer (an API to call, a Rust type, a library
    /// policy) never reach the user: each of these says what is wrong with the file instead.
    #[test]
    fn yaml_errors_speak_of_the_file_not_of_the_library() {
        let deep = format!(
            "title: t\ntags: {}{}\n",
            "[".repeat(5_000),
            "]".repeat(5_000)
        );
        let cases = [
            (
                "title: t\n---\ntitle: u\n",
                "3:1: a second YAML document starts here",
            ),
            (
                "title: t\n...\nx: [\n",
                "3:1: a second YAML document starts here",
            ),
            ("title: t\n~: x\n", "expected text, found null"),
            ("toxicity: .nan\n", "1:11: `.nan` is not a finite number"),
            ("rate: .inf\n", "1:7: `.inf` is not a finite number"),
            (
                deep.as_str(),
                "too intricate to read safely: it nests lists or mappings too deep",
            ),
        ];
        for (text, said) in cases {
            let shown = node::parse(Path::new("x.yaml"), text)
                .unwrap_err()
                .to_string();
            assert!(shown.contains(said), "{said:?} in {shown}");
            for leak in [
                "from_str",
                "Option<",
                "configured policy",
                "recursion limit",
            ] {
                assert!(!shown.contains(leak), "{leak:?} in {shown}");
            }
        }
    }

    #[test]
    fn yaml_errors_name_file_line_and_column() {
        let err = parse::<Doc>("exp.yaml", "name: a\nrate: -3\n", Format::Yaml).unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("exp.yaml:2:7: "), "{shown}");
        assert_eq!(err.problems[0].position.line, 2);

        let err =
            parse::<Doc>("exp.yaml", "name: a\nrate: 3\nratee: 4\n", Format::Yaml).unwrap_err();
        assert!(
            err.to_string()
                .contains("exp.yaml:3:1: unknown field `ratee`"),
            "{err}"
        );
    }

    #[test]
    fn json_errors_name_file_line_and_column() {
        let err = parse::<Doc>(
            "c.json",
            "{\"name\": \"a\",\n \"rate\": \"x\"}",
            Format::Json,
        )
        .unwrap_err();
        let shown = err.to_string();
        assert!(shown.starts_with("c.json:2:"), "{shown}");
        assert!(shown.contains("invalid type"), "{shown}");
    }

    #[test]
    fn format_follows_extension() {
        assert_eq!(Format::of_path(Path::new("a.JSON")), Format::Json);
        assert_eq!(Format::of_path(Path::new("a.yml")), Format::Yaml);
    }
}
