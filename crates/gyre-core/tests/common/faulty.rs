//! A memory broker whose delivery to the node can misbehave the way a real PUB/SUB does: lose
//! publications (they stay in the history stream), hold one back, age publications (PUB/SUB lag)
//! or deliver publications that never reached the stream.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use gyre_core::{
    Broker, BrokerError, BrokerEventHandler, HistoryOptions, HistoryResult, MemoryBroker,
    MemoryPresenceManager, Node, NodeConfig, PublishOptions, PublishResult, StreamPosition,
};
use gyre_protocol::{ClientInfo, Publication};
use parking_lot::Mutex;
use rand::Rng;
use tokio::sync::oneshot;

type Held = (String, Arc<Publication>, StreamPosition);

#[derive(Default)]
pub struct Faults {
    /// The next this many deliveries are lost.
    drop_next: AtomicUsize,
    /// Each delivery is lost with this probability (per mille).
    drop_per_mille: AtomicU32,
    /// The next delivery is held back until [`FaultyBroker::release`].
    hold_next: AtomicUsize,
    held: Mutex<Vec<Held>>,
    /// Milliseconds subtracted from every delivered publication's `time`.
    age_ms: AtomicI64,
    /// History reads wait up to this many microseconds before and after reading (a broker's
    /// round trip), which widens the window in which a subscribe races publications.
    history_delay_us: AtomicU64,
    /// The next history read signals the first sender once it has read, then waits for the
    /// second to resume.
    gate: Mutex<Option<(oneshot::Sender<()>, oneshot::Receiver<()>)>>,
    /// Deliveries lost so far.
    pub dropped: AtomicUsize,
}

struct Interceptor {
    target: Arc<dyn BrokerEventHandler>,
    faults: Arc<Faults>,
}

fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
        .is_ok()
}

impl BrokerEventHandler for Interceptor {
    fn handle_publication(
        &self,
        channel: &str,
        publication: Arc<Publication>,
        position: StreamPosition,
        delta: bool,
        prev: Option<Arc<Publication>>,
    ) {
        let f = &self.faults;
        let per_mille = f.drop_per_mille.load(Ordering::Acquire);
        if take_one(&f.drop_next) || (per_mille > 0 && rand::rng().random_range(0..1000) < per_mille) {
            f.dropped.fetch_add(1, Ordering::AcqRel);
            return;
        }
        let age = f.age_ms.load(Ordering::Acquire);
        let publication = if age > 0 {
            let mut aged = (*publication).clone();
            aged.time -= age;
            Arc::new(aged)
        } else {
            publication
        };
        if take_one(&f.hold_next) {
            f.held.lock().push((channel.to_string(), publication, position));
            return;
        }
        self.target
            .handle_publication(channel, publication, position, delta, prev);
    }

    fn handle_join(&self, channel: &str, info: ClientInfo) {
        self.target.handle_join(channel, info);
    }

    fn handle_leave(&self, channel: &str, info: ClientInfo) {
        self.target.handle_leave(channel, info);
    }
}

pub struct FaultyBroker {
    inner: MemoryBroker,
    pub faults: Arc<Faults>,
    target: OnceLock<Arc<dyn BrokerEventHandler>>,
}

impl FaultyBroker {
    pub fn new() -> FaultyBroker {
        FaultyBroker {
            inner: MemoryBroker::default(),
            faults: Arc::new(Faults::default()),
            target: OnceLock::new(),
        }
    }

    pub fn drop_next(&self, n: usize) {
        self.faults.drop_next.store(n, Ordering::Release);
    }

    pub fn drop_per_mille(&self, p: u32) {
        self.faults.drop_per_mille.store(p, Ordering::Release);
    }

    pub fn hold_next(&self) {
        self.faults.hold_next.store(1, Ordering::Release);
    }

    /// Delivers what was held back.
    pub fn release(&self) {
        let held = std::mem::take(&mut *self.faults.held.lock());
        for (channel, publication, position) in held {
            self.target()
                .handle_publication(&channel, publication, position, false, None);
        }
    }

    pub fn age(&self, ms: i64) {
        self.faults.age_ms.store(ms, Ordering::Release);
    }

    pub fn history_delay(&self, max: Duration) {
        self.faults
            .history_delay_us
            .store(max.as_micros() as u64, Ordering::Release);
    }

    /// Pauses the next history read right after it read the stream: returns "has read" and
    /// "resume".
    pub fn gate_next_history(&self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (read_tx, read_rx) = oneshot::channel();
        let (resume_tx, resume_rx) = oneshot::channel();
        *self.faults.gate.lock() = Some((read_tx, resume_rx));
        (read_rx, resume_tx)
    }

    async fn latency(&self) {
        let max = self.faults.history_delay_us.load(Ordering::Acquire);
        if max > 0 {
            let us = rand::rng().random_range(0..max);
            tokio::time::sleep(Duration::from_micros(us)).await;
        }
    }

    pub fn dropped(&self) -> usize {
        self.faults.dropped.load(Ordering::Acquire)
    }

    /// Delivers a publication the stream never had (as a PUB/SUB from a diverged primary would).
    pub fn inject(&self, channel: &str, offset: u64, epoch: &str) {
        let publication = Publication {
            data: Bytes::from_static(b"{}"),
            offset,
            ..Default::default()
        };
        let position = StreamPosition {
            offset,
            epoch: epoch.into(),
        };
        self.target()
            .handle_publication(channel, Arc::new(publication), position, false, None);
    }

    fn target(&self) -> &Arc<dyn BrokerEventHandler> {
        self.target.get().expect("node registered")
    }
}

#[async_trait]
impl Broker for FaultyBroker {
    fn register_event_handler(&self, handler: Arc<dyn BrokerEventHandler>) {
        let _ = self.target.set(handler.clone());
        self.inner.register_event_handler(Arc::new(Interceptor {
            target: handler,
            faults: self.faults.clone(),
        }));
    }
    async fn publish(
        &self,
        ch: &str,
        data: Bytes,
        opts: PublishOptions,
    ) -> Result<PublishResult, BrokerError> {
        self.inner.publish(ch, data, opts).await
    }
    async fn publish_join(&self, ch: &str, info: ClientInfo) -> Result<(), BrokerError> {
        self.inner.publish_join(ch, info).await
    }
    async fn publish_leave(&self, ch: &str, info: ClientInfo) -> Result<(), BrokerError> {
        self.inner.publish_leave(ch, info).await
    }
    async fn subscribe(&self, chs: &[String]) -> Result<(), BrokerError> {
        self.inner.subscribe(chs).await
    }
    async fn unsubscribe(&self, chs: &[String]) -> Result<(), BrokerError> {
        self.inner.unsubscribe(chs).await
    }
    async fn history(&self, ch: &str, opts: HistoryOptions) -> Result<HistoryResult, BrokerError> {
        self.latency().await;
        let result = self.inner.history(ch, opts).await;
        let gate = self.faults.gate.lock().take();
        if let Some((read, resume)) = gate {
            let _ = read.send(());
            let _ = resume.await;
        }
        self.latency().await;
        result
    }
    async fn remove_history(&self, ch: &str) -> Result<(), BrokerError> {
        self.inner.remove_history(ch).await
    }
}

/// A node on a [`FaultyBroker`].
pub fn faulty_node(
    config: NodeConfig,
    handler: Arc<dyn gyre_core::ClientHandler>,
) -> (Node, Arc<FaultyBroker>) {
    let broker = Arc::new(FaultyBroker::new());
    let node = Node::with_engines(
        config,
        handler,
        broker.clone(),
        Arc::new(MemoryPresenceManager::new()),
    );
    (node, broker)
}
