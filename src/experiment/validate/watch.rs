//! Checks of `watch:`, and the list of what the resource sampler watches: every service, the
//! processes `watch:` names, the targets of resource probes, and the command line's.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::super::raw::RawWatch;
use super::super::spec::{Check, Guard, Service, SteadyState};
use super::{Ctx, WatchFlags};
use crate::resource::fit::MIN_POINTS;
use crate::resource::{DEFAULT_INTERVAL, MIN_INTERVAL, Target, Watch};

impl Ctx {
    /// `watch: {interval, processes}`, then every service and every resource probe's target.
    pub(super) fn watch(
        &mut self,
        value: Option<&Value>,
        services: &[Service],
        steady_state: &SteadyState,
        guards: &[Guard],
        declared: &BTreeSet<String>,
    ) -> Watch {
        let mut watch = Watch::default();
        services
            .iter()
            .for_each(|s| watch.add(Target::Service(s.name.clone())));
        if let Some(raw) = value
            .filter(|v| !v.is_null())
            .and_then(|v| self.de::<RawWatch>("watch", v))
        {
            watch.interval = raw.interval.unwrap_or(DEFAULT_INTERVAL);
            if watch.interval < MIN_INTERVAL {
                self.problem(
                    "watch.interval",
                    format!(
                        "must be at least {} (faster, CPU percentages are the kernel's clock \
                         ticks and the sampler measures itself)",
                        humantime::format_duration(MIN_INTERVAL)
                    ),
                );
            }
            for (i, w) in raw.processes.into_iter().enumerate() {
                let path = format!("watch.processes[{i}]");
                if let Some(t) = self.target(&path, w.pid, w.name, w.service, declared, "name") {
                    watch.add(t);
                }
            }
        }
        let probes = steady_state
            .probes
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("steady_state.probes[{i}]"), p))
            .chain(
                guards
                    .iter()
                    .enumerate()
                    .map(|(i, g)| (format!("guards[{i}]"), &g.probe)),
            );
        for (path, probe) in probes {
            if let Check::Resource { target, .. } | Check::Growth { target, .. } = &probe.check {
                watch.add(target.clone());
            }
            if let Check::Growth { window, .. } = &probe.check {
                self.window_holds_a_fit(&path, *window, watch.interval);
            }
        }
        watch
    }

    /// Warn when a growth probe's `window` can never hold the samples a slope needs.
    fn window_holds_a_fit(&mut self, path: &str, window: Duration, interval: Duration) {
        let fits = (window.as_secs_f64() / interval.as_secs_f64()).floor() as usize + 1;
        if fits < MIN_POINTS {
            self.warn(
                &format!("{path}.window"),
                format!(
                    "holds at most {fits} resource samples at the {} interval and a slope needs \
                     {MIN_POINTS}: this probe will say `not enough samples` (widen it, or set a \
                     shorter `watch.interval`)",
                    humantime::format_duration(interval)
                ),
            );
        }
    }

    /// Exactly one of `pid`, a process name (written `name_field`) or `service` (declared).
    pub(super) fn target(
        &mut self,
        path: &str,
        pid: Option<u32>,
        name: Option<String>,
        service: Option<String>,
        declared: &BTreeSet<String>,
        name_field: &str,
    ) -> Option<Target> {
        match (pid, name, service) {
            (Some(pid), None, None) => Some(Target::Pid(pid)),
            (None, Some(name), None) if name.trim().is_empty() => {
                self.problem(&format!("{path}.{name_field}"), "must not be empty");
                None
            }
            (None, Some(name), None) => Some(Target::Name(name)),
            (None, None, Some(service)) if !declared.contains(&service) => {
                self.problem(
                    &format!("{path}.service"),
                    format!(
                        "no service `{service}` is declared (services: {})",
                        if declared.is_empty() {
                            "none".to_string()
                        } else {
                            declared.iter().cloned().collect::<Vec<_>>().join(", ")
                        }
                    ),
                );
                None
            }
            (None, None, Some(service)) => Some(Target::Service(service)),
            _ => {
                self.problem(
                    path,
                    format!("name exactly one process: `pid`, `{name_field}` or `service`"),
                );
                None
            }
        }
    }
}

/// Add the command line's pids, names and interval.
pub(super) fn add_flags(watch: &mut Watch, flags: &WatchFlags) {
    flags.pids.iter().for_each(|p| watch.add(Target::Pid(*p)));
    flags
        .names
        .iter()
        .for_each(|n| watch.add(Target::Name(n.clone())));
    if let Some(interval) = flags.interval {
        watch.interval = interval;
    }
}
