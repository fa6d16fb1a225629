use super::*;
use crate::fault::{Bandwidth, Latency, LimitData, Toxic, ToxicKind, Toxicity};
use crate::proxy::Metrics;

fn snapshot(toxics: Vec<(u64, Toxic)>) -> Snapshot {
    Snapshot {
        upstream: "127.0.0.1:1".into(),
        http: None,
        toxics: toxics
            .into_iter()
            .map(|(id, toxic)| {
                let metrics = Metrics::new().toxic("p", &toxic);
                Arc::new(ToxicEntry {
                    id,
                    toxic,
                    metrics,
                    requests: Arc::default(),
                })
            })
            .collect(),
    }
}

fn toxic(name: &str, toxicity: f64, kind: ToxicKind) -> Toxic {
    Toxic {
        name: name.into(),
        stream: Stream::Downstream,
        toxicity: Toxicity::new(toxicity).unwrap(),
        kind,
    }
}

fn chain(connection: u64) -> Chain {
    Chain::new(Stream::Downstream, 9, "p".into(), connection)
}

#[tokio::test(start_paused = true)]
async fn updates_keep_state_and_never_reroll() {
    let lat = ToxicKind::Latency(Latency {
        latency: Duration::from_millis(100),
        jitter: Duration::ZERO,
    });
    // Find a connection this toxic affects at 0.5 and one it does not.
    let hit = (1..100)
        .find(|c| {
            let mut ch = chain(*c);
            ch.sync(
                &snapshot(vec![(1, toxic("l", 0.5, lat.clone()))]),
                Instant::now(),
            );
            !ch.is_idle()
        })
        .unwrap();
    let mut ch = chain(hit);
    let now = Instant::now();
    ch.sync(&snapshot(vec![(1, toxic("l", 0.5, lat.clone()))]), now);
    ch.data(now, Bytes::from_static(b"abc"));
    assert_eq!(ch.next_due(), Some(now + Duration::from_millis(100)));
    // Raising the toxicity keeps it affected; the same draw is compared.
    ch.sync(&snapshot(vec![(1, toxic("l", 0.9, lat.clone()))]), now);
    assert!(!ch.is_idle());
    // Toxicity 0 turns it off without touching anything else.
    ch.sync(&snapshot(vec![(1, toxic("l", 0.0, lat))]), now);
    assert!(ch.is_idle());
}

#[tokio::test(start_paused = true)]
async fn limit_data_counts_across_chunks_then_closes() {
    let mut ch = chain(1);
    let lim = ToxicKind::LimitData(LimitData { bytes: 5 });
    let now = Instant::now();
    ch.sync(&snapshot(vec![(1, toxic("lim", 1.0, lim.clone()))]), now);
    ch.data(now, Bytes::from_static(b"abc"));
    assert_eq!(ch.advance(now).len(), 1);
    // An update (same id) keeps the count.
    ch.sync(&snapshot(vec![(1, toxic("lim", 1.0, lim))]), now);
    ch.data(now, Bytes::from_static(b"defg"));
    let items = ch.advance(now);
    assert_eq!(
        items,
        vec![
            Item::Data {
                at: now,
                bytes: Bytes::from_static(b"de")
            },
            Item::Close {
                at: now,
                how: Ending::Fin
            },
        ]
    );
}

fn data_len(items: &[Item]) -> usize {
    items.iter().map(Item::len).sum()
}

#[tokio::test(start_paused = true)]
async fn what_a_toxic_holds_follows_its_removal_and_updates() {
    let slow = ToxicKind::Bandwidth(Bandwidth {
        bytes_per_sec: 1_000,
    });
    let fast = ToxicKind::Bandwidth(Bandwidth {
        bytes_per_sec: 1_000_000,
    });
    let now = Instant::now();
    // An update to a faster rate drains what is held at the new rate, from now.
    let mut ch = chain(1);
    ch.sync(&snapshot(vec![(1, toxic("bw", 1.0, slow.clone()))]), now);
    ch.data(now, Bytes::from(vec![0u8; 100_000]));
    assert_eq!(data_len(&ch.advance(now)), 0);
    assert_eq!(ch.held_bytes(), 100_000);
    ch.sync(&snapshot(vec![(1, toxic("bw", 1.0, fast))]), now);
    let done = now + Duration::from_millis(100);
    assert_eq!(ch.next_due().map(|d| d <= done), Some(true));
    assert_eq!(data_len(&ch.advance(done)), 100_000);
    assert!(ch.is_drained());

    // Removing it releases everything at once; so does a toxicity that no longer affects.
    for after in [vec![], vec![(1, toxic("bw", 0.0, slow.clone()))]] {
        let mut ch = chain(1);
        ch.sync(&snapshot(vec![(1, toxic("bw", 1.0, slow.clone()))]), now);
        ch.data(now, Bytes::from(vec![0u8; 50_000]));
        ch.eof(now);
        assert!(ch.advance(now).is_empty());
        ch.sync(&snapshot(after), now);
        let items = ch.advance(now);
        assert_eq!(data_len(&items), 50_000);
        assert_eq!(items.last(), Some(&Item::Eof { at: now }));
        assert_eq!(ch.held_bytes(), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn a_removed_stage_hands_its_items_to_the_next_one() {
    let lat = |ms| {
        ToxicKind::Latency(Latency {
            latency: Duration::from_millis(ms),
            jitter: Duration::ZERO,
        })
    };
    let now = Instant::now();
    let mut ch = chain(1);
    let both = vec![
        (1, toxic("a", 1.0, lat(10_000))),
        (2, toxic("b", 1.0, lat(100))),
    ];
    ch.sync(&snapshot(both), now);
    ch.data(now, Bytes::from_static(b"x"));
    // "a" goes: the chunk enters "b" now and leaves 100 ms later, not 10.1 s.
    ch.sync(&snapshot(vec![(2, toxic("b", 1.0, lat(100)))]), now);
    assert_eq!(ch.next_due(), Some(now + Duration::from_millis(100)));
    assert_eq!(data_len(&ch.advance(now + Duration::from_millis(100))), 1);
}
