//! The connection worker threads of `shakedown serve` (`SHAKEDOWN_PROXY_THREADS`): as many as
//! asked, connections proxied on them (or on the main runtime with 0), closed by SIGTERM, and a
//! bad count refused before anything listens.

mod support;

use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The threads of process `pid` named `proxy-worker-N`.
fn worker_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the process's threads")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("proxy-worker-"))
        .count()
}

/// One round trip of `text` through `c` (the upstream echoes).
async fn round_trip(c: &mut TcpStream, text: &[u8]) {
    c.write_all(text).await.unwrap();
    assert_eq!(read_n(c, text.len()).await, text);
}

#[tokio::test]
async fn connections_run_on_the_asked_number_of_workers_and_sigterm_closes_them() {
    for threads in ["3", "0"] {
        let (mut child, api) = spawn_serve_env(
            &["--port".as_ref(), "0".as_ref()],
            &[("SHAKEDOWN_PROXY_THREADS", threads)],
        )
        .await;
        let pid = child.id().expect("serve runs");
        let (up, _u) = echo_upstream().await;
        let addr = create_proxy(api, "w", up).await;
        // More connections than workers: each worker serves some, every one answers.
        let mut conns = Vec::new();
        for i in 0..5u8 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            round_trip(&mut c, &[i; 100]).await;
            conns.push(c);
        }
        for (i, c) in conns.iter_mut().enumerate() {
            round_trip(c, format!("again {i}").as_bytes()).await;
        }
        assert_eq!(
            worker_threads(pid),
            threads.parse::<usize>().unwrap(),
            "SHAKEDOWN_PROXY_THREADS={threads}"
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = tokio::time::timeout(STEP, child.wait())
            .await
            .expect("serve exits after SIGTERM")
            .unwrap();
        assert_eq!(status.code(), Some(0), "SHAKEDOWN_PROXY_THREADS={threads}");
        for c in &mut conns {
            let mut rest = Vec::new();
            let read = tokio::time::timeout(STEP, c.read_to_end(&mut rest)).await;
            assert!(
                matches!(read, Ok(Ok(0)) | Ok(Err(_))),
                "each connection is closed: {read:?}"
            );
        }
    }
}

#[test]
fn a_bad_thread_count_is_refused_with_exit_2_naming_the_variable() {
    for bad in ["x", "-1", "1025", "+2", " 2", "2.5"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
            .args(["serve", "--port", "0"])
            .env("SHAKEDOWN_PROXY_THREADS", bad)
            .stdout(std::process::Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(
            stderr.contains("SHAKEDOWN_PROXY_THREADS") && stderr.contains(&format!("{bad:?}")),
            "{bad:?}: {stderr}"
        );
    }
}
