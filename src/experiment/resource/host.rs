//! What the resource faults read of this host: physical memory, the open-file limit, a
//! process's CPU time, state and process group (from `/proc`).

use std::time::Duration;

/// `256 MiB` (binary megabytes, one decimal below 10).
pub(crate) fn mib(bytes: u64) -> String {
    let m = bytes as f64 / (1024.0 * 1024.0);
    if m < 10.0 && m.fract() != 0.0 {
        format!("{m:.1} MiB")
    } else {
        format!("{m:.0} MiB")
    }
}

/// `1 thread`, `2 threads`.
pub(crate) fn plural(n: u32, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// This host's physical memory (`MemTotal` of `/proc/meminfo`), `None` where unreadable.
pub(crate) fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// This process's soft limit on open files (`ulimit -n`), `None` where unreadable.
pub(crate) fn open_file_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// The fields of `/proc/PID/stat` after the command's closing parenthesis (field 3 onwards:
/// state, ppid, pgrp, …).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// A process's state letter (`R`, `S`, `T` stopped, `Z` zombie…), `None` when it is gone.
#[cfg(test)]
pub(crate) fn state(pid: u32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// The CPU time (user + system) a process has used so far, `None` when it is gone.
pub(crate) fn cpu_time(pid: u32) -> Option<Duration> {
    let fields = stat_fields(pid)?;
    // utime and stime are fields 14 and 15 of stat(5): 11 and 12 after the state (field 3).
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|t| u64::try_from(t).ok())
        .filter(|t| *t > 0)?;
    Some(Duration::from_secs_f64(ticks as f64 / per_second as f64))
}

/// The live processes of process group `pgid` (zombies excluded), from `/proc`.
pub(crate) fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            stat_fields(*pid).is_some_and(|f| {
                f.len() > 2 && f[0] != "Z" && f[2].parse::<u32>().ok() == Some(pgid)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_this_host_and_process() {
        assert_eq!(mib(256 * 1024 * 1024), "256 MiB");
        assert_eq!(mib(1024 * 1024 + 512 * 1024), "1.5 MiB");
        assert_eq!(plural(1, "thread"), "1 thread");
        assert!(physical_memory().unwrap() > 64 * 1024 * 1024);
        assert!(open_file_limit().unwrap() > 0);
        let me = std::process::id();
        assert!(matches!(state(me), Some('R' | 'S')));
        assert!(cpu_time(me).is_some());
        let pgid = nix::unistd::getpgrp().as_raw() as u32;
        assert!(group_members(pgid).contains(&me));
    }
}
