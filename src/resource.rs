//! Watching resources: the host's and the watched processes' CPU, memory, threads, file
//! descriptors and TCP connections, sampled on the run's clock, and the least-squares slope
//! that tells a leak from noise (`docs/resources.md`).
//!
//! | file | owns |
//! |---|---|
//! | `target` | what is watched (a pid, a name, a service) and how often |
//! | `series` | the recorded series, their peak and end figures and RSS slope |
//! | `sampler` | one reading of the host and of each watched process tree (sysinfo + `/proc`) |
//! | `procfs` | the figures read from `/proc`: descriptors, threads, TCP states |
//! | `live` | the sampling task and the shared record probes read during a run |
//! | `fit` | least squares, the slope's 95% interval (Student's t) and R² |

pub mod fit;
mod live;
mod procfs;
mod sampler;
mod series;
mod target;

pub use fit::Fit;
pub use live::{Live, run};
pub use sampler::{Query, Sampler};
pub use series::{Change, Figures, HostSample, Presence, ProcessSample, ProcessSeries, Resources};
pub use target::{DEFAULT_INTERVAL, MIN_INTERVAL, Target, Watch};

/// A number of bytes for people, in decimal units: `512 B`, `1.5 kB`, `12.3 MB`, `2.00 GB`
/// (negative values, such as a shrinking slope, keep their sign).
pub fn human_bytes(bytes: f64) -> String {
    let (sign, b) = if bytes < 0.0 {
        ("-", -bytes)
    } else {
        ("", bytes)
    };
    let (v, unit) = if b >= 1e9 {
        (b / 1e9, "GB")
    } else if b >= 1e6 {
        (b / 1e6, "MB")
    } else if b >= 1e3 {
        (b / 1e3, "kB")
    } else {
        return format!("{sign}{b:.0} B");
    };
    format!("{sign}{v:.2} {unit}")
}
