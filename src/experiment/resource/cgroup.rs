//! `cpu_limit` and `memory_limit` through cgroup v2: a child cgroup of the one shakedown runs
//! in (the root when run as root on a cgroup v2 host, or a delegated one), with `cpu.max` or
//! `memory.max` set, holds the service's processes for the step; at its end (or teardown, or on
//! drop) they move back to where they were and the child cgroup is removed.
//!
//! Possible only where shakedown's own cgroup in the v2 hierarchy offers the controller, enables
//! it for children (`cgroup.subtree_control`) and is writable; otherwise every check says
//! `not available here: …` and why.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::host;

/// The period `cpu.max` is written with, in microseconds (the kernel's default).
const CPU_PERIOD_US: u64 = 100_000;

/// The directory of shakedown's own cgroup in the v2 hierarchy, where a child cgroup with
/// `controller` (`cpu`, `memory`) may be created.
///
/// # Errors
/// `not available here: …`: no cgroup v2 mount, the controller is not offered or not enabled
/// for children, or the directory is not writable.
pub(super) fn parent(controller: &str) -> Result<PathBuf, String> {
    let unavailable = |why: String| format!("not available here: {why}");
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| unavailable(format!("cannot read /proc/self/mountinfo: {e}")))?;
    let mount = v2_mount(&mountinfo)
        .ok_or_else(|| unavailable("no cgroup v2 hierarchy is mounted".into()))?;
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .map_err(|e| unavailable(format!("cannot read /proc/self/cgroup: {e}")))?;
    let own = v2_path(&own).ok_or_else(|| {
        unavailable("/proc/self/cgroup names no cgroup v2 (`0::`) membership".into())
    })?;
    let dir = mount.join(own.trim_start_matches('/'));
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    let offered = read("cgroup.controllers");
    if !has_word(&offered, controller) {
        return Err(unavailable(format!(
            "the cgroup v2 hierarchy offers no `{controller}` controller in {} (cgroup.controllers: `{}`); \
             this host binds `{controller}` to a cgroup v1 hierarchy or none",
            dir.display(),
            offered.trim()
        )));
    }
    let enabled = read("cgroup.subtree_control");
    if !has_word(&enabled, controller) {
        return Err(unavailable(format!(
            "`{controller}` is not enabled for child cgroups of {} (cgroup.subtree_control: `{}`)",
            dir.display(),
            enabled.trim()
        )));
    }
    if nix::unistd::access(&dir, nix::unistd::AccessFlags::W_OK).is_err() {
        return Err(unavailable(format!(
            "{} is not writable by this user (run as root, or in a delegated cgroup)",
            dir.display()
        )));
    }
    Ok(dir)
}

/// The mount point of the cgroup v2 hierarchy in `/proc/self/mountinfo` text.
fn v2_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        left.split_whitespace().nth(4).map(PathBuf::from)
    })
}

/// The v2 path (`0::/PATH`) in `/proc/PID/cgroup` text.
fn v2_path(cgroup: &str) -> Option<String> {
    cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(str::to_string)
}

fn has_word(text: &str, word: &str) -> bool {
    text.split_whitespace().any(|w| w == word)
}

/// A limit in place: the child cgroup and where its processes came from.
pub(super) struct Limit {
    dir: PathBuf,
    origin: PathBuf,
    what: String,
    moved: usize,
    lifted: bool,
}

impl Limit {
    /// Limit group `pgid` to `cores` CPUs, for step `i`.
    pub(super) fn cpu(i: usize, pgid: u32, cores: f64) -> Result<Self, String> {
        let quota = ((cores * CPU_PERIOD_US as f64).round() as u64).max(1000);
        Self::create(
            i,
            pgid,
            "cpu",
            ("cpu.max", format!("{quota} {CPU_PERIOD_US}")),
            format!("cpu.max {quota} {CPU_PERIOD_US} ({cores} cores)"),
        )
    }

    /// Limit group `pgid` to `bytes` of memory, for step `i`.
    pub(super) fn memory(i: usize, pgid: u32, bytes: u64) -> Result<Self, String> {
        Self::create(
            i,
            pgid,
            "memory",
            ("memory.max", bytes.to_string()),
            format!("memory.max {}", host::mib(bytes)),
        )
    }

