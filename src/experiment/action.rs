//! Running commands (actions, rollbacks, command probes) with a time limit, each as a process
//! group of its own that is killed when the command ends.

use std::process::Stdio;
use std::time::Duration;

use super::service::group;

/// A command that could not run to completion.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CommandError {
    /// It could not be started.
    #[error("cannot start `{program}`: {message}")]
    Spawn {
        /// Program.
        program: String,
        /// Why.
        message: String,
    },
    /// It ran past its time limit and was killed.
    #[error("`{0}` did not finish within {1:?} and was killed")]
    Timeout(String, Duration),
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl Finished {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// One line: exit code and the start of stderr when it failed.
    pub fn summary(&self) -> String {
        let err = String::from_utf8_lossy(&self.stderr);
        let err = err.trim();
        match self.code {
            Some(0) => "exit 0".to_string(),
            Some(c) if err.is_empty() => format!("exit {c}"),
            Some(c) => format!("exit {c}: {}", err.lines().next().unwrap_or_default()),
            None => "killed by a signal".to_string(),
        }
    }
}

/// The program to run for `argv[0]`: `shakedown` means this executable.
pub fn program(name: &str) -> std::path::PathBuf {
    if name == "shakedown"
        && let Ok(exe) = std::env::current_exe()
    {
        return exe;
    }
    std::path::PathBuf::from(name)
}

/// Run `argv` to completion within `timeout` (killed past it).
pub async fn run_command(argv: &[String], timeout: Duration) -> Result<Finished, CommandError> {
    let Some((first, args)) = argv.split_first() else {
        return Err(CommandError::Spawn {
            program: String::new(),
            message: "empty command".into(),
        });
    };
    let mut command = tokio::process::Command::new(program(first));
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    group::lead_own_group(&mut command);
    let mut child = command.spawn().map_err(|e| CommandError::Spawn {
        program: first.clone(),
        message: e.to_string(),
    })?;
    // The command leads its own group: whatever it leaves running when it ends, runs out of
    // time or is abandoned (its future dropped) is killed with the group.
    let pgid = KillGroupOnDrop(child.id());
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    // The command ends when its leader exits, not when its pipes close: a process it left in
    // the background may hold them open, and goes with the group right after.
    let waited = tokio::time::timeout(timeout, child.wait()).await;
    drop(pgid);
    match waited {
        Ok(Ok(status)) => Ok(Finished {
            code: status.code(),
            stdout: collect(stdout).await,
            stderr: collect(stderr).await,
        }),
        Ok(Err(e)) => Err(CommandError::Spawn {
            program: first.clone(),
            message: e.to_string(),
        }),
        Err(_) => Err(CommandError::Timeout(argv.join(" "), timeout)),
    }
}

/// How long the output of a command whose group was killed may take to reach its end (a
/// process that left the group, `setsid`, may hold a pipe open; its output is then dropped).
const PIPE_GRACE: Duration = Duration::from_secs(1);

/// Read `pipe` to its end in a task of its own.
fn drain<R>(pipe: Option<R>) -> tokio::task::JoinHandle<Vec<u8>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut out = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut out).await;
        }
        out
    })
}

/// What [`drain`] read, waiting at most [`PIPE_GRACE`] for the pipe to close.
async fn collect(reading: tokio::task::JoinHandle<Vec<u8>>) -> Vec<u8> {
    let abort = reading.abort_handle();
    match tokio::time::timeout(PIPE_GRACE, reading).await {
        Ok(Ok(out)) => out,
        _ => {
            abort.abort();
            Vec::new()
        }
    }
}

/// Kills a command's process group when dropped.
struct KillGroupOnDrop(Option<u32>);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            group::kill(pgid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exit_codes_output_and_time_limits() {
        let out = run_command(
            &["sh".into(), "-c".into(), "echo hi; exit 3".into()],
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(out.code, Some(3));
        assert_eq!(out.stdout, b"hi\n");
        let slow = run_command(&["sleep".into(), "5".into()], Duration::from_millis(100)).await;
        assert!(matches!(slow, Err(CommandError::Timeout(..))));
        let missing = run_command(
            &["shakedown-no-such-program".into()],
            Duration::from_secs(1),
        )
        .await;
        assert!(matches!(missing, Err(CommandError::Spawn { .. })));
    }

    /// A command that leaves a process in the background holding its output ends when its
    /// leader exits (exit code and output kept), and the background process goes with its group.
    #[tokio::test]
    async fn a_command_ends_when_its_leader_exits_even_if_its_output_stays_open() {
        let mark = format!("{}", 4_000_000 + std::process::id() % 1_000_000);
        let script = format!("echo hi; sleep {mark} & exit 4");
        let started = tokio::time::Instant::now();
        let out = run_command(&["sh".into(), "-c".into(), script], Duration::from_secs(20))
            .await
            .unwrap();
        assert_eq!(out.code, Some(4));
        assert_eq!(out.stdout, b"hi\n");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}: waited for the background process's pipe",
            started.elapsed()
        );
        // SIGKILL lands at once; allow the kernel a moment to take the process away.
        let alive = || {
            let found = std::process::Command::new("pgrep")
                .args(["-f", &format!("sleep {mark}")])
                .output()
                .unwrap();
            !found.stdout.is_empty()
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while alive() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!alive(), "`sleep {mark}` was left running");
    }
}
