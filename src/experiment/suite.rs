//! Collecting experiment files and filtering them, pytest-style (`-k EXPR`, `--tag T`).

use std::path::{Path, PathBuf};

use crate::exit::InvalidInput;

/// Experiment files under the given paths: files as given, folders searched for `*.yaml`/`*.yml`
/// (recursively, in name order). A folder without any is an error: a suite of nothing would
/// otherwise pass.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InvalidInput> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, &mut out).map_err(|e| InvalidInput::new(format!("{}: {e}", p.display())))?;
            if out.len() == before {
                return Err(InvalidInput::new(format!(
                    "{}: no experiment files (*.yaml, *.yml) in this folder",
                    p.display()
                )));
            }
        } else if p.is_file() || p.exists() {
            // A device or a pipe is reported by the reader for what it is, never opened.
            out.push(p.clone());
        } else {
            return Err(InvalidInput::new(format!(
                "{}: no such file or folder",
                p.display()
            )));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
    Ok(())
}

/// A `-k` expression: words (case-insensitive substrings of the title or file name)
/// combined with `and`, `or`, `not` and parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// A substring.
    Word(String),
    /// Negation.
    Not(Box<Filter>),
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
}

impl Filter {
    /// Parse a `-k` expression.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let spaced = text.replace('(', " ( ").replace(')', " ) ");
        let tokens: Vec<&str> = spaced.split_whitespace().collect();
        let mut pos = 0;
        let parsed = or(&tokens, &mut pos).and_then(|f| match tokens.get(pos) {
            None => Ok(f),
            Some(extra) => Err(format!("unexpected `{extra}`")),
        });
        parsed.map_err(|e| InvalidInput::new(format!("-k {text:?}: {e}")))
    }

    /// Whether `haystack` (title and file name) matches.
    pub fn matches(&self, haystack: &str) -> bool {
        match self {
            Filter::Word(w) => haystack.to_lowercase().contains(&w.to_lowercase()),
            Filter::Not(f) => !f.matches(haystack),
            Filter::And(a, b) => a.matches(haystack) && b.matches(haystack),
            Filter::Or(a, b) => a.matches(haystack) || b.matches(haystack),
        }
    }
}

fn or(t: &[&str], pos: &mut usize) -> Result<Filter, String> {
    let mut left = and(t, pos)?;
    while t.get(*pos) == Some(&"or") {
        *pos += 1;
        left = Filter::Or(Box::new(left), Box::new(and(t, pos)?));
    }
    Ok(left)
}

fn and(t: &[&str], pos: &mut usize) -> Result<Filter, String> {
    let mut left = not(t, pos)?;
    while t.get(*pos) == Some(&"and") {
        *pos += 1;
        left = Filter::And(Box::new(left), Box::new(not(t, pos)?));
    }
    Ok(left)
}

fn not(t: &[&str], pos: &mut usize) -> Result<Filter, String> {
    match t.get(*pos).copied() {
        Some("not") => {
            *pos += 1;
            Ok(Filter::Not(Box::new(not(t, pos)?)))
        }
        Some("(") => {
            *pos += 1;
            let f = or(t, pos)?;
            if t.get(*pos) != Some(&")") {
                return Err("missing `)`".to_string());
            }
            *pos += 1;
            Ok(f)
        }
        Some(w) if !matches!(w, "and" | "or" | ")") => {
            *pos += 1;
            Ok(Filter::Word(w.to_string()))
        }
        Some(other) => Err(format!("expected a word, found `{other}`")),
        None => Err("expected a word, found the end".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_without_experiments_is_invalid_input() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not an experiment").unwrap();
        let err = collect(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(err.to_string().contains("no experiment files"), "{err}");
        std::fs::write(dir.path().join("b.yml"), "").unwrap();
        std::fs::write(dir.path().join("a.yaml"), "").unwrap();
        let found = collect(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = found.iter().filter_map(|p| p.file_name()).collect();
        assert_eq!(names, ["a.yaml", "b.yml"]);
    }

    #[test]
    fn k_expressions() {
        let f = Filter::parse("writes and not (slow or Flaky)").unwrap();
        assert!(f.matches("lost writes on kill"));
        assert!(!f.matches("lost writes, slow"));
        assert!(!f.matches("flaky writes"));
        assert!(!f.matches("breaker"));
        let error = |text: &str| Filter::parse(text).unwrap_err().to_string();
        assert_eq!(
            error("a and"),
            "-k \"a and\": expected a word, found the end"
        );
        assert_eq!(error("(a"), "-k \"(a\": missing `)`");
        assert_eq!(error("a or )"), "-k \"a or )\": expected a word, found `)`");
        assert_eq!(error("a b"), "-k \"a b\": unexpected `b`");
    }
}