    fn create(
        i: usize,
        pgid: u32,
        controller: &str,
        (file, value): (&str, String),
        what: String,
    ) -> Result<Self, String> {
        let parent = parent(controller)?;
        let mount_of = |pid: u32| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
            let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
            // The service's cgroup, relative to the mount found for our own.
            let base = parent
                .to_str()?
                .strip_suffix(v2_path(&own)?.trim_end_matches('/'))?;
            Some(Path::new(base).join(v2_path(&text)?.trim_start_matches('/')))
        };
        let origin = mount_of(pgid).ok_or_else(|| format!("cannot read /proc/{pgid}/cgroup"))?;
        let dir = parent.join(format!("shakedown-{}-{i}", std::process::id()));
        std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut limit = Self {
            dir,
            origin,
            what,
            moved: 0,
            lifted: false,
        };
        let path = limit.dir.join(file);
        std::fs::write(&path, &value)
            .map_err(|e| format!("cannot write `{value}` to {}: {e}", path.display()))?;
        let procs = limit.dir.join("cgroup.procs");
        for pid in host::group_members(pgid) {
            match std::fs::write(&procs, pid.to_string()) {
                Ok(()) => limit.moved += 1,
                // It exited meanwhile.
                Err(e) if e.raw_os_error() == Some(nix::libc::ESRCH) => {}
                Err(e) => {
                    return Err(format!(
                        "cannot move process {pid} into {}: {e}",
                        procs.display()
                    ));
                }
            }
        }
        Ok(limit)
    }

    /// `cpu.max 50000 100000 (0.5 cores) on 2 process(es) in /sys/fs/cgroup/shakedown-1-0`.
    pub(super) fn describe(&self) -> String {
        format!(
            "{} on {} process(es) in {}",
            self.what,
            self.moved,
            self.dir.display()
        )
    }

    /// Move the processes back and remove the child cgroup.
    pub(super) fn lift(mut self) -> Result<String, String> {
        self.lifted = true;
        lift(&self.dir, &self.origin).map(|n| {
            format!(
                "{} lifted: {n} process(es) moved back to {}, {} removed",
                self.what,
                self.origin.display(),
                self.dir.display()
            )
        })
    }
}

/// Move every process of `dir` back to `origin`, then remove `dir` (retried for a second:
/// the kernel may take a moment to let go of exiting processes). Returns how many moved.
fn lift(dir: &Path, origin: &Path) -> Result<usize, String> {
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    let mut moved = 0;
    for pid in procs.split_whitespace() {
        if std::fs::write(origin.join("cgroup.procs"), pid).is_ok() {
            moved += 1;
        }
    }
    let mut last = None;
    // Bounded: 20 attempts, 50 ms apart.
    for _ in 0..20 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(moved),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(moved),
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "cannot remove {}: {}",
        dir.display(),
        last.map_or_else(String::new, |e| e.to_string())
    ))
}

impl Drop for Limit {
    fn drop(&mut self) {
        if !self.lifted {
            let _ = lift(&self.dir, &self.origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This host's layout (hybrid: cgroup v1 for cpu and memory, v2 at .../unified) and a
    /// pure-v2 one.
    #[test]
    fn the_v2_mount_and_membership_are_found() {
        let hybrid = "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                      41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            v2_mount(hybrid),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let pure = "25 22 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(v2_mount(pure), Some(PathBuf::from("/sys/fs/cgroup")));
        assert_eq!(v2_mount("1 0 0:1 / / rw - ext4 /dev/sda rw\n"), None);
        let member = "4:memory:/x\n0::/user.slice/app.scope\n";
        assert_eq!(v2_path(member).as_deref(), Some("/user.slice/app.scope"));
        assert_eq!(v2_path("4:memory:/x\n"), None);
        assert!(has_word("cpu memory pids", "memory"));
        assert!(!has_word("cpuset", "cpu"));
    }

    /// Where cgroup v2 with the cpu controller is writable, a limit moves a process in, sets
    /// cpu.max, and lifting moves it back and removes the cgroup; elsewhere (this project's
    /// machines: cpu is bound to cgroup v1) the error says `not available here` and why.
    #[test]
    fn a_cpu_limit_is_put_in_place_and_lifted_or_not_available_here() {
        match parent("cpu") {
            Err(why) => {
                assert!(why.starts_with("not available here: "), "{why}");
            }
            Ok(_) => {
                use std::os::unix::process::CommandExt;
                let mut child = std::process::Command::new("sleep")
                    .arg("30")
                    .process_group(0)
                    .spawn()
                    .unwrap();
                let pid = child.id();
                let limit = Limit::cpu(0, pid, 0.5).unwrap();
                let dir = limit.dir.clone();
                assert_eq!(
                    std::fs::read_to_string(dir.join("cpu.max")).unwrap().trim(),
                    "50000 100000"
                );
                assert_eq!(
                    std::fs::read_to_string(dir.join("cgroup.procs"))
                        .unwrap()
                        .trim(),
                    pid.to_string()
                );
                limit.lift().unwrap();
                assert!(!dir.exists());
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
