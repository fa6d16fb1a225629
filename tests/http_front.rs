//! An HTTP-mode proxy's relay dials a private front listener on 127.0.0.1. Another local
//! process that finds that port is not a client of the proxy: it is reset without an answer,
//! so it bypasses neither `enabled: false` nor the TCP toxics, and nothing reaches the upstream.
//! (One test in this file: it finds the front among this process's listening sockets.)

mod support;

use std::collections::BTreeSet;

use support::http::*;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The loopback ports this process listens on (from /proc/net/tcp, matched to our descriptors).
fn listening_ports() -> BTreeSet<u16> {
    let ours: BTreeSet<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().to_string();
            l.strip_prefix("socket:[")?
                .strip_suffix(']')
                .map(str::to_string)
        })
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
            let (ip, port) = local.split_once(':')?;
            (*state == "0A" && ip == "0100007F" && ours.contains(*inode))
                .then(|| u16::from_str_radix(port, 16).ok())
                .flatten()
        })
        .collect()
}

#[tokio::test]
async fn a_connection_to_the_front_the_proxy_did_not_dial_is_reset() {
    let srv = server(9).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let before = listening_ports();
    let addr = http_proxy(api, "web", up.addr, "").await;
    // A TCP toxic: the proxy's own connections are relayed through the front.
    add_toxic(api, "web", r#"{"name":"n","type":"noop"}"#).await;
    let mut new: Vec<u16> = listening_ports().difference(&before).copied().collect();
    new.retain(|p| *p != addr.port());
    assert_eq!(new.len(), 1, "the front is the one new listener: {new:?}");
    let front = std::net::SocketAddr::from(([127, 0, 0, 1], new[0]));
    // Through the proxy: served.
    let mut c = H1::connect(addr).await;
    assert_eq!(c.get("/ok").await.unwrap().status, 200);
    assert_eq!(up.requests(), 1);
    // Straight to the front, while enabled and then while disabled: no answer, nothing upstream.
    for enabled in [true, false] {
        if !enabled {
            let r = http(api, "POST", "/proxies/web", Some(r#"{"enabled":false}"#)).await;
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let mut s = TcpStream::connect(front).await.unwrap();
        s.write_all(b"GET /sneak HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut got = Vec::new();
        let read = tokio::time::timeout(STEP, s.read_to_end(&mut got))
            .await
            .expect("ended in time");
        let text = String::from_utf8_lossy(&got);
        assert!(
            !text.contains("200 OK"),
            "enabled {enabled}: {read:?} {text:?}"
        );
        assert_eq!(
            up.requests(),
            1,
            "enabled {enabled}: nothing reaches the upstream"
        );
    }
    srv.shutdown().await;
}
