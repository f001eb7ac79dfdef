//! JSON protocol codec. Implemented by the protocol work package (see `codec.rs` for the contract).
