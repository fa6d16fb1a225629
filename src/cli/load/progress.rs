//! `shakedown load`'s live progress on the terminal while the run goes, and Ctrl-C.

use std::io::IsTerminal;
use std::time::Duration;

use crate::load::{LoadReport, LoadRun};

/// Show progress until the run ends or Ctrl-C; returns the report and whether it was interrupted.
pub(super) async fn drive(run: LoadRun, quiet: bool) -> (LoadReport, bool) {
    let tty = !quiet && std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.enable_steady_tick(Duration::from_millis(200));
        b
    });
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut last_line = Duration::ZERO;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let interrupted = loop {
        tokio::select! {
            _ = &mut ctrl_c => break true,
            _ = tick.tick() => {}
        }
        if run.is_finished() {
            break false;
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
    let report = if interrupted {
        run.stop().await
    } else {
        run.finish().await
    };
    (report, interrupted)
}
