use std::task::Context;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::coop;

use super::*;
use crate::fault::{Stream, Timeout, Toxic, ToxicKind, Toxicity};
use crate::proxy::{Metrics, ToxicEntry};

/// A connected pair of loopback sockets.
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dial = TcpStream::connect(listener.local_addr().unwrap());
    let (dialled, accepted) = tokio::join!(dial, listener.accept());
    (dialled.unwrap(), accepted.unwrap().0)
}

fn snapshot(toxics: Vec<Toxic>) -> Arc<Snapshot> {
    Arc::new(Snapshot {
        upstream: "127.0.0.1:1".into(),
        http: None,
        toxics: toxics
            .into_iter()
            .enumerate()
            .map(|(id, toxic)| {
                let metrics = Metrics::new().toxic("p", &toxic);
                Arc::new(ToxicEntry {
                    id: id as u64,
                    toxic,
                    metrics,
                    requests: Arc::default(),
                })
            })
            .collect(),
    })
}

/// Spend the task's whole cooperative budget, as a poll that moved much data does.
fn spend_budget(cx: &mut Context<'_>) {
    while let Poll::Ready(restore) = coop::poll_proceed(cx) {
        restore.made_progress();
    }
}

/// The pipe enters its zero-copy path in a poll whose budget is spent (tokio then refuses the
/// first poll of the configuration's `changed` before it registers anything). A toxic added
/// later must still reach it: here a `timeout` that closes the idle connection.
#[tokio::test]
async fn a_toxic_added_reaches_a_pipe_that_went_fast_with_its_budget_spent() {
    let (mut upstream, _upstream_peer) = pair().await;
    let (mut front, _client) = pair().await;
    let (tx, rx) = watch::channel(snapshot(Vec::new()));
    let mut pipe = Pipe {
        chain: Chain::new(Stream::Downstream, 1, "p".into(), 1),
        config: rx,
        bytes: StripedCounter::default(),
        budget: FdBudget::new(65_536),
    };
    let (src, _) = upstream.split();
    let (_, dst) = front.split();
    let mut run = pin!(pipe.run(src, dst));
    let mut spent = false;
    let ran = poll_fn(|cx| {
        if !spent {
            spent = true;
            spend_budget(cx);
        }
        run.as_mut().poll(cx)
    });
    let change = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let timeout = Toxic {
            name: "t".into(),
            stream: Stream::Downstream,
            toxicity: Toxicity::new(1.0).unwrap(),
            kind: ToxicKind::Timeout(Timeout {
                timeout: Duration::from_millis(50),
            }),
        };
        tx.send(snapshot(vec![timeout])).unwrap();
    };
    let (end, ()) =
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(ran, change) })
            .await
            .expect("the added timeout never reached the pipe");
    assert_eq!(end, PipeEnd::Kill(Ending::Fin));
}
