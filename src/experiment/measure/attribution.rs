//! Which step a breach belongs to: the one most recently injected among the steps in effect
//! (grace included) at the breach's first sample.

use std::time::Duration;

use super::{Sample, Window};

/// One step of the method on the run's clock, as attribution sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// When it was in place.
    pub window: Window,
    /// An action, whose effect lasts until the next step starts; a fault's ends at its removal.
    pub lasting: bool,
}

/// For each sample, the step its breach belongs to (`None` for passing or unowned samples).
pub(super) fn breach_owners(
    samples: &[Sample],
    spans: &[Option<Span>],
    grace: Duration,
) -> Vec<Option<usize>> {
    let reach: Vec<Option<(Duration, Duration, Duration)>> = spans
        .iter()
        .map(|span| {
            let s = span.as_ref()?;
            let until = if s.lasting {
                // The next step to start after this one ends its effect; the last lasts forever.
                spans
                    .iter()
                    .flatten()
                    .map(|o| o.window.injected)
                    .filter(|&t| t > s.window.injected)
                    .min()
                    .map_or(Duration::MAX, |next| next.max(s.window.removed))
            } else {
                s.window.removed
            };
            // From one grace before the injection: a sample is stamped when it starts, and the
            // sampler and the timeline tick on the same clock, so a sample in flight as the
            // step lands is common and may see it.
            Some((
                s.window.injected,
                s.window.injected.saturating_sub(grace),
                until.saturating_add(grace),
            ))
        })
        .collect();
    let mut owners = vec![None; samples.len()];
    let mut current = None;
    for (i, sample) in samples.iter().enumerate() {
        if sample.pass {
            current = None;
            continue;
        }
        if i == 0 || samples[i - 1].pass {
            // A breach begins: the latest-injected step in effect at its first sample (grace
            // before and after included) owns it to its end; if none is, nobody does.
            current = reach
                .iter()
                .enumerate()
                .filter_map(|(step, r)| r.map(|(inj, from, until)| (step, inj, from, until)))
                .filter(|&(_, _, from, until)| from <= sample.at && sample.at <= until)
                .max_by_key(|&(step, injected, _, _)| (injected, step))
                .map(|(step, ..)| step);
        }
        owners[i] = current;
    }
    owners
}
