//! Single-node engines: the memory broker (history streams) and presence manager.

mod broker;
mod presence;
mod stream;

pub use broker::{MemoryBroker, MemoryBrokerConfig};
pub use presence::MemoryPresenceManager;
