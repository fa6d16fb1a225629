//! shakedown: a chaos-engineering and fault-injection harness.
//!
//! The crate is laid out one module per concept; read it top to bottom. Imports point down this
//! table, never up: the command line calls the domain, the renderers read the runner's record,
//! and nothing below `cli` imports it (`docs/architecture.md` draws the map and the path of a
//! fault and of an experiment through it).
//!
//! | module | owns |
//! |---|---|
//! | [`clock`] | the one monotonic clock shared by the proxy, the load driver and the runner |
//! | [`config`] | reading YAML/JSON files into validated types, errors as `file:line:col: field: message` |
//! | [`exit`] | the documented process exit codes and how errors map onto them |
//! | [`interrupt`] | the signals that interrupt a command (SIGINT, SIGTERM, SIGHUP, …), each handled like SIGTERM |
//! | [`fault`] | the fault vocabulary: toxics as plain data with pure, seeded decisions |
//! | [`proxy`] | the fault-injecting TCP proxy: accept loop and per-direction pipes that apply faults |
//! | [`control`] | the Toxiproxy-compatible control API and the proxy store behind it (`shakedown serve`) |
//! | [`load`] | the load driver: open/closed models, schedules, scenarios, histograms, keyed-write check (`shakedown load`) |
//! | [`experiment`] | the experiment runner: file format, probes, method, measurements, suites, and the typed record of runs |
//! | [`resource`] | watching resources: host and process CPU, memory, descriptors, connections on the run's clock, and leak slopes |
//! | [`gameday`] | game days: an experiment's services, proxies, continuous load and probes under a control server, nothing injected (`shakedown gameday`) |
//! | [`report`] | renderings of a run's record: terminal summary, JSON journal, JUnit XML, HTML page, Markdown summary |
//! | [`tls`] | TLS with rustls: client settings (system roots, `ca`, `insecure`), server settings from PEM files, handshake failures told apart |
//! | [`import`] | converting other tools' experiments (Chaos Toolkit) into experiment files (`shakedown import`) |
//! | [`demo`] | the embedded demo target, a small HTTP key-value service with realistic failure modes (`shakedown demo-target`) |
//! | [`cli`] | the command line: arguments, entry points, printing and output files of every subcommand (`run`, `test`, `validate`, `report`, `serve`, `gameday`, `load`, `demo-target`, `schema`, `completions`, `man`, `import`, `merge`) |
#![deny(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    rust_2018_idioms,
    unreachable_pub
)]

pub mod bearer;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod demo;
pub mod exit;
pub mod experiment;
pub mod fault;
pub mod gameday;
pub mod import;
pub mod interrupt;
pub mod load;
pub mod proxy;
pub mod report;
pub mod resource;
pub mod tls;
