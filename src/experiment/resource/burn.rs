//! The CPU burn (`shakedown stress cpu`, run as a child of the runner): `cores` threads, each
//! busy `load` percent of every 100 ms period and asleep the rest, until a deadline.

use std::time::Duration;

use tokio::time::Instant;

/// The period of the duty cycle: short enough that a sampler at 1 s sees a steady load.
const PERIOD: Duration = Duration::from_millis(100);

/// Keep `cores` threads busy `load` percent (1..=100) of the time for `for_`, then return.
/// Says `ready` on stdout once the threads run.
pub fn run(cores: u32, load: u8, for_: Duration) {
    let deadline = Instant::now() + for_;
    let busy = PERIOD.mul_f64(f64::from(load.clamp(1, 100)) / 100.0);
    let threads: Vec<_> = (0..cores.max(1))
        .map(|_| std::thread::spawn(move || spin(busy, deadline)))
        .collect();
    super::stress::say_ready();
    for t in threads {
        let _ = t.join();
    }
}

/// One thread's duty cycle: spin for `busy`, sleep out the period; until `deadline`.
fn spin(busy: Duration, deadline: Instant) {
    let mut period = Instant::now();
    // Bounded by the deadline: one period per turn.
    while period < deadline {
        let until = period + busy;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        period += PERIOD;
        let now = Instant::now();
        if period > now {
            std::thread::sleep(period - now);
        } else {
            // Descheduled past a whole period (a loaded host): start afresh, do not catch up.
            period = now;
        }
    }
}
