//! `expect.regression`: a percentage and the names of figures a baseline can hold.

use std::collections::BTreeSet;

use super::super::baseline::figure;
use super::super::quantity;
use super::super::raw::RawRegression;
use super::super::spec::{Regression, Step};
use super::Ctx;

impl Ctx {
    /// `max` is a percentage; `figures` a non-empty list of distinct known figure names
    /// (`ttd.STEP`/`ttr.STEP` of a measured step of the method).
    pub(super) fn regression(&mut self, raw: RawRegression, method: &[Step]) -> Option<Regression> {
        let at = "expect.regression";
        let max = quantity::percentage(&raw.max)
            .map_err(|e| self.problem(&format!("{at}.max"), e))
            .ok();
        if raw.figures.is_empty() {
            self.problem(
                &format!("{at}.figures"),
                "name at least one figure, e.g. [p99, error_rate]",
            );
        }
        let steps: Vec<&str> = method
            .iter()
            .filter(|s| s.measure)
            .map(|s| s.name.as_str())
            .collect();
        let mut seen = BTreeSet::new();
        let mut clean = true;
        for (i, name) in raw.figures.iter().enumerate() {
            let path = format!("{at}.figures[{i}]");
            if !figure::is_known(name, &steps) {
                clean = false;
                self.problem(&path, unknown(name, &steps));
            } else if !seen.insert(name) {
                clean = false;
                self.problem(&path, format!("`{name}` is named twice"));
            }
        }
        Some(Regression {
            max: max?,
            figures: raw.figures,
        })
        .filter(|_| clean)
    }
}

/// Why `name` is not a figure, with the names that are.
fn unknown(name: &str, steps: &[&str]) -> String {
    let names: Vec<&str> = figure::CATALOGUE.iter().map(|d| d.name).collect();
    let per_step = if steps.is_empty() {
        "; the method has no measured step for ttd.STEP / ttr.STEP".to_string()
    } else {
        format!(
            ", or ttd.STEP / ttr.STEP for a measured step: {}",
            steps.join(", ")
        )
    };
    format!(
        "unknown figure `{name}`, expected one of {}{per_step}",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{LoadOptions, parse_str};

    const HEAD: &str = "title: t\nmethod:\n  - {at: 1s, name: kill kv, action: {command: [\"true\"]}, measure: true}\n  - {at: 1s, name: quiet, action: {command: [\"true\"]}}\nduration: 2s\n";

    fn problems(expect: &str) -> String {
        let text = format!("{HEAD}{expect}");
        match parse_str(Path::new("exp.yaml"), &text, &LoadOptions::default()) {
            Ok(e) => panic!("accepted: {:?}", e.expect.regression),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_rule_names_known_figures_and_a_percentage() {
        let text = format!(
            "{HEAD}expect:\n  regression: {{max: 12.5%, figures: [p99, error_rate, rss_peak, \"ttr.kill kv\", p99.9]}}\n"
        );
        let e = parse_str(Path::new("exp.yaml"), &text, &LoadOptions::default()).unwrap();
        let rule = e.expect.regression.unwrap();
        assert_eq!(rule.max, 0.125);
        assert_eq!(rule.figures.len(), 5);
    }

    /// Each bad rule is a problem at its line and column, with the field path.
    #[test]
    fn bad_rules_are_located_problems() {
        let cases = [
            (
                "expect:\n  regression: {max: 5%, figures: [p99, p98]}\n",
                "exp.yaml:7:40: expect.regression.figures[1]: unknown figure `p98`, expected one of p50, p90, p99",
            ),
            (
                "expect:\n  regression: {max: 5%, figures: [ttr.quiet]}\n",
                "expect.regression.figures[0]: unknown figure `ttr.quiet`, expected one of p50",
            ),
            (
                "expect:\n  regression: {max: 5%, figures: [ttr.quiet]}\n",
                "or ttd.STEP / ttr.STEP for a measured step: kill kv",
            ),
            (
                "expect:\n  regression: {max: 5%, figures: [p99, p99]}\n",
                "expect.regression.figures[1]: `p99` is named twice",
            ),
            (
                "expect:\n  regression: {max: 5%, figures: []}\n",
                "expect.regression.figures: name at least one figure",
            ),
            (
                "expect:\n  regression: {max: 5, figures: [p99]}\n",
                "exp.yaml:7:21: expect.regression.max: 5 is not a percentage such as `5%`",
            ),
            (
                "expect:\n  regression: {max: \"-5%\", figures: [p99]}\n",
                "expect.regression.max: `-5%` must be a percentage of 0% or more",
            ),
            (
                "expect:\n  regression: {max: lots%, figures: [p99]}\n",
                "expect.regression.max: \"lots%\" is not a percentage",
            ),
            (
                "expect:\n  regression: {figures: [p99]}\n",
                "expect.regression: missing field `max`",
            ),
            (
                "expect:\n  regression: {max: 5%, figures: [p99], over: 2}\n",
                "expect.regression.over: unknown field `over`",
            ),
        ];
        for (expect, said) in cases {
            let shown = problems(expect);
            assert!(shown.contains(said), "{expect}: {shown}");
        }
    }
}
