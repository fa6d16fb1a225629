//! Test helpers for the demo target: start the real binary on 127.0.0.1:0,
//! speak plain HTTP/1.1 to it, stop it with SIGKILL or SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a starting demo target may take to print `listening on`.
/// Generous: a debug binary on a busy 2-core machine can take seconds.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Upper bound of one test HTTP exchange (the slowest in these tests is a
/// backend timeout of about a second).
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The path of the built binary.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_shakedown")
}

/// A running `shakedown demo-target`, killed on drop if still running.
pub struct DemoTarget {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl DemoTarget {
    /// Start `shakedown demo-target --listen 127.0.0.1:0 ARGS…` and wait
    /// for its `listening on ADDR` line.
    pub fn start(args: &[&str]) -> DemoTarget {
        Self::start_raw(&[&["demo-target", "--listen", "127.0.0.1:0"], args].concat())
    }

    /// Start the binary with exactly `args` (which must make it listen).
    pub fn start_raw(args: &[&str]) -> DemoTarget {
        let mut child = Command::new(binary())
            .args(args)
            .env("RUST_LOG", "shakedown=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn shakedown");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("demo-target did not print `listening on` within {START_TIMEOUT:?}");
            }
        };
        let Some(addr) = line.trim_end().strip_prefix("listening on ") else {
            let _ = child.kill();
            panic!("unexpected first stdout line {line:?} (args {args:?})");
        };
        let addr = addr.parse().expect("listening address");
        DemoTarget { child, addr }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: the process gets no chance to flush anything.
    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// Send `signal` (`TERM`, `INT`) and wait (bounded) for the exit status.
    pub fn stop(mut self, signal: &str) -> ExitStatus {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} failed");
        wait_exit(&mut self.child, Duration::from_secs(20))
    }

    /// One HTTP request; see [`request`].
    pub fn request(&self, method: &str, path: &str, body: &str) -> Response {
        request(self.addr, method, path, body)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, "")
    }

    /// `PUT /kv/{key}` that must be acknowledged; returns the version.
    pub fn put(&self, key: &str, value: &str) -> u64 {
        let response = self.request("PUT", &format!("/kv/{key}"), value);
        assert_eq!(response.status, 200, "PUT {key}: {}", response.body);
        response.json()["version"].as_u64().expect("version")
    }

    /// The `/stats` counters.
    pub fn stats(&self) -> serde_json::Value {
        let response = self.get("/stats");
        assert_eq!(response.status, 200);
        response.json()
    }
}

impl Drop for DemoTarget {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Wait for `child` to exit, at most `limit`, polling every 20 ms.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    for _ in 0..(limit.as_millis() / 20) {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("process did not exit within {limit:?}");
}

/// An HTTP response as the tests see it.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// The body parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {:?}", self.body))
    }

    /// The first header named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 exchange on a fresh connection (`Connection: close`).
pub fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> Response {
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT).expect("connect");
    stream
        .set_read_timeout(Some(HTTP_TIMEOUT))
        .expect("timeout");
    stream
        .set_write_timeout(Some(HTTP_TIMEOUT))
        .expect("timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send head");
    stream.write_all(body.as_bytes()).expect("send body");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let raw = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_owned(),
    }
}

// ---- reading docs/demo-target.md ----

/// The demo target's documentation page.
pub fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/demo-target.md")).unwrap()
}

/// The bodies of the fenced code blocks tagged `lang`.
pub fn blocks(doc: &str, lang: &str) -> Vec<String> {
    let fence = format!("```{lang}\n");
    doc.split(&fence)
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap().to_owned())
        .collect()
}

/// Split a command line on spaces, honouring single quotes.
pub fn words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    words.extend((!word.is_empty()).then_some(word));
    words
}

/// The `--long-flags` mentioned in `text`.
pub fn long_flags(text: &str) -> std::collections::BTreeSet<String> {
    let flag = regex::Regex::new(r"--[a-z][a-z-]*").unwrap();
    flag.find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

/// The body of the `## heading` section of `doc`.
pub fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .expect("the section");
    start.split("\n## ").next().unwrap_or(start)
}

/// A `curl` command of the documentation's console session.
#[derive(Debug)]
pub struct Curl {
    /// `-X`, or GET.
    pub method: String,
    /// The URL's path on `127.0.0.1:18080`.
    pub path: String,
    /// `--data`, or empty.
    pub body: String,
    /// `-o /dev/null -w '%{http_code}\n'`: the output is the status code.
    pub status_only: bool,
}

impl Curl {
    /// Parse the arguments of `curl` (the subset the documentation uses).
    pub fn parse(command: &str) -> Curl {
        let mut curl = Curl {
            method: "GET".into(),
            path: String::new(),
            body: String::new(),
            status_only: false,
        };
        let mut args = words(command).into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-s" => {}
                "-X" => curl.method = args.next().expect("-X METHOD"),
                "--data" => curl.body = args.next().expect("--data VALUE"),
                "-o" => assert_eq!(args.next().as_deref(), Some("/dev/null")),
                "-w" => curl.status_only = args.next().as_deref() == Some("%{http_code}\\n"),
                url => {
                    let path = url.strip_prefix("http://127.0.0.1:18080");
                    curl.path = path.unwrap_or_else(|| panic!("unexpected {url:?}")).into();
                }
            }
        }
        curl
    }
}

/// Start answering 200 to every request on `listener`, a backend that until
/// now hung every call (it accepted nothing, so calls timed out).
pub fn serve_ok(listener: std::net::TcpListener) {
    std::thread::spawn(move || {
        // Bounded: a test ends long before this many connections.
        for stream in listener.incoming().take(1000) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                if matches!(stream.read(&mut buf), Ok(n) if n > 0) {
                    let ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = stream.write_all(ok.as_bytes());
                }
            });
        }
    });
}

/// Every page of docs/ (`*.md`), sorted.
pub fn doc_pages() -> Vec<std::path::PathBuf> {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut pages: Vec<_> = std::fs::read_dir(docs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages
}
