//! Integration tests of the HTTP API against a real memory-engine node.

mod batch;
mod common;
mod http;
mod live;
mod publish;
mod queries;
