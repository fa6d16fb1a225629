//! A file's problems: where each is ([`Position`]), what it is ([`Problem`]), and all of one
//! file's problems at once ([`ConfigError`]).

use std::fmt;
use std::path::PathBuf;

/// Where in a file something was found. Lines and columns are 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line number (0 when unknown).
    pub line: u64,
    /// 1-based column number (0 when unknown).
    pub column: u64,
}

impl Position {
    /// The position of a YAML location as reported by the parser.
    pub fn of(location: serde_saphyr::Location) -> Self {
        Self {
            line: location.line(),
            column: location.column(),
        }
    }
}

/// One problem in a file: where, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Position in the file, when known.
    pub position: Position,
    /// Field path such as `method[2].fault.attributes.rate` (empty when unknown).
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

/// A file that could not be read, parsed or validated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file (or a label such as `<request body>`).
    pub file: PathBuf,
    /// Every problem found, in file order.
    pub problems: Vec<Problem>,
    /// The parser's own rendering with a source snippet, when it gave one.
    pub snippet: Option<String>,
}

impl ConfigError {
    /// A single problem in `file`.
    pub fn one(
        file: impl Into<PathBuf>,
        position: Position,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            problems: vec![Problem {
                position,
                field: field.into(),
                message: message.into(),
            }],
            snippet: None,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            if problem.position.line > 0 {
                write!(f, ":{}:{}", problem.position.line, problem.position.column)?;
            }
            write!(f, ": ")?;
            if !problem.field.is_empty() {
                write!(f, "{}: ", problem.field)?;
            }
            write!(f, "{}", problem.message)?;
        }
        if let Some(snippet) = &self.snippet {
            write!(f, "\n{snippet}")?;
        }
        Ok(())
    }
}
