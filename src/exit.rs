//! The process exit codes, documented in `docs/exit-codes.md`, and how errors map onto them.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | passed: the command did what was asked and every expectation held |
//! | 1 | failed: an expectation or threshold did not hold |
//! | 2 | invalid input or usage: a bad file, flag or value; nothing was started |
//! | 3 | aborted or infrastructure failure: a stop condition fired, a signal arrived, a port was in use |
//! | 4 | incomplete: `import` wrote the experiment but left out items it lists on stderr |
//! | 5 | nothing selected: `test -k`/`--tag` matched no experiment, so nothing ran |

use std::process::ExitCode;

/// A documented outcome of a shakedown command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything held (exit 0).
    Passed,
    /// An expectation or threshold was breached (exit 1).
    Failed,
    /// Invalid input or usage (exit 2).
    Invalid,
    /// Aborted, interrupted, or the infrastructure failed (exit 3).
    Aborted,
    /// `import` wrote its output but could not translate everything (exit 4); each item left
    /// out is listed on stderr.
    Incomplete,
    /// Nothing was selected to run: a suite of nothing must not pass (exit 5, pytest's "no
    /// tests collected").
    NothingSelected,
}

impl Outcome {
    /// The numeric exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Passed => 0,
            Outcome::Failed => 1,
            Outcome::Invalid => 2,
            Outcome::Aborted => 3,
            Outcome::Incomplete => 4,
            Outcome::NothingSelected => 5,
        }
    }

    /// Map an error to its outcome: an [`InvalidInput`] anywhere in the chain
    /// means exit 2, anything else exit 3.
    pub fn of_error(error: &anyhow::Error) -> Self {
        let invalid = |cause: &(dyn std::error::Error + 'static)| {
            cause.is::<InvalidInput>() || cause.is::<crate::config::ConfigError>()
        };
        if error.chain().any(invalid) {
            Outcome::Invalid
        } else {
            Outcome::Aborted
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> Self {
        ExitCode::from(outcome.code())
    }
}

/// An error caused by what the user supplied (a flag, a value, a file): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub String);

impl InvalidInput {
    /// An invalid-input error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn invalid_input_anywhere_in_the_chain_is_exit_2() {
        let err = Err::<(), _>(InvalidInput::new("rate must be > 0"))
            .context("parsing --rate")
            .unwrap_err();
        assert_eq!(Outcome::of_error(&err), Outcome::Invalid);
        assert_eq!(
            Outcome::of_error(&anyhow::anyhow!("port in use")),
            Outcome::Aborted
        );
        assert_eq!(Outcome::Failed.code(), 1);
    }
}
