//! Issue 8, items 8–11 and 16 over real HTTP: a refused request changes nothing, at every
//! stage and on every mutating endpoint; names the API accepts can always be addressed;
//! duplicate toxic names are refused everywhere; leases follow their updates; deleted proxies
//! and toxics leave no metric series and no lease timers behind.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use support::proxy::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

async fn state(api: SocketAddr) -> Value {
    http(api, "GET", "/proxies", None).await.json()
}

#[tokio::test]
async fn a_refused_request_changes_nothing_at_any_stage() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "db", up).await;
    add_toxic(
        api,
        "db",
        r#"{"name":"lat","type":"latency","attributes":{"latency":1},"lease_ms":600000}"#,
    )
    .await;
    // A second proxy refusing new connections, whose port someone else then takes.
    let rn_addr = create_proxy(api, "rn", up).await;
    add_toxic(api, "rn", r#"{"name":"down","type":"refuse_new"}"#).await;
    let _rn_squatter = TcpListener::bind(rn_addr).await.expect("rn's port is free");
    let squatter = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let taken = squatter.local_addr().unwrap().to_string();
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let before = state(api).await;

    let p = |name: &str, listen: &str| {
        json!({"name": name, "listen": listen, "upstream": up.to_string()}).to_string()
    };
    let dup_toxics = json!([{"name": "x", "upstream": up.to_string(),
        "toxics": [{"name": "a", "type": "noop"}, {"name": "a", "type": "noop"}]}])
    .to_string();
    let cases: Vec<(&str, &str, Option<String>, u16)> = vec![
        // create: validation, name, upstream resolution, bind, existing name
        ("POST", "/proxies", Some(r#"{"name":"new"}"#.into()), 400),
        ("POST", "/proxies", Some(p("bad name", "127.0.0.1:0")), 400),
        (
            "POST",
            "/proxies",
            Some(r#"{"name":"new","upstream":"nohost"}"#.into()),
            400,
        ),
        ("POST", "/proxies", Some(p("new", &taken)), 409),
        ("POST", "/proxies", Some(p("new", "not an address")), 400),
        ("POST", "/proxies", Some(p("db", "127.0.0.1:0")), 409),
        // update: validation, upstream, listen unparsable, listen taken, unknown proxy
        (
            "PATCH",
            "/proxies/db",
            Some(r#"{"enabled":"yes"}"#.into()),
            400,
        ),
        (
            "PATCH",
            "/proxies/db",
            Some(r#"{"upstream":"nohost"}"#.into()),
            400,
        ),
        (
            "PATCH",
            "/proxies/db",
            Some(r#"{"listen":"not an address"}"#.into()),
            400,
        ),
        (
            "PATCH",
            "/proxies/db",
            Some(json!({"listen": taken}).to_string()),
            409,
        ),
        (
            "POST",
            "/proxies/db",
            Some(json!({"listen": taken, "enabled": true}).to_string()),
            409,
        ),
        ("PATCH", "/proxies/nope", Some("{}".into()), 404),
        (
            "PATCH",
            "/proxies/db",
            Some(r#"{"enabled":false,"listen":"nowhere"}"#.into()),
            400,
        ),
        // delete
        ("DELETE", "/proxies/nope", None, 404),
        // populate: validation, replacing onto a taken port, a later entry failing to bind,
        // duplicate toxic names (issue 8 item 10)
        ("POST", "/populate", Some(r#"[{"name":"db"}]"#.into()), 400),
        (
            "POST",
            "/populate",
            Some(format!("[{}]", p("db", &taken))),
            409,
        ),
        (
            "POST",
            "/populate",
            Some(format!(
                "[{},{}]",
                p("fresh", "127.0.0.1:0"),
                p("other", &taken)
            )),
            409,
        ),
        ("POST", "/populate", Some(dup_toxics.clone()), 409),
        // toxics: validation, bounds, duplicate, unknown, type change
        (
            "POST",
            "/proxies/db/toxics",
            Some(r#"{"type":"latency","attributes":{"latency":-1}}"#.into()),
            400,
        ),
        (
            "POST",
            "/proxies/db/toxics",
            Some(r#"{"name":"b d","type":"noop"}"#.into()),
            400,
        ),
        (
            "POST",
            "/proxies/db/toxics",
            Some(r#"{"name":"lat","type":"noop"}"#.into()),
            409,
        ),
        (
            "POST",
            "/proxies/nope/toxics",
            Some(r#"{"type":"noop"}"#.into()),
            404,
        ),
        (
            "PATCH",
            "/proxies/db/toxics/lat",
            Some(r#"{"attributes":{"latency":86400001}}"#.into()),
            400,
        ),
        (
            "PATCH",
            "/proxies/db/toxics/lat",
            Some(r#"{"type":"bandwidth"}"#.into()),
            400,
        ),
        (
            "PATCH",
            "/proxies/db/toxics/lat",
            Some(r#"{"lease_ms":0}"#.into()),
            400,
        ),
        ("PATCH", "/proxies/db/toxics/nope", Some("{}".into()), 404),
        ("DELETE", "/proxies/db/toxics/nope", None, 404),
        // the refusing proxy cannot listen again: its toxic stays, and so does everything
        ("DELETE", "/proxies/rn/toxics/down", None, 409),
        (
            "PATCH",
            "/proxies/rn/toxics/down",
            Some(r#"{"toxicity":0}"#.into()),
            409,
        ),
        ("POST", "/reset", None, 409),
    ];
    for (method, path, body, status) in cases {
        let r = http(api, method, path, body.as_deref()).await;
        assert_eq!(r.status, status, "{method} {path} {body:?}: {}", r.body);
        assert_eq!(
            state(api).await,
            before,
            "{method} {path} {body:?} answered {status} but changed the state"
        );
        conn.write_all(b"k").await.unwrap();
        assert_eq!(
            read_n(&mut conn, 1).await,
            b"k",
            "{method} {path}: connection"
        );
    }
    let c = TcpStream::connect(addr).await;
    assert!(c.is_ok(), "db still listens");
    srv.shutdown().await;
}

#[tokio::test]
async fn every_name_the_api_accepts_can_be_addressed() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    for bad in [
        "my db",
        "50%",
        "a/b",
        "dé",
        ".hidden",
        "x".repeat(129).as_str(),
    ] {
        let body = json!({"name": bad, "upstream": up.to_string()}).to_string();
        let r = http(api, "POST", "/proxies", Some(&body)).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
        assert!(r.body.contains("name: "), "{bad:?}: {}", r.body);
        let r = http(api, "POST", "/populate", Some(&format!("[{body}]"))).await;
        assert_eq!(r.status, 400, "populate {bad:?}: {}", r.body);
        assert!(r.body.contains("[0].name: "), "{}", r.body);
    }
    assert_eq!(state(api).await, json!({}));
    // A valid name round-trips, percent-encoded or not.
    create_proxy(api, "my-db_1.0", up).await;
    let r = http(api, "GET", "/proxies/my%2Ddb_1%2E0", None).await;
    assert_eq!(
        (r.status, r.json()["name"].clone()),
        (200, json!("my-db_1.0"))
    );
    for bad in ["my db", "t/x", "ü"] {
        let body = json!({"name": bad, "type": "noop"}).to_string();
        let r = http(api, "POST", "/proxies/my-db_1.0/toxics", Some(&body)).await;
        assert_eq!(r.status, 400, "toxic {bad:?}: {}", r.body);
    }
    add_toxic(api, "my-db_1.0", r#"{"name":"t.1","type":"noop"}"#).await;
    let r = http(api, "DELETE", "/proxies/my%2Ddb_1.0/toxics/t%2E1", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = http(api, "DELETE", "/proxies/my%2ddb_1.0", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let r = http(api, "GET", "/proxies/%zz", None).await;
    assert_eq!(r.status, 404);
    srv.shutdown().await;
}

#[tokio::test]
async fn duplicate_toxic_names_are_refused_on_create_and_populate() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let toxics = r#"[{"name":"a","type":"noop"},{"name":"a","type":"latency"}]"#;
    let body = format!(r#"{{"name":"p","upstream":"{up}","toxics":{toxics}}}"#);
    let r = http(api, "POST", "/proxies", Some(&body)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("toxics[1]"), "{}", r.body);
    // Two different defaults are fine; the same default twice is not.
    let body = format!(
        r#"[{{"name":"p","upstream":"{up}","toxics":[{{"type":"noop"}},{{"type":"noop"}}]}}]"#
    );
    let r = http(api, "POST", "/populate", Some(&body)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("[0].toxics[1]"), "{}", r.body);
    assert_eq!(state(api).await, json!({}));
    srv.shutdown().await;
}

async fn toxic_names(api: SocketAddr, proxy: &str) -> Vec<String> {
    let r = http(api, "GET", &format!("/proxies/{proxy}/toxics"), None).await;
    r.json()
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_shortened_lease_expires_on_its_new_schedule() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    create_proxy(api, "p", up).await;
    add_toxic(
        api,
        "p",
        r#"{"name":"short","type":"noop","lease_ms":20000}"#,
    )
    .await;
    add_toxic(api, "p", r#"{"name":"long","type":"noop","lease_ms":1000}"#).await;
    let t0 = Instant::now();
    for (name, lease) in [("short", 1000), ("long", 60000)] {
        let body = json!({"lease_ms": lease}).to_string();
        let r = http(
            api,
            "PATCH",
            &format!("/proxies/p/toxics/{name}"),
            Some(&body),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["lease_ms"].clone()),
            (200, json!(lease))
        );
    }
    // "short" must go about 1 s after its update (not 20 s); "long" must outlive its old 1 s.
    while toxic_names(api, "p").await.contains(&"short".to_string()) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the 1 s lease is not honoured"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500).saturating_sub(t0.elapsed())).await;
    assert_eq!(toxic_names(api, "p").await, vec!["long".to_string()]);
    srv.shutdown().await;
}

#[tokio::test]
async fn deleted_proxies_and_toxics_leave_no_series_and_no_timers() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let tasks = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let baseline = tasks();
    const N: usize = 100;
    for i in 0..N {
        let addr = create_proxy(api, &format!("p{i}"), up).await;
        add_toxic(
            api,
            &format!("p{i}"),
            r#"{"name":"t","type":"noop","lease_ms":3600000}"#,
        )
        .await;
        if i % 10 == 0 {
            // Traffic creates the byte and connection series too.
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"x").await.unwrap();
            assert_eq!(read_n(&mut c, 1).await, b"x");
        }
    }
    add_toxic(
        api,
        "p0",
        r#"{"name":"gone","type":"noop","lease_ms":3600000}"#,
    )
    .await;
    let m = http(api, "GET", "/metrics", None).await.body;
    assert!(m.contains(r#"toxic="gone""#));
    assert!(tasks() >= baseline + N, "one lease timer per leased toxic");
    remove_toxic(api, "p0", "gone").await;
    let m = http(api, "GET", "/metrics", None).await.body;
    assert!(
        !m.contains(r#"toxic="gone""#),
        "a removed toxic's series stays:\n{m}"
    );
    for i in 0..N {
        let r = http(api, "DELETE", &format!("/proxies/p{i}"), None).await;
        assert_eq!(r.status, 204);
    }
    let m = http(api, "GET", "/metrics", None).await.body;
    let left: Vec<&str> = m.lines().filter(|l| l.contains("proxy=\"")).collect();
    assert!(left.is_empty(), "series outlive their proxies: {left:?}");
    // Lease timers end with their toxics (give cancelled tasks a moment to finish).
    let t0 = Instant::now();
    while tasks() > baseline + 10 {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{} tasks alive, {baseline} before",
            tasks()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn the_same_address_spelled_differently_is_not_a_move() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let (up2, _u2) = echo_upstream().await;
    let addr = create_proxy(api, "p", up).await;
    let same = format!("localhost:{}", addr.port());
    let r = http(
        api,
        "PATCH",
        "/proxies/p",
        Some(&json!({"listen": same}).to_string()),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["listen"].clone()),
        (200, json!(addr.to_string()))
    );
    // /populate replaces the proxy (another upstream) on its own address: the socket is
    // handed over, not bound twice.
    let body = json!([{"name": "p", "listen": same, "upstream": up2.to_string()}]).to_string();
    let r = http(api, "POST", "/populate", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["proxies"][0]["listen"], json!(addr.to_string()));
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"r").await.unwrap();
    assert_eq!(read_n(&mut c, 1).await, b"r");
    srv.shutdown().await;
}
