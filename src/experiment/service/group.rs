//! Process groups: every service, command action, command probe and rollback the runner
//! starts leads a process group of its own, so that stopping it stops what it spawned too
//! (`sh -c "sleep 300; true"` leaves no `sleep` behind), and a watchdog process stops every
//! service group if the runner itself dies without a teardown (SIGKILL).

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::Child;

/// Make `command` start a new process group led by the child, and ask the kernel to send the
/// child SIGTERM when the runner dies (Linux; the watchdog covers the rest of the group).
pub(crate) fn lead_own_group(command: &mut tokio::process::Command) {
    command.process_group(0);
    stop_with_parent(command);
}

/// Send `signal` to every process of group `pgid` (`Ok(false)`: the group is empty).
pub(crate) fn signal(pgid: u32, signal: Signal) -> Result<bool, Errno> {
    let pgid = i32::try_from(pgid).map_err(|_| Errno::EINVAL)?;
    if pgid <= 1 {
        // 0 would be our own group and 1 init's: never a group the runner started.
        return Err(Errno::EINVAL);
    }
    match killpg(Pid::from_raw(pgid), signal) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether any process of group `pgid` is left (a SIGCONT probes it and wakes a stopped one,
/// which could not otherwise act on a SIGTERM).
fn occupied(pgid: u32) -> bool {
    signal(pgid, Signal::SIGCONT).unwrap_or(false)
}

/// How a stopped group ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The leader had exited before (with this status) and nothing of its group was left.
    AlreadyExited(String),
    /// The group ended within the grace period after SIGTERM (the leader's status).
    Terminated(String),
    /// Something survived the grace period and the group was killed with SIGKILL.
    Killed,
}

/// Stop the group led by `leader` (group id `pgid`): SIGTERM to the group, then SIGKILL to it
/// when any process is left after `grace`. Reaps the leader; returns once the group is empty
/// (or after a further second, for a process stuck in the kernel).
pub(crate) async fn stop(leader: &mut Child, pgid: u32, grace: Duration) -> Stopped {
    let step = Duration::from_millis(20);
    let reaped = |leader: &mut Child| {
        leader
            .try_wait()
            .ok()
            .flatten()
            .map(|status| status.to_string())
    };
    if let Some(status) = reaped(leader)
        && !occupied(pgid)
    {
        return Stopped::AlreadyExited(status);
    }
    let _ = signal(pgid, Signal::SIGTERM);
    let _ = signal(pgid, Signal::SIGCONT);
    let deadline = crate::clock::Clock::start().instant(grace);
    let mut status = None;
    // Bounded by the grace period: one check per step.
    while tokio::time::Instant::now() < deadline {
        status = status.or_else(|| reaped(leader));
        if status.is_some() && !occupied(pgid) {
            return Stopped::Terminated(status.unwrap_or_default());
        }
        tokio::time::sleep(step).await;
    }
    let _ = signal(pgid, Signal::SIGKILL);
    let _ = tokio::time::timeout(Duration::from_secs(1), leader.wait()).await;
    // Bounded: a second at most for the kernel to finish the group off.
    for _ in 0..50 {
        if !occupied(pgid) {
            break;
        }
        tokio::time::sleep(step).await;
    }
    Stopped::Killed
}

/// Kill group `pgid` at once (SIGKILL), without waiting: for commands that finished or ran
/// out of time, and for a last resort on drop.
pub(crate) fn kill(pgid: u32) {
    let _ = signal(pgid, Signal::SIGKILL);
}

/// A `sh` process that outlives the runner: it reads the ids of the service groups on its
/// standard input, and when that closes without [`Watchdog`] being dropped (the runner died),
/// it sends each group SIGTERM, waits up to the grace period for them to end, then SIGKILL.
/// It ignores SIGINT, SIGTERM, SIGHUP and SIGQUIT, which a terminal sends to the whole
/// foreground group; dropping the watchdog (a normal teardown) kills it quietly.
pub(crate) struct Watchdog {
    child: std::process::Child,
}

/// The watchdog's script; `$1` is the grace period in tenths of a second. dash's `kill`
/// accepts `-SIG -PGID` (and no `--`); a SIGCONT probes whether a group is left.
const SCRIPT: &str = r#"trap '' INT TERM HUP QUIT PIPE
gs=
while read -r g; do gs="$gs $g"; done
for g in $gs; do kill -TERM -$g 2>/dev/null; kill -CONT -$g 2>/dev/null; done
n=0
while [ "$n" -lt "$1" ]; do
  live=
  for g in $gs; do kill -CONT -$g 2>/dev/null && live=1; done
  [ -z "$live" ] && exit 0
  sleep 0.1
  n=$((n+1))
done
for g in $gs; do kill -KILL -$g 2>/dev/null; done
"#;

impl Watchdog {
    /// Start a watchdog that gives the groups `grace` between SIGTERM and SIGKILL.
    pub(crate) fn start(grace: Duration) -> std::io::Result<Self> {
        let tenths = grace.as_millis().div_ceil(100).clamp(1, 6000);
        let child = std::process::Command::new("sh")
            .args(["-c", SCRIPT, "shakedown-watchdog", &tenths.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self { child })
    }

    /// Watch group `pgid` from now on.
    pub(crate) fn watch(&mut self, pgid: u32) -> std::io::Result<()> {
        let stdin = self
            .child
            .stdin
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the watchdog's input is closed"))?;
        writeln!(stdin, "{pgid}")?;
        stdin.flush()
    }
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchdog")
            .field("pid", &self.child.id())
            .finish()
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // Killed before its input closes, so it signals nothing: teardown stopped the groups.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ask the kernel to send SIGTERM to the child when the runner dies, so a runner killed with
/// SIGKILL (which can run no cleanup of its own) stops the group leader at once. Linux only;
/// elsewhere a no-op.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn stop_with_parent(command: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls
    // prctl(2) and getppid(2), both async-signal-safe; it allocates nothing.
    unsafe {
        command.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)?;
            // The runner may have died between fork and prctl: then init adopted us.
            if nix::unistd::getppid() == Pid::from_raw(1) {
                return Err(std::io::Error::other(
                    "the runner exited before the child started",
                ));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn stop_with_parent(_command: &mut tokio::process::Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The live (not zombie) processes of group `pgid`, from /proc: a killed member whose parent
    /// is gone waits for init to reap it, and a signal still "reaches" it meanwhile.
    fn live_members(pgid: u32) -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    return false;
                };
                // After the command's closing parenthesis: state, ppid, pgrp.
                let fields: Vec<&str> = stat
                    .rsplit_once(')')
                    .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
                fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
            })
            .collect()
    }

    /// A leader started in its own group, whose shell starts `sleep` (same group).
    fn start(script: &str) -> (Child, u32) {
        let mut command = tokio::process::Command::new("sh");
        command.args(["-c", script]).kill_on_drop(true);
        lead_own_group(&mut command);
        let child = command.spawn().unwrap();
        let pgid = child.id().unwrap();
        (child, pgid)
    }

    #[tokio::test]
    async fn sigterm_stops_a_group_that_heeds_it() {
        let (mut leader, pgid) = start("sleep 30 & wait");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let how = stop(&mut leader, pgid, Duration::from_secs(5)).await;
        assert!(matches!(how, Stopped::Terminated(_)), "{how:?}");
        assert_eq!(live_members(pgid), Vec::<u32>::new());
    }

    #[tokio::test]
    async fn a_group_member_that_ignores_sigterm_is_killed_after_the_grace() {
        // The shell ignores SIGTERM (and so does the `sleep` it starts, which inherits that).
        let (mut leader, pgid) = start("trap '' TERM; sleep 30; true");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = tokio::time::Instant::now();
        let how = stop(&mut leader, pgid, Duration::from_millis(300)).await;
        assert_eq!(how, Stopped::Killed);
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(live_members(pgid), Vec::<u32>::new());
    }

    #[tokio::test]
    async fn a_leader_gone_before_its_group_still_has_the_group_stopped() {
        // The leader exits at once, leaving its background `sleep` in the group.
        let (mut leader, pgid) = start("sleep 30 & exit 0");
        let _ = leader.wait().await;
        assert_eq!(
            live_members(pgid).len(),
            1,
            "the background sleep is still in the group"
        );
        let how = stop(&mut leader, pgid, Duration::from_secs(5)).await;
        assert!(matches!(how, Stopped::Terminated(_)), "{how:?}");
        assert_eq!(live_members(pgid), Vec::<u32>::new());
        // Groups 0 and 1 are never signalled.
        assert_eq!(signal(0, Signal::SIGCONT), Err(Errno::EINVAL));
        assert_eq!(signal(1, Signal::SIGCONT), Err(Errno::EINVAL));
    }
}
