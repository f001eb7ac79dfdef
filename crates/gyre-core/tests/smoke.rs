use std::sync::Arc;

use gyre_core::testing::{self, TestHandler};
use gyre_core::{Node, NodeConfig, ProtocolType};

#[tokio::test]
async fn connect_smoke() {
    let node = Node::new(NodeConfig::default(), Arc::new(TestHandler::default()));
    let mut conn = testing::connect(&node, testing::transport_info(ProtocolType::Json));
    conn.send_json(r#"{"id":1,"connect":{"token":"alice"}}"#);
    let reply = conn.recv_json().await.unwrap();
    println!("{reply}");
    assert_eq!(reply["id"], 1);
}
