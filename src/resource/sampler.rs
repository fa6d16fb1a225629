//! The sampler: sysinfo (CPU, memory, load, network, disks, the process list) plus `/proc`
//! (descriptors, threads, TCP states), read once per interval into [`Resources`].

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use tokio::time::Instant;

use sysinfo::{Disks, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use super::procfs;
use super::series::{HostSample, Presence, ProcessSample};

/// How one watched target is found at one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// These root pids (a pid target, or a service's current process).
    Pids(Vec<u32>),
    /// Every process with this name.
    Name(String),
    /// Nothing to look for (a service that is not running).
    Absent,
}

/// The readers of host and process figures, with the counters they difference.
#[derive(Debug)]
pub struct Sampler {
    system: System,
    /// Each process's accumulated CPU time (ms) at the last refresh, and when that was: a
    /// process's CPU percentage is its CPU time over the wall time between two refreshes.
    cpu_ms: HashMap<u32, u64>,
    refreshed: Instant,
    /// The wall time between the last two process refreshes.
    elapsed: Duration,
    networks: Option<Networks>,
    disks: Option<Disks>,
    /// Network (rx, tx) and disk (read, write) totals when sampling started.
    net_base: (u64, u64),
    disk_base: (u64, u64),
}

impl Sampler {
    /// A sampler primed with a first reading (CPU percentages are differences between two).
    ///
    /// Errors: sysinfo cannot read this system (not Linux, no `/proc`).
    pub fn new() -> Result<Self, String> {
        let system = System::new().map_err(|e| format!("cannot read system figures: {e}"))?;
        let mut sampler = Sampler {
            system,
            cpu_ms: HashMap::new(),
            refreshed: Instant::now(),
            elapsed: Duration::ZERO,
            networks: Networks::new_with_refreshed_list().ok(),
            disks: Disks::new_with_refreshed_list().ok(),
            net_base: (0, 0),
            disk_base: (0, 0),
        };
        sampler.net_base = sampler.net_totals();
        sampler.disk_base = sampler.disk_totals();
        sampler.system.refresh_cpu_usage();
        sampler.refresh_processes();
        Ok(sampler)
    }

    fn net_totals(&mut self) -> (u64, u64) {
        let Some(networks) = self.networks.as_mut() else {
            return (0, 0);
        };
        networks.refresh(true);
        networks.values().fold((0, 0), |(rx, tx), n| {
            (rx + n.total_received(), tx + n.total_transmitted())
        })
    }

    /// Read and written bytes over every disk, each device once (a device mounted twice is
    /// listed twice).
    fn disk_totals(&mut self) -> (u64, u64) {
        let Some(disks) = self.disks.as_mut() else {
            return (0, 0);
        };
        disks.refresh(true);
        let mut by_device = BTreeMap::new();
        for d in disks.iter() {
            let u = d.usage();
            by_device.insert(
                d.name().to_os_string(),
                (u.total_read_bytes, u.total_written_bytes),
            );
        }
        by_device
            .values()
            .fold((0, 0), |(r, w), (dr, dw)| (r + dr, w + dw))
    }

