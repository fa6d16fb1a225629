//! Checks of the resource faults in `method[i].action` (see `experiment::resource`): each
//! number within what this host can do, each service and proxy declared.

use std::collections::{BTreeMap, BTreeSet};

use super::super::quantity;
use super::super::raw::{RawAction, RawHoldConnections};
use super::super::resource::host;
use super::super::resource::{ResourceFault, Target};
use super::Ctx;

/// The most CPUs `cpu_burn` and `cpu_limit` accept.
const MAX_CORES: u32 = 1024;

/// Whether `raw` is a resource fault (held for the step's `for`) rather than an action.
pub(super) fn named(raw: &RawAction) -> bool {
    chosen(raw).iter().any(|c| *c)
}

/// Which resource fault fields are set.
pub(super) fn chosen(raw: &RawAction) -> [bool; 6] {
    [
        raw.cpu_burn.is_some(),
        raw.memory_pressure.is_some(),
        raw.cpu_limit.is_some(),
        raw.memory_limit.is_some(),
        raw.pause.is_some(),
        raw.hold_connections.is_some(),
    ]
}

/// The names of the resource faults, for messages.
pub(super) const NAMES: &str =
    "`cpu_burn`, `memory_pressure`, `cpu_limit`, `memory_limit`, `pause`, `hold_connections`";

/// Validate the resource fault of action `raw` at `p` (`method[i].action`).
pub(super) fn fault(
    ctx: &mut Ctx,
    p: &str,
    raw: RawAction,
    (services, unaddressed): (&BTreeSet<String>, &BTreeSet<String>),
    proxies: &BTreeMap<String, String>,
) -> Option<ResourceFault> {
    for (field, set) in [
        ("signal", raw.signal.is_some()),
        ("timeout", raw.timeout.is_some()),
    ] {
        if set {
            ctx.problem(
                &format!("{p}.{field}"),
                format!("`{field}` does not go with a resource fault"),
            );
        }
    }
    let service = |ctx: &mut Ctx, field: &str, name: String| {
        super::method::declared_service(ctx, services, &format!("{p}.{field}"), name)
    };
    if let Some(burn) = raw.cpu_burn {
        let cores = cores(ctx, &format!("{p}.cpu_burn.cores"), burn.cores.unwrap_or(1));
        let load = match burn.load.as_ref().map(quantity::fraction).transpose() {
            Ok(f) => {
                let percent = (f.unwrap_or(1.0) * 100.0).round();
                if percent < 1.0 {
                    ctx.problem(&format!("{p}.cpu_burn.load"), "must be 1%..100%");
                    None
                } else {
                    Some(percent as u8)
                }
            }
            Err(e) => {
                ctx.problem(&format!("{p}.cpu_burn.load"), e);
                None
            }
        };
        return Some(ResourceFault::CpuBurn {
            cores: cores?,
            load: load?,
        });
    }
    if let Some(pressure) = raw.memory_pressure {
        let bytes = size(ctx, &format!("{p}.memory_pressure.bytes"), &pressure.bytes)?;
        return Some(ResourceFault::MemoryPressure { bytes });
    }
    if let Some(limit) = raw.cpu_limit {
        let name = service(ctx, "cpu_limit.service", limit.service);
        let field = format!("{p}.cpu_limit.cores");
        let cores = limit.cores;
        if !(cores.is_finite() && cores > 0.0 && cores <= f64::from(MAX_CORES)) {
            ctx.problem(
                &field,
                format!("{cores} must be above 0 and at most {MAX_CORES}"),
            );
            return None;
        }
        return Some(ResourceFault::CpuLimit {
            service: name?,
            cores,
        });
    }
    if let Some(limit) = raw.memory_limit {
        let name = service(ctx, "memory_limit.service", limit.service);
        let bytes = size(ctx, &format!("{p}.memory_limit.bytes"), &limit.bytes);
        return Some(ResourceFault::MemoryLimit {
            service: name?,
            bytes: bytes?,
        });
    }
    if let Some(name) = raw.pause {
        return service(ctx, "pause", name).map(ResourceFault::Pause);
    }
    let hold = raw.hold_connections?;
    let target = target(
        ctx,
        &format!("{p}.hold_connections"),
        &hold,
        services,
        proxies,
    );
    if let Some(Target::Service(name)) = &target
        && unaddressed.contains(name)
    {
        ctx.problem(
            &format!("{p}.hold_connections.service"),
            format!(
                "service `{name}` has no `ready` check, so no address to connect to; \
                 use `target: host:port`"
            ),
        );
    }
    let count = count(ctx, &format!("{p}.hold_connections.count"), hold.count);
    Some(ResourceFault::HoldConnections {
        target: target?,
        count: count?,
    })
}

/// A number of CPUs, 1..=[`MAX_CORES`].
fn cores(ctx: &mut Ctx, path: &str, cores: u32) -> Option<u32> {
    if (1..=MAX_CORES).contains(&cores) {
        Some(cores)
    } else {
        ctx.problem(path, format!("{cores} must be 1..{MAX_CORES}"));
        None
    }
}

/// A size above 0 and at most this host's physical memory.
fn size(ctx: &mut Ctx, path: &str, value: &serde_json::Value) -> Option<u64> {
    let bytes = match quantity::bytes(value) {
        Ok(b) => b,
        Err(e) => {
            ctx.problem(path, e);
            return None;
        }
    };
    if bytes == 0 {
        ctx.problem(path, "must be more than 0 bytes");
        return None;
    }
    if let Some(total) = host::physical_memory().filter(|t| bytes > *t) {
        ctx.problem(
            path,
            format!(
                "{} is more than this host's physical memory ({})",
                host::mib(bytes),
                host::mib(total)
            ),
        );
        return None;
    }
    Some(bytes)
}

/// A connection count, 1 up to the open-file limit.
fn count(ctx: &mut Ctx, path: &str, count: u32) -> Option<u32> {
    if count == 0 {
        ctx.problem(path, "must be at least 1");
        return None;
    }
    if let Some(limit) = host::open_file_limit().filter(|l| u64::from(count) >= *l) {
        ctx.problem(
            path,
            format!("{count} connections do not fit under this process's open-file limit ({limit}, `ulimit -n`)"),
        );
        return None;
    }
    Some(count)
}

/// Exactly one of `target` (a `host:port`), `proxy` or `service`, declared.
fn target(
    ctx: &mut Ctx,
    p: &str,
    hold: &RawHoldConnections,
    services: &BTreeSet<String>,
    proxies: &BTreeMap<String, String>,
) -> Option<Target> {
    match (&hold.target, &hold.proxy, &hold.service) {
        (Some(addr), None, None) => {
            ctx.host_port(&format!("{p}.target"), addr, false);
            Some(Target::Address(addr.clone()))
        }
        (None, Some(name), None) if proxies.contains_key(name) => Some(Target::Proxy(name.clone())),
        (None, Some(name), None) => {
            ctx.problem(
                &format!("{p}.proxy"),
                format!("proxy `{name}` is not declared under `proxies`"),
            );
            None
        }
        (None, None, Some(name)) if services.contains(name) => Some(Target::Service(name.clone())),
        (None, None, Some(name)) => {
            ctx.problem(
                &format!("{p}.service"),
                format!("service `{name}` is not declared under `services`"),
            );
            None
        }
        _ => {
            ctx.problem(
                p,
                "exactly one of `target` (host:port), `proxy` or `service`",
            );
            None
        }
    }
}
