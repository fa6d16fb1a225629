//! The flags that name an address to listen on (`serve --host`, `gameday --host`, `load
//! --serve`): a name that does not resolve is bad input (exit 2) naming the flag; a port another
//! process holds is the host's state (exit 3), also naming the flag.
//!
//! Before: `serve --host nosuch.invalid` and `gameday --host nosuch.invalid` exited 3, and
//! `load --serve` on a port in use exited 2.

mod support;

use support::runner::shakedown;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unresolvable_name_is_exit_2_and_a_port_in_use_exit_3_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.md");
    let journal = journal.to_str().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let in_use = format!("127.0.0.1:{port}");
    // `.invalid` never resolves (RFC 6761).
    let load = |serve: &str| {
        [
            "load",
            "http://127.0.0.1:9/",
            "--rate",
            "1/s",
            "--duration",
            "1s",
            "-q",
            "--serve",
        ]
        .into_iter()
        .map(String::from)
        .chain([serve.to_string()])
        .collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, i32, String)> = vec![
        (
            ["serve", "--host", "nosuch.invalid", "--port", "0"]
                .map(String::from)
                .to_vec(),
            2,
            "--host/--port: cannot resolve nosuch.invalid:0".into(),
        ),
        (
            [
                "gameday",
                "--host",
                "nosuch.invalid",
                "--port",
                "0",
                "--journal",
                journal,
            ]
            .map(String::from)
            .to_vec(),
            2,
            "--host/--port: cannot resolve nosuch.invalid:0".into(),
        ),
        (
            load("nosuch.invalid:0"),
            2,
            "--serve: cannot resolve nosuch.invalid:0".into(),
        ),
        (
            ["serve", "--host", "127.0.0.1", "--port", &port]
                .map(String::from)
                .to_vec(),
            3,
            format!("--host/--port: cannot listen on {in_use}"),
        ),
        (
            load(&in_use),
            3,
            format!("--serve: cannot listen on {in_use}"),
        ),
    ];
    for (args, code, says) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let ran = shakedown(&args).await;
        assert_eq!(ran.code, code, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(&says), "{args:?}: {}", ran.stderr);
    }
    drop(taken);
}
