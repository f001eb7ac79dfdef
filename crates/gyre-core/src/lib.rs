//! Gyre's embeddable core, the Rust counterpart of the Go `centrifuge` library.
//!
//! * [`Node`] owns the hub (connections by user, subscriptions by channel), the [`Broker`] and
//!   [`PresenceManager`], and the application's [`ClientHandler`].
//! * A transport hands a connection to [`Node::serve_connection`] as a [`TransportReader`] and a
//!   [`TransportWriter`]; one task reads and processes commands in order, one task owns the writer
//!   and drains a byte-accounted outbox (overflow → disconnect 3008).
//! * Publications are encoded once per protocol and shared as `Bytes` by every subscriber.
//!
//! No HTTP, gRPC, Redis or NATS dependency lives here.
#![forbid(unsafe_code)]

pub mod broker;
pub mod client;
mod clock;
pub mod disconnect;
pub mod error;
pub mod handler;
mod hub;
pub mod memory;
pub mod node;
pub mod observer;
pub mod options;
mod outbox;
pub mod presence;
pub mod tags_filter;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod transport;

pub use broker::{Broker, BrokerError, BrokerEventHandler, HistoryResult, PublishResult, StreamPosition};
pub use client::ClientRef;
pub use disconnect::{Disconnect, Unsubscribe};
pub use error::Error;
pub use handler::*;
pub use memory::{MemoryBroker, MemoryBrokerConfig, MemoryPresenceManager};
pub use node::{Node, NodeConfig, NodeInfo};
pub use observer::{NoopObserver, Observer};
pub use options::*;
pub use presence::{PresenceManager, PresenceStats};
pub use transport::{ProtocolType, ReadError, TransportInfo, TransportReader, TransportWriter};
