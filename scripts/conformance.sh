#!/usr/bin/env bash
# Toxiproxy client conformance: run the `toxiproxy_rust` crate's own 11 tests
# (fetched from crates.io with cargo, never vendored or edited) against
# `shakedown serve` on 127.0.0.1:8474, the address those tests hard-code.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CRATE=toxiproxy_rust
VERSION=0.1.6
PORT=8474
CARGO=${CARGO:-cargo}

# 1. The address must be free: the tests talk to whatever answers there.
if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then
    echo "conformance: 127.0.0.1:$PORT is already in use by another process; stop it first" >&2
    exit 1
fi

# 2. Build shakedown.
$CARGO build --quiet --bin shakedown
BIN=$ROOT/target/debug/shakedown

# 3. Fetch the crate through cargo (a throw-away project depending on it).
WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
mkdir -p "$WORK/fetch/src"
cat > "$WORK/fetch/Cargo.toml" <<TOML
[package]
name = "fetch-$CRATE"
version = "0.0.0"
edition = "2021"
[dependencies]
$CRATE = "=$VERSION"
TOML
: > "$WORK/fetch/src/lib.rs"
(cd "$WORK/fetch" && $CARGO fetch --quiet)
SRC=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$CRATE-$VERSION" 2>/dev/null | head -n1)
if [ -z "$SRC" ] || [ ! -f "$SRC/tests/$CRATE.rs" ]; then
    echo "conformance: cannot find the fetched $CRATE-$VERSION sources" >&2
    exit 1
fi
cp -r "$SRC" "$WORK/crate"
# Keep the client's build between runs (it does not depend on shakedown).
export CARGO_TARGET_DIR=$ROOT/target/conformance
(cd "$WORK/crate" && $CARGO test --quiet --test "$CRATE" --no-run)

# 4. Start the server and wait until it answers (bounded: 10 s).
"$BIN" serve --host 127.0.0.1 --port $PORT --seed 1 > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "conformance: shakedown serve exited early:" >&2
        cat "$WORK/serve.err" >&2
        exit 1
    fi
    sleep 0.1
done
grep -q "listening on" "$WORK/serve.out" || { echo "conformance: server did not start" >&2; exit 1; }

# 5. The crate's own tests, single-threaded, against the fresh server.
set +e
(cd "$WORK/crate" && $CARGO test --test "$CRATE" -- --test-threads=1) 2>&1 | tee "$WORK/test.log"
STATUS=${PIPESTATUS[0]}
set -e
if [ "$STATUS" -ne 0 ]; then
    echo "conformance: FAILED (server log follows)" >&2
    tail -n 50 "$WORK/serve.err" >&2
    exit 1
fi
if ! grep -q "test result: ok. 11 passed; 0 failed" "$WORK/test.log"; then
    echo "conformance: expected exactly 11 passing tests" >&2
    exit 1
fi
echo "conformance: 11/11 $CRATE $VERSION tests passed against shakedown serve"

# 6. The same client adds an HTTP toxic to an HTTP-mode proxy (issue 9): a fresh server whose
#    --config declares the proxy `web` with `protocol: http`; the client, which knows nothing of
#    protocols, populates it with an `http_abort` toxic (its /populate keeps the protocol).
kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
cat > "$WORK/http.yaml" <<'YAML'
- {name: web, listen: "127.0.0.1:0", upstream: "127.0.0.1:9", protocol: http}
YAML
cat > "$WORK/crate/tests/shakedown_http.rs" <<'RUST'
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use toxiproxy_rust::proxy::ProxyPack;
use toxiproxy_rust::toxic::ToxicPack;
use toxiproxy_rust::TOXIPROXY;

#[test]
fn the_client_adds_an_http_abort_toxic_to_an_http_mode_proxy() {
    let web = TOXIPROXY.find_proxy("web").expect("proxy web from --config");
    let listen = web.proxy_pack.listen.clone();
    let mut attributes = HashMap::new();
    attributes.insert("status".to_string(), 503u32);
    let toxic = ToxicPack {
        name: "abort".into(),
        r#type: "http_abort".into(),
        stream: "downstream".into(),
        toxicity: 1.0,
        attributes,
    };
    let pack = ProxyPack {
        name: "web".into(),
        listen: listen.clone(),
        upstream: web.proxy_pack.upstream.clone(),
        enabled: true,
        toxics: vec![toxic],
    };
    TOXIPROXY.populate(vec![pack]).expect("populate");
    let toxics = TOXIPROXY.find_proxy("web").unwrap().toxics().expect("toxics");
    assert_eq!(toxics.len(), 1);
    assert_eq!(toxics[0].r#type, "http_abort");
    let mut s = TcpStream::connect(&listen).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 503"), "{out}");
    assert!(out.to_ascii_lowercase().contains("x-shakedown-fault: abort"), "{out}");
}
RUST
: > "$WORK/serve.out"
"$BIN" serve --host 127.0.0.1 --port $PORT --seed 1 --config "$WORK/http.yaml" > "$WORK/serve.out" 2> "$WORK/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    grep -q "listening on" "$WORK/serve.out" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/serve.err" >&2; exit 1; }
    sleep 0.1
done
if ! (cd "$WORK/crate" && $CARGO test --quiet --test shakedown_http) > "$WORK/http.log" 2>&1; then
    cat "$WORK/http.log" >&2
    echo "conformance: FAILED: $CRATE could not add an http_abort toxic to an HTTP-mode proxy" >&2
    exit 1
fi
echo "conformance: $CRATE $VERSION added an http_abort toxic to an HTTP-mode proxy"
