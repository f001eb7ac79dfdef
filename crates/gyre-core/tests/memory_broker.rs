//! The memory broker's history, idempotency and version rules.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gyre_core::{
    Broker, BrokerEventHandler, HistoryOptions, MemoryBroker, MemoryBrokerConfig, PublishOptions,
    StreamPosition,
};
use gyre_protocol::{ClientInfo, Publication};
use parking_lot::Mutex;

#[derive(Default)]
struct Recorder {
    publications: Mutex<Vec<(String, u64, StreamPosition, bool)>>,
    joins: Mutex<Vec<String>>,
}

impl BrokerEventHandler for Recorder {
    fn handle_publication(
        &self,
        channel: &str,
        publication: Arc<Publication>,
        position: StreamPosition,
        _delta: bool,
        prev: Option<Arc<Publication>>,
    ) {
        self.publications
            .lock()
            .push((channel.to_string(), publication.offset, position, prev.is_some()));
    }
    fn handle_join(&self, channel: &str, _info: ClientInfo) {
        self.joins.lock().push(channel.to_string());
    }
    fn handle_leave(&self, _channel: &str, _info: ClientInfo) {}
}

fn broker() -> (MemoryBroker, Arc<Recorder>) {
    let broker = MemoryBroker::new(MemoryBrokerConfig::default());
    let recorder = Arc::new(Recorder::default());
    broker.register_event_handler(recorder.clone());
    (broker, recorder)
}

fn with_history(size: usize) -> PublishOptions {
    PublishOptions {
        history_size: size,
        history_ttl: Duration::from_secs(60),
        ..Default::default()
    }
}

fn data() -> Bytes {
    Bytes::from_static(b"{}")
}

#[tokio::test]
async fn offsets_start_at_one_with_a_stable_epoch() {
    let (broker, recorder) = broker();
    let first = broker.publish("c", data(), with_history(10)).await.unwrap();
    let second = broker.publish("c", data(), with_history(10)).await.unwrap();
    assert_eq!(first.position.offset, 1);
    assert_eq!(second.position.offset, 2);
    assert_eq!(first.position.epoch, second.position.epoch);
    assert_eq!(first.position.epoch.len(), 8);
    assert!(first.position.epoch.chars().all(|c| c.is_ascii_alphabetic()));
    let recorded = recorder.publications.lock().clone();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].1, 2);
    assert_eq!(recorded[1].2, second.position);
}

