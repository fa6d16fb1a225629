//! The stress child: `cpu_burn` and `memory_pressure` run in a child process of the runner's
//! (this executable, re-run as the hidden `shakedown stress …`), leading a process group of its
//! own, killed with it at the step's end, at teardown, on drop, and by the kernel when the
//! runner dies (the parent-death signal of [`group::lead_own_group`]). The child also stops by
//! itself a second after the step's `for`.

use std::process::Stdio;
use std::time::Duration;

use tokio::time::Instant;

use tokio::io::AsyncBufReadExt;

use super::host;
use crate::experiment::service::group;

/// How long the child may take to say it is ready (touching gigabytes takes a while).
const READY_WAIT: Duration = Duration::from_secs(60);

/// How long after the step's `for` the child stops by itself.
const OWN_MARGIN: Duration = Duration::from_secs(1);

/// Tell the runner the stress is in place (one `ready` line on stdout).
pub(super) fn say_ready() {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "ready");
    let _ = out.flush();
}

/// A running stress child.
pub(super) struct Child {
    child: tokio::process::Child,
    pgid: u32,
    /// When it was started (its CPU time counts from here).
    spawned: Instant,
    /// When it said it was ready (the fault is in place from here).
    ready: Instant,
}

impl Child {
    /// `shakedown stress cpu --cores N --load P`, ready.
    pub(super) async fn cpu(cores: u32, load: u8, for_: Duration) -> Result<Self, String> {
        Self::spawn(
            &[
                "cpu",
                "--cores",
                &cores.to_string(),
                "--load",
                &load.to_string(),
            ],
            for_,
        )
        .await
    }

    /// `shakedown stress memory --bytes N`, ready (every page touched).
    pub(super) async fn memory(bytes: u64, for_: Duration) -> Result<Self, String> {
        Self::spawn(&["memory", "--bytes", &bytes.to_string()], for_).await
    }

    async fn spawn(args: &[&str], for_: Duration) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find shakedown: {e}"))?;
        let own = for_.saturating_add(OWN_MARGIN);
        let mut command = tokio::process::Command::new(exe);
        command
            .arg("stress")
            .args(args)
            .args(["--for", &format!("{}ms", own.as_millis())])
            .args(["--owner", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        group::lead_own_group(&mut command);
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start the stress process: {e}"))?;
        let pgid = child.id().unwrap_or(0);
        let mut this = Self {
            child,
            pgid,
            spawned: Instant::now(),
            ready: Instant::now(),
        };
        let mut lines = tokio::io::BufReader::new(this.child.stdout.take().ok_or("no stdout")?);
        let mut line = String::new();
        let read = tokio::time::timeout(READY_WAIT, lines.read_line(&mut line)).await;
        if line.trim() == "ready" {
            this.ready = Instant::now();
            return Ok(this);
        }
        group::kill(pgid);
        let mut why = String::new();
        if let Some(mut err) = this.child.stderr.take() {
            let read = tokio::io::AsyncReadExt::read_to_string(&mut err, &mut why);
            let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
        }
        Err(match read {
            Err(_) => format!("the stress process was not ready within {READY_WAIT:?}"),
            Ok(_) => format!(
                "the stress process ended before it was ready: {}",
                why.trim().lines().last().unwrap_or("no message")
            ),
        })
    }

    /// Kill the child's group; returns what it did: `held 2.00 s; 1.60 CPU-seconds in 2.10 s
    /// (0.76 cores)` (CPU time counted from its start, its setup included).
    pub(super) async fn stop(mut self) -> String {
        let held = self.ready.elapsed().as_secs_f64();
        let alive = self.spawned.elapsed().as_secs_f64().max(1e-3);
        let cpu = host::cpu_time(self.pgid);
        group::kill(self.pgid);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        match cpu {
            Some(cpu) => {
                let cpu = cpu.as_secs_f64();
                format!(
                    "held {held:.2} s; {cpu:.2} CPU-seconds in {alive:.2} s ({:.2} cores)",
                    cpu / alive
                )
            }
            None => format!("held {held:.2} s (it had ended by itself)"),
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Last resort (a panic, a dropped registry): the group goes at once.
        group::kill(self.pgid);
    }
}
