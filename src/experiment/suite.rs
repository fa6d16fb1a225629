//! A suite (`shakedown test`): collecting experiment files, filtering them pytest-style
//! (`-k EXPR`, `--tag T`), running each and gathering the reports into one document.

use std::path::{Path, PathBuf};

use super::record::{Document, ExperimentRecord, Status};
use super::repeat::{outcome, run_experiment};
use super::run::{Progress, interrupted_by};
use super::validate::{self, LoadOptions};
use crate::config::ConfigError;
use crate::exit::{InvalidInput, Outcome};

/// Which collected experiments run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `-k EXPR`: title or file name must match.
    pub filter: Option<Filter>,
    /// `--tag T` (any of them); empty selects every tag.
    pub tags: Vec<String>,
}

impl Selection {
    /// Why `experiment` in `file` is deselected, or `None` when it runs.
    fn deselects(&self, file: &Path, title: &str, tags: &[String]) -> Option<&'static str> {
        let haystack = format!("{title} {}", file.display());
        if !self.filter.as_ref().is_none_or(|f| f.matches(&haystack)) {
            return Some("deselected by -k");
        }
        if !self.tags.is_empty() && !tags.iter().any(|t| self.tags.contains(t)) {
            return Some("no matching --tag");
        }
        None
    }
}

/// What happened to one file of a suite, as it happens.
#[derive(Debug)]
pub enum Event<'a> {
    /// The file did not validate.
    Invalid(&'a Path, &'a ConfigError),
    /// The experiment ran.
    Ran(&'a Path, &'a ExperimentRecord),
}

/// Run every selected file in order (each with fresh `options()`), calling `on` as each ends;
/// once a signal has interrupted one, the rest are skipped (`not run: the suite was interrupted`).
/// Returns the suite's document and the worst outcome; [`Outcome::NothingSelected`] when every
/// file validated and none was selected.
pub async fn run(
    files: &[PathBuf],
    selection: &Selection,
    options: impl Fn() -> LoadOptions,
    mut on: impl FnMut(Event<'_>),
) -> anyhow::Result<(Document, Outcome)> {
    let mut reports = Vec::new();
    let mut worst = Outcome::Passed;
    for file in files {
        let options = options();
        let loaded = validate::load_file(file, &options)
            .and_then(|e| super::baseline::needs_no_baseline(&e).map(|()| e));
        let experiment = match loaded {
            Ok(e) => e,
            Err(e) => {
                on(Event::Invalid(file, &e));
                reports.push(ExperimentRecord::not_run(
                    file,
                    "",
                    &[],
                    Status::Invalid,
                    e.to_string(),
                ));
                worst = worse(Outcome::Invalid, worst);
                continue;
            }
        };
        if let Some(why) = selection.deselects(file, &experiment.title, &experiment.tags) {
            reports.push(ExperimentRecord::not_run(
                file,
                &experiment.title,
                &experiment.tags,
                Status::Skipped,
                why.into(),
            ));
            continue;
        }
        if let Some(signal) = interrupted_by() {
            // Ctrl-C stops the suite, not only the experiment it arrived in.
            reports.push(ExperimentRecord::not_run(
                file,
                &experiment.title,
                &experiment.tags,
                Status::Skipped,
                format!("not run: the suite was interrupted by {signal}"),
            ));
            continue;
        }
        let report = run_experiment(
            &[(experiment, options.run_dir)],
            Progress { verbose: false },
        )
        .await?;
        on(Event::Ran(file, &report));
        worst = worse(outcome(report.status), worst);
        reports.push(report);
    }
    let ran = reports.iter().any(|r| r.status != Status::Skipped);
    if !ran && worst == Outcome::Passed {
        worst = Outcome::NothingSelected;
    }
    Ok((Document::of(reports), worst))
}

/// The more serious of two outcomes (aborted > invalid > failed > passed).
fn worse(a: Outcome, b: Outcome) -> Outcome {
    if a.code() >= b.code() { a } else { b }
}

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
        let parsed = or(&tokens, &mut pos, 0).and_then(|f| match tokens.get(pos) {
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

fn or(t: &[&str], pos: &mut usize, depth: usize) -> Result<Filter, String> {
    let mut left = and(t, pos, depth)?;
    while t.get(*pos) == Some(&"or") {
        *pos += 1;
        left = Filter::Or(Box::new(left), Box::new(and(t, pos, depth)?));
    }
    Ok(left)
}

fn and(t: &[&str], pos: &mut usize, depth: usize) -> Result<Filter, String> {
    let mut left = not(t, pos, depth)?;
    while t.get(*pos) == Some(&"and") {
        *pos += 1;
        left = Filter::And(Box::new(left), Box::new(not(t, pos, depth)?));
    }
    Ok(left)
}

/// The deepest nesting of `not` and parentheses a `-k` expression may have (parsing, matching
/// and dropping the tree recurse once per level).
const MAX_DEPTH: usize = 64;

/// A word, `not X` or `( X )`, `depth` levels of `not` and parentheses in.
fn not(t: &[&str], pos: &mut usize, depth: usize) -> Result<Filter, String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "nested more than {MAX_DEPTH} levels deep (`not` and parentheses)"
        ));
    }
    match t.get(*pos).copied() {
        Some("not") => {
            *pos += 1;
            Ok(Filter::Not(Box::new(not(t, pos, depth + 1)?)))
        }
        Some("(") => {
            *pos += 1;
            let f = or(t, pos, depth + 1)?;
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

    /// Nesting is bounded (a `-k` of 30,000 `not`s overflowed the stack, exit 134); as deep as
    /// the bound still parses, and long flat chains are not nesting.
    #[test]
    fn k_nesting_is_bounded() {
        let deep = |n: usize| format!("{}x{}", "( not ".repeat(n), " )".repeat(n));
        // 32 levels of `( not`: 64 deep, 32 negations of a match.
        assert!(Filter::parse(&deep(MAX_DEPTH / 2)).unwrap().matches("x"));
        assert!(Filter::parse(&deep(MAX_DEPTH / 2 + 1)).is_err());
        for text in ["not ".repeat(30_000) + "x", "(".repeat(100_000) + "x"] {
            let error = Filter::parse(&text).unwrap_err().to_string();
            assert!(
                error.ends_with("nested more than 64 levels deep (`not` and parentheses)"),
                "{}",
                &error[error.len().saturating_sub(120)..]
            );
        }
        let chain = vec!["not x"; 5_000].join(" and ");
        assert!(Filter::parse(&chain).unwrap().matches("y"));
    }
}
