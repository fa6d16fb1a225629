//! The experiment runner: declarative experiments that measure detection, recovery and lost writes.
//!
//! | module | owns |
//! |---|---|
//! | `raw`, [`spec`], [`validate`], [`schema`] | the file format: as written, validated, the checks between, and its JSON Schema |
//! | `vars`, `quantity`, `toxics` | `${…}` variables, units, the toxic vocabulary |
//! | [`record`] | the typed record of runs and its JSON journal (read back by `shakedown report`) |
//! | [`measure`], `verdict` | pure functions from samples and fault windows to TTD, TTR, MTTR and a verdict |
//! | [`probe`], `client`, [`action`], [`service`] | probes, outgoing HTTP, commands, managed processes |
//! | `inject`, `embedded`, `driver` | faults through the control API, the in-process control server, the load (sent by the runner, or live agents' merged: one `LoadSource` trait) |
//! | [`resource`] | resource faults: CPU burn, memory pressure, cgroup limits, pause, held connections |
//! | [`preflight`] | `shakedown preflight`: whether a file can run here, without injecting anything |
//! | [`run`], `timeline` | one run from preflight to teardown; the `--dry-run` plan |
//! | [`baseline`] | a run's key figures saved (`--save-baseline`) and compared (`--baseline`, `expect.regression`) |
//! | [`repeat`], [`suite`] | one file run N times (MTTR across runs); a suite: collecting, filtering, running files |

pub mod action;
pub mod baseline;
pub mod client;
mod driver;
mod embedded;
mod inject;
pub mod measure;
pub mod preflight;
pub mod probe;
mod quantity;
mod raw;
pub mod record;
pub mod repeat;
pub mod resource;
pub mod run;
pub mod schema;
pub mod service;
pub mod spec;
pub mod suite;
pub(crate) mod timeline;
mod toxics;
pub mod validate;
mod vars;
mod verdict;