    /// Read every process, and keep the previous reading's CPU times for [`Self::cpu_percent`].
    fn refresh_processes(&mut self) {
        self.cpu_ms = self
            .system
            .processes()
            .iter()
            .map(|(pid, p)| (pid.as_u32(), p.accumulated_cpu_time()))
            .collect();
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing()
                .with_cpu()
                .with_memory()
                .with_exe(UpdateKind::OnlyIfNotSet),
        );
        let now = Instant::now();
        self.elapsed = now.saturating_duration_since(self.refreshed);
        self.refreshed = now;
    }

    /// CPU percent of one core of `pid` between the last two refreshes: its CPU time
    /// (`/proc/PID/stat` utime + stime) over the wall time. A process first seen in this refresh
    /// counts all of its CPU time (it started within the interval).
    fn cpu_percent(&self, pid: u32, now_ms: u64) -> f64 {
        let before = self.cpu_ms.get(&pid).copied().unwrap_or(0);
        let wall = self.elapsed.as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        now_ms.saturating_sub(before) as f64 / 1e3 / wall * 100.0
    }

    /// The host now (`at` on the run's clock).
    pub fn host(&mut self, at: Duration) -> HostSample {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        let load = System::load_average().map_or([0.0; 3], |l| [l.one, l.five, l.fifteen]);
        let (rx, tx) = self.net_totals();
        let (read, written) = self.disk_totals();
        HostSample {
            at,
            cpu_percent: f64::from(self.system.global_cpu_usage()),
            memory_used_bytes: self.system.used_memory(),
            memory_total_bytes: self.system.total_memory(),
            load,
            net_rx_bytes: rx.saturating_sub(self.net_base.0),
            net_tx_bytes: tx.saturating_sub(self.net_base.1),
            disk_read_bytes: read.saturating_sub(self.disk_base.0),
            disk_write_bytes: written.saturating_sub(self.disk_base.1),
        }
    }

    /// Refresh the process list once, then sample each query's tree (`at` on the run's clock):
    /// its presence, and a sample when it is there.
    pub fn processes(
        &mut self,
        at: Duration,
        queries: &[Query],
    ) -> Vec<(Presence, Option<ProcessSample>)> {
        self.refresh_processes();
        let children = self.children();
        queries
            .iter()
            .map(|q| {
                let roots = match q {
                    Query::Absent => Vec::new(),
                    Query::Pids(pids) => pids
                        .iter()
                        .copied()
                        .filter(|p| self.system.process(Pid::from_u32(*p)).is_some())
                        .collect(),
                    Query::Name(name) => self.named(name),
                };
                if roots.is_empty() {
                    return (Presence::Gone, None);
                }
                self.tree(at, roots, &children)
            })
            .collect()
    }

    /// Pids of the processes (not threads) named `name`, by `comm` or program file name.
    fn named(&self, name: &str) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .system
            .processes()
            .values()
            .filter(|p| p.thread_kind().is_none())
            .filter(|p| {
                p.name() == name
                    || p.exe()
                        .and_then(|e| e.file_name())
                        .is_some_and(|f| f == name)
            })
            .map(|p| p.pid().as_u32())
            .collect();
        pids.sort_unstable();
        pids
    }

    /// Parent pid → child pids (threads left out).
    fn children(&self) -> HashMap<u32, Vec<u32>> {
        let mut map: HashMap<u32, Vec<u32>> = HashMap::new();
        for p in self.system.processes().values() {
            if p.thread_kind().is_none()
                && let Some(parent) = p.parent()
            {
                map.entry(parent.as_u32())
                    .or_default()
                    .push(p.pid().as_u32());
            }
        }
        map
    }

    /// Sum the figures of `roots` and all their descendants.
    fn tree(
        &self,
        at: Duration,
        roots: Vec<u32>,
        children: &HashMap<u32, Vec<u32>>,
    ) -> (Presence, Option<ProcessSample>) {
        let mut all = roots.clone();
        let mut i = 0;
        while i < all.len() {
            if let Some(kids) = children.get(&all[i]) {
                all.extend(kids.iter().filter(|k| !all.contains(k)).collect::<Vec<_>>());
            }
            i += 1;
        }
        let states = procfs::tcp_states(roots[0]);
        let mut sample = ProcessSample {
            at,
            pids: roots.clone(),
            fds: Some(0),
            tcp: Some(BTreeMap::new()),
            ..Default::default()
        };
        let mut unreadable = None;
        for pid in &all {
            let Some(p) = self.system.process(Pid::from_u32(*pid)) else {
                continue;
            };
            sample.cpu_percent += self.cpu_percent(*pid, p.accumulated_cpu_time());
            sample.rss_bytes += p.memory();
            sample.threads += procfs::threads(*pid).unwrap_or(1);
            match procfs::descriptors(*pid) {
                Ok(d) => {
                    if let Some(n) = sample.fds.as_mut() {
                        *n += d.count;
                    }
                    if let Some(tcp) = sample.tcp.as_mut() {
                        for (state, n) in procfs::count_tcp(&d.sockets, &states) {
                            *tcp.entry(state).or_insert(0) += n;
                        }
                    }
                }
                // Exited between the listing and this read: no longer part of the tree.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    sample.fds = None;
                    sample.tcp = None;
                    unreadable.get_or_insert(format!("pid {pid}: /proc/{pid}/fd: {e}"));
                }
            }
        }
        let presence = match unreadable {
            Some(why) => Presence::Unreadable { why },
            None => Presence::Running { pids: roots },
        };
        (presence, Some(sample))
    }
}
