//! The request timeout against a real server on loopback: a request that gets no answer
//! ends as `timeout` at its deadline (start + timeout, to a generous bound on a busy
//! machine), one answered in time is never cut short, whichever other requests share the
//! worker, in both models. The worker keeps one alarm for all its requests' deadlines
//! (src/load/client/watch.rs), so these check that the alarm reaches every deadline.

mod support;

use std::time::Duration;

use shakedown::clock::Clock;
use shakedown::config::{Format, parse};
use shakedown::load::{self, ErrorClass, LoadReport};
use support::load::TestServer;

/// The request timeout of these runs.
const TIMEOUT: Duration = Duration::from_millis(400);
/// How late a timeout may end on a busy 2-core machine (the timer's precision is 1 ms).
const SLACK: Duration = Duration::from_millis(1500);

async fn run(yaml: &str) -> LoadReport {
    let spec = parse("timeout.yaml", yaml, Format::Yaml).expect("the spec parses");
    let live = load::start(spec, Clock::start(), Some(7)).expect("the run starts");
    tokio::time::timeout(Duration::from_secs(60), live.finish())
        .await
        .expect("the run ends")
}

/// Every request in `report`'s scenario `i` timed out, each between its deadline and the
/// slack after it (latency equals service time here: nothing waits for a connection).
fn all_timed_out_on_time(report: &LoadReport, i: usize) {
    let s = &report.scenarios[i];
    assert!(s.requests > 0, "{}", report.table());
    assert_eq!(s.errors, s.requests, "{}", report.table());
    let l = &s.latency;
    let (min, max) = (l.min.unwrap(), l.max.unwrap());
    // Histogram values are exact to 3 significant figures: allow 0.1 % below.
    assert!(min >= TIMEOUT.mul_f64(0.999), "{min:?}\n{}", report.table());
    assert!(max <= TIMEOUT + SLACK, "{max:?}\n{}", report.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_timeouts_fire_at_each_deadline_beside_answered_requests() {
    let server = TestServer::start().await;
    // 40/s for 1.5 s: half the requests sleep past the timeout, half are answered at once,
    // so the worker holds several deadlines at once and answers in between.
    let report = run(&format!(
        "target: {url}\nrate: 40/s\nduration: 1500ms\nconnections: 100\nthreads: 1\ntimeout: 400ms\n\
         scenarios:\n  - {{name: slow, weight: 1, request: {{path: /sleep/5000}}}}\n  \
         - {{name: fast, weight: 1, request: {{path: /sleep/20}}}}\n",
        url = server.url()
    ))
    .await;
    let sum = &report.summary;
    assert_eq!(sum.requests, 60, "{}", report.table());
    assert_eq!(sum.cancelled, 0, "{}", report.table());
    let slow = &report.scenarios[0];
    let fast = &report.scenarios[1];
    assert_eq!(slow.requests + fast.requests, 60);
    all_timed_out_on_time(&report, 0);
    assert_eq!(
        report.errors_by_class.get(ErrorClass::Timeout),
        slow.requests
    );
    assert_eq!(sum.errors, slow.requests, "{}", report.table());
    assert_eq!(fast.errors, 0, "{}", report.table());
    // Service time is measured from the actual send: the timed-out ones bound it below.
    assert!(sum.service_time.max.unwrap() >= TIMEOUT.mul_f64(0.999));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_model_timeouts_fire_at_each_deadline() {
    let server = TestServer::start().await;
    // 6 users, 3 requests each, never answered in time: every request times out at its
    // deadline and the user sends the next one at once.
    let report = run(&format!(
        "target: {}/sleep/5000\nusers: 6\nrequests_per_user: 3\nthreads: 2\ntimeout: 400ms\n",
        server.url()
    ))
    .await;
    let sum = &report.summary;
    assert_eq!(sum.requests, 18, "{}", report.table());
    assert_eq!(report.errors_by_class.get(ErrorClass::Timeout), 18);
    all_timed_out_on_time(&report, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_inside_the_timeout_are_never_cut_short() {
    let server = TestServer::start().await;
    // Answers after 20 ms against a 1 s timeout, for 2 s: the alarm fires about twice,
    // each time with requests in flight that are not due.
    let report = run(&format!(
        "target: {}/sleep/20\nrate: 50/s\nduration: 2s\nconnections: 20\nthreads: 1\ntimeout: 1s\n",
        server.url()
    ))
    .await;
    let sum = &report.summary;
    assert_eq!(sum.requests, 100, "{}", report.table());
    assert_eq!(sum.errors, 0, "{}", report.table());
    assert_eq!(server.count("/sleep/20"), 100);
}
