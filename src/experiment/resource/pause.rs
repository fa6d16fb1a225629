//! `pause`: the frozen-process failure. SIGSTOP to every process of a service's group, SIGCONT
//! at the step's end, at teardown (whatever ended the run: Ctrl-C, SIGTERM, SIGHUP, a panic of
//! the method task) and on drop.

use nix::sys::signal::Signal;

use crate::experiment::service::group;

/// A service group that was sent SIGSTOP and is owed a SIGCONT.
pub(super) struct Paused {
    service: String,
    pgid: u32,
    resumed: bool,
}

impl Paused {
    /// Stop every process of group `pgid` (service `service`).
    pub(super) fn stop(service: &str, pgid: u32) -> Result<Self, String> {
        match group::signal(pgid, Signal::SIGSTOP) {
            Ok(true) => Ok(Self {
                service: service.to_string(),
                pgid,
                resumed: false,
            }),
            Ok(false) => Err(format!("service `{service}`: no process of it is left")),
            Err(e) => Err(format!("service `{service}`: cannot send SIGSTOP: {e}")),
        }
    }

    /// Send the group SIGCONT.
    pub(super) fn resume(mut self) -> Result<String, String> {
        self.resumed = true;
        match group::signal(self.pgid, Signal::SIGCONT) {
            Ok(true) => Ok(format!("SIGCONT to `{}`", self.service)),
            Ok(false) => Ok(format!("`{}` had exited while paused", self.service)),
            Err(e) => Err(format!("`{}`: cannot send SIGCONT: {e}", self.service)),
        }
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        if !self.resumed {
            let _ = group::signal(self.pgid, Signal::SIGCONT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::host::{group_members, state};
    use super::*;
    use std::time::Duration;

    /// The group's processes are stopped (`T`) while paused and running again after, also
    /// when the pause is dropped instead of resumed (a panic).
    #[tokio::test]
    async fn a_paused_group_is_stopped_then_resumed_also_when_dropped() {
        let mut command = tokio::process::Command::new("sh");
        command.args(["-c", "sleep 30 & wait"]).kill_on_drop(true);
        group::lead_own_group(&mut command);
        let mut child = command.spawn().unwrap();
        let pgid = child.id().unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let states = || {
            group_members(pgid)
                .into_iter()
                .filter_map(state)
                .collect::<String>()
        };
        assert_eq!(states().len(), 2, "shell and sleep");
        let paused = Paused::stop("svc", pgid).unwrap();
        // A process stops itself when it next runs to take SIGSTOP: on a busy machine one can
        // still read `R` just after the signal (seen once as `TR`). Bounded wait for both.
        for _ in 0..100 {
            if states() == "TT" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(states(), "TT");
        assert_eq!(paused.resume().unwrap(), "SIGCONT to `svc`");
        assert!(!states().contains('T'), "{}", states());
        drop(Paused::stop("svc", pgid).unwrap());
        assert!(!states().contains('T'), "{}", states());
        group::kill(pgid);
        let _ = child.wait().await;
        // The orphaned `sleep` is reaped by init a moment later: bounded wait for an empty group.
        for _ in 0..100 {
            if group::signal(pgid, Signal::SIGCONT) == Ok(false) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            Paused::stop("svc", pgid).err().unwrap(),
            "service `svc`: no process of it is left"
        );
    }
}
