//! `shakedown load`'s live progress on the terminal while the run goes, and the signals that
//! interrupt it ([`Interrupts`]: Ctrl-C, SIGTERM, SIGHUP, …).

use std::io::IsTerminal;
use std::time::Duration;

use crate::interrupt::Interrupts;
use crate::load::{LoadReport, LoadRun};

/// Show progress until the run ends or one of `interrupts` arrives (then the run is stopped as
/// Ctrl-C always did); returns the report and the interrupting signal, if any.
pub(super) async fn drive(
    run: LoadRun,
    quiet: bool,
    interrupts: &mut Interrupts,
) -> (LoadReport, Option<&'static str>) {
    let tty = !quiet && std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut last_line = Duration::ZERO;
    let interrupted = loop {
        tokio::select! {
            signal = interrupts.first() => break Some(signal),
            _ = tick.tick() => {}
        }
        if run.is_finished() {
            break None;
        }
        let elapsed = run.elapsed();
        let w = run.window(Duration::from_secs(2));
        let line = format!(
            "{:>6.1}s  {:>8.0} req/s  p99 {:>9}  errors {:>6.2}%",
            elapsed.as_secs_f64(),
            w.rps,
            w.p99
                .map_or("-".into(), |d| format!("{:.1}ms", d.as_secs_f64() * 1e3)),
            w.error_rate * 100.0
        );
        match &bar {
            Some(b) => b.set_message(line),
            None if !quiet && elapsed >= last_line.saturating_add(Duration::from_secs(5)) => {
                last_line = elapsed;
                eprintln!("{line}");
            }
            None => {}
        }
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = if interrupted.is_some() {
        run.stop().await
    } else {
        run.finish().await
    };
    (report, interrupted)
}