#[tokio::test]
async fn publish_without_history_has_no_position() {
    let (broker, recorder) = broker();
    for opts in [
        PublishOptions::default(),
        PublishOptions {
            history_size: 10,
            ..Default::default()
        },
    ] {
        let r = broker.publish("c", data(), opts).await.unwrap();
        assert_eq!(r.position, StreamPosition::default());
        assert!(!r.suppressed);
    }
    assert_eq!(recorder.publications.lock().len(), 2);
    // Nothing was stored: the stream (created by this read) is empty.
    let h = broker
        .history(
            "c",
            HistoryOptions {
                limit: -1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(h.publications.is_empty());
    assert_eq!(h.position.offset, 0);
}

#[tokio::test]
async fn history_reads() {
    let (broker, _) = broker();
    for _ in 0..5 {
        broker.publish("c", data(), with_history(3)).await.unwrap();
    }
    let read = |limit: i32, since: Option<u64>, reverse: bool| {
        let broker = broker.clone();
        async move {
            let top = broker
                .history("c", HistoryOptions::default())
                .await
                .unwrap()
                .position;
            let since = since.map(|offset| StreamPosition {
                offset,
                epoch: top.epoch.clone(),
            });
            let h = broker
                .history(
                    "c",
                    HistoryOptions {
                        limit,
                        since,
                        reverse,
                        meta_ttl: None,
                    },
                )
                .await
                .unwrap();
            h.publications.iter().map(|p| p.offset).collect::<Vec<_>>()
        }
    };
    assert_eq!(read(0, None, false).await, Vec::<u64>::new());
    assert_eq!(read(-1, None, false).await, vec![3, 4, 5]);
    assert_eq!(read(2, None, true).await, vec![5, 4]);
    assert_eq!(read(-1, Some(3), false).await, vec![4, 5]);
    assert_eq!(read(-1, Some(5), false).await, Vec::<u64>::new());
    assert_eq!(read(-1, Some(5), true).await, vec![4, 3]);
    let h = broker.history("c", HistoryOptions::default()).await.unwrap();
    assert_eq!(h.position.offset, 5);
}

#[tokio::test]
async fn idempotent_publish_is_suppressed() {
    let (broker, recorder) = broker();
    let opts = PublishOptions {
        idempotency_key: Some("k1".into()),
        ..with_history(10)
    };
    let first = broker.publish("c", data(), opts.clone()).await.unwrap();
    let again = broker.publish("c", data(), opts.clone()).await.unwrap();
    assert!(!first.suppressed);
    assert!(again.suppressed);
    assert_eq!(again.position, first.position);
    assert_eq!(recorder.publications.lock().len(), 1);
    // Keys are per channel.
    let other = broker.publish("d", data(), opts).await.unwrap();
    assert!(!other.suppressed);
}

#[tokio::test(start_paused = true)]
async fn idempotency_result_expires() {
    let (broker, recorder) = broker();
    let opts = PublishOptions {
        idempotency_key: Some("k".into()),
        idempotent_result_ttl: Some(Duration::from_secs(10)),
        ..with_history(10)
    };
    broker.publish("c", data(), opts.clone()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(11)).await;
    let r = broker.publish("c", data(), opts).await.unwrap();
    assert!(!r.suppressed);
    assert_eq!(r.position.offset, 2);
    assert_eq!(recorder.publications.lock().len(), 2);
}

#[tokio::test]
async fn stale_versions_are_suppressed() {
    let (broker, recorder) = broker();
    let v = |version: u64, epoch: &str| PublishOptions {
        version,
        version_epoch: epoch.into(),
        ..with_history(10)
    };
    assert!(!broker.publish("c", data(), v(5, "a")).await.unwrap().suppressed);
    let stale = broker.publish("c", data(), v(4, "a")).await.unwrap();
    assert!(stale.suppressed);
    assert_eq!(stale.position.offset, 1);
    assert!(broker.publish("c", data(), v(5, "")).await.unwrap().suppressed);
    assert!(!broker.publish("c", data(), v(6, "a")).await.unwrap().suppressed);
    // A new version epoch starts over.
    assert!(!broker.publish("c", data(), v(1, "b")).await.unwrap().suppressed);
    assert_eq!(recorder.publications.lock().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn history_ttl_drops_items_but_keeps_position() {
    let (broker, _) = broker();
    let opts = PublishOptions {
        history_size: 10,
        history_ttl: Duration::from_secs(5),
        ..Default::default()
    };
    let r = broker.publish("c", data(), opts).await.unwrap();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let h = broker
        .history(
            "c",
            HistoryOptions {
                limit: -1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(h.publications.is_empty());
    assert_eq!(h.position, r.position);
}

#[tokio::test(start_paused = true)]
async fn meta_ttl_forgets_the_stream() {
    let (broker, _) = broker();
    let opts = PublishOptions {
        history_meta_ttl: Some(Duration::from_secs(30)),
        ..with_history(10)
    };
    let r = broker.publish("c", data(), opts.clone()).await.unwrap();
    // Reads keep the meta alive.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let meta = HistoryOptions {
        meta_ttl: Some(Duration::from_secs(30)),
        ..Default::default()
    };
    assert_eq!(
        broker.history("c", meta.clone()).await.unwrap().position,
        r.position
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        broker.history("c", meta.clone()).await.unwrap().position,
        r.position
    );
    tokio::time::sleep(Duration::from_secs(31)).await;
    let after = broker.history("c", meta).await.unwrap().position;
    assert_eq!(after.offset, 0);
    assert_ne!(after.epoch, r.position.epoch);
    // The next publish continues in the new stream.
    let next = broker.publish("c", data(), opts).await.unwrap();
    assert_eq!(next.position.offset, 1);
    assert_eq!(next.position.epoch, after.epoch);
}

#[tokio::test]
async fn remove_history_keeps_meta() {
    let (broker, _) = broker();
    let r = broker.publish("c", data(), with_history(10)).await.unwrap();
    broker.remove_history("c").await.unwrap();
    let h = broker
        .history(
            "c",
            HistoryOptions {
                limit: -1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(h.publications.is_empty());
    assert_eq!(h.position, r.position);
}

#[tokio::test]
async fn delta_publish_passes_previous_publication() {
    let (broker, recorder) = broker();
    let opts = PublishOptions {
        delta: true,
        ..with_history(10)
    };
    broker.publish("c", data(), opts.clone()).await.unwrap();
    broker.publish("c", data(), opts).await.unwrap();
    let recorded = recorder.publications.lock().clone();
    assert!(!recorded[0].3);
    assert!(recorded[1].3);
}

#[tokio::test]
async fn join_goes_to_the_handler() {
    let (broker, recorder) = broker();
    broker.publish_join("c", ClientInfo::default()).await.unwrap();
    assert_eq!(recorder.joins.lock().clone(), vec!["c".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_are_delivered_in_offset_order() {
    let (broker, recorder) = broker();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let broker = broker.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..250 {
                broker.publish("c", data(), with_history(100)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let offsets: Vec<u64> = recorder.publications.lock().iter().map(|p| p.1).collect();
    assert_eq!(offsets, (1..=1000).collect::<Vec<_>>());
}
