//! The JSON Schema of the experiment file (`shakedown schema experiment`, committed as
//! `docs/experiment.schema.json`), derived from the serde types the validator reads each section
//! into (`experiment::raw`, [`crate::load::LoadSpec`]), so it cannot drift from what is accepted.
//!
//! The schema checks the file as written: every number and boolean may also be a `${…}`
//! reference ([`crate::config::schema::with_references`]). What needs more than one field to
//! judge (times in order, faults on declared proxies, one probe kind) is left to
//! `shakedown validate`.

use schemars::JsonSchema;

use super::raw::{
    RawAgentLoad, RawExpect, RawProbe, RawProxy, RawRollback, RawService, RawSteadyState, RawStep,
    RawWatch,
};
use crate::config::schema::{DurationText, with_references};
use crate::load::LoadSpec;

/// A shakedown experiment: services and proxies to set up, load to apply, a steady state to
/// watch, a method of faults and actions over time, and what to expect of detection, recovery
/// and lost writes (docs/experiments.md).
// Only its schema is used: the validator reads each section on its own, into the same types.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields, title = "shakedown experiment")]
struct ExperimentFile {
    /// One line saying what the experiment shows (required, not blank).
    #[schemars(length(min = 1))]
    title: String,
    /// A longer description.
    description: Option<String>,
    /// Labels to select experiments with `shakedown test --tag`.
    #[schemars(default)]
    tags: Vec<String>,
    /// Seed of every random decision (toxicity, jitter, load arrivals), for repeatable runs.
    seed: Option<u64>,
    /// Processes the runner starts before the run and stops after it.
    #[schemars(default)]
    services: Vec<RawService>,
    /// Fault proxies the runner creates through the control API.
    #[schemars(default)]
    proxies: Vec<RawProxy>,
    /// URL of an external control API (`shakedown serve`); default: an embedded one.
    control: Option<String>,
    /// How `https` probe and `ready` URLs verify servers (`ca`, `insecure`); the load's
    /// default too.
    tls: Option<crate::tls::TlsOptions>,
    /// Load to apply for the whole run: the load driver's format (docs/load.md), or live agents
    /// that send it (`{agents: …}`, docs/scaling.md).
    load: Option<LoadSection>,
    /// Processes whose CPU, memory, descriptors and connections are sampled besides the
    /// services, and how often (docs/resources.md).
    watch: Option<RawWatch>,
    /// Probes sampled during the run; a failing sample is a detection, passing again a recovery.
    steady_state: Option<RawSteadyState>,
    /// Probes that abort the run (exit 3) when they fail for longer than their `for`.
    #[schemars(default)]
    guards: Vec<RawProbe>,
    /// Faults and actions, in time order, from the start of the method.
    #[schemars(default)]
    method: Vec<RawStep>,
    /// How long the method runs (required).
    duration: DurationText,
    /// What the run must show to pass.
    expect: Option<RawExpect>,
    /// Commands run after the run, whatever happened.
    #[schemars(default)]
    rollbacks: Vec<RawRollback>,
}

/// The `load:` section: sent by the runner, or by live agents.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(untagged)]
enum LoadSection {
    /// The runner sends the load itself.
    Local(Box<LoadSpec>),
    /// Live agents send it; the runner merges their seconds.
    Agents(RawAgentLoad),
}

/// The JSON Schema (draft 2020-12) of the experiment file, pretty-printed with a final newline.
pub fn experiment_schema() -> String {
    let schema = schemars::schema_for!(ExperimentFile);
    let value = with_references(schema.to_value());
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_section_and_nothing_else() {
        let schema: serde_json::Value = serde_json::from_str(&experiment_schema()).unwrap();
        let mut keys: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut sections = super::super::raw::SECTIONS.to_vec();
        keys.sort_unstable();
        sections.sort_unstable();
        assert_eq!(keys, sections);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], serde_json::json!(["title", "duration"]));
    }

    /// The metrics, toxic types and streams the schema offers are the ones the validator takes.
    #[test]
    fn the_words_the_schema_offers_are_the_ones_the_validator_takes() {
        use crate::experiment::validate::{LoadOptions, parse_str};
        let check = |probe: &str, fault: &str| {
            let text = format!(
                "title: t\nload: {{target: \"http://127.0.0.1:1\", rate: 200/s}}\n\
                 proxies: [{{name: p, listen: \"127.0.0.1:1\", upstream: \"127.0.0.1:2\", protocol: http}}]\n\
                 steady_state: {{probes: [{probe}]}}\n\
                 method: [{{at: 0s, for: 1s, fault: {fault}}}]\nduration: 2s\n"
            );
            parse_str(
                std::path::Path::new("x.yaml"),
                &text,
                &LoadOptions::default(),
            )
        };
        let fault = "{proxy: p, type: latency, attributes: {latency: 1}}";
        for metric in super::super::raw::METRICS {
            let below = match *metric {
                "error_rate" => "1%",
                "rps" => "10/s",
                _ => "300ms",
            };
            let probe = format!("{{name: m, load: {metric}, window: 2s, below: \"{below}\"}}");
            assert!(
                check(&probe, fault).is_ok(),
                "{metric}: {:?}",
                check(&probe, fault)
            );
        }
        assert!(check("{name: m, load: p42, below: 1ms}", fault).is_err());
        let probe = "{name: up, tcp: \"127.0.0.1:1\"}";
        for kind in crate::fault::ToxicKind::TYPES {
            let fault = format!("{{proxy: p, type: {kind}}}");
            // Attributes may be required; the type itself must never be the problem (the proxy is
            // HTTP-mode, which takes TCP and HTTP toxics alike).
            if let Err(e) = check(probe, &fault) {
                assert!(!e.to_string().contains(".type"), "{kind}: {e}");
            }
        }
        for stream in ["downstream", "upstream"] {
            let fault = format!(
                "{{proxy: p, type: latency, stream: {stream}, attributes: {{latency: 1}}}}"
            );
            assert!(check(probe, &fault).is_ok(), "{stream}");
        }
    }

    #[test]
    fn the_committed_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/experiment.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        if committed != experiment_schema() {
            if std::env::var_os("SHAKEDOWN_BLESS").is_some() {
                std::fs::write(path, experiment_schema()).unwrap();
            } else {
                panic!("docs/experiment.schema.json is stale: rerun with SHAKEDOWN_BLESS=1");
            }
        }
    }
}
