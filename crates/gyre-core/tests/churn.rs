//! Subscribe/unsubscribe/disconnect churn from clients and the server API at once must leave no
//! hub entry, subscription or presence behind, and must not wedge (reliability.md C12).

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use gyre_core::{MemoryPresenceManager, PublishOptions, SubscribeOptions, Target, Unsubscribe};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CHANNELS: usize = 8;
const USERS: usize = 6;

fn handler() -> TestHandler {
    TestHandler {
        subscribe_options: SubscribeOptions {
            emit_presence: true,
            emit_join_leave: true,
            push_join_leave: true,
            enable_positioning: true,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn history() -> PublishOptions {
    PublishOptions {
        history_size: 5,
        history_ttl: Duration::from_secs(60),
        ..Default::default()
    }
}

async fn client_worker(node: Node, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _round in 0..6 {
        let user = format!("u{}", rng.random_range(0..USERS));
        let mut conn = testing::connect(&node, json());
        conn.send_json(&format!(r#"{{"id":1,"connect":{{"token":"{user}"}}}}"#));
        let commands = rng.random_range(5..30);
        for id in 2..2 + commands {
            let ch = rng.random_range(0..CHANNELS);
            let cmd = match rng.random_range(0..10) {
                0..=3 => format!(r#"{{"id":{id},"subscribe":{{"channel":"c{ch}"}}}}"#),
                4..=6 => format!(r#"{{"id":{id},"unsubscribe":{{"channel":"c{ch}"}}}}"#),
                7 | 8 => format!(r#"{{"id":{id},"publish":{{"channel":"c{ch}","data":{{"n":{id}}}}}}}"#),
                _ => format!(r#"{{"id":{id},"presence":{{"channel":"c{ch}"}}}}"#),
            };
            conn.send_json(&cmd);
            if rng.random_bool(0.3) {
                tokio::task::yield_now().await;
            }
            while conn.try_recv().is_some() {}
        }
        match rng.random_range(0..3) {
            0 => conn.close(),
            // A protocol violation makes the server close it.
            1 => conn.send_json(r#"{"id":999,"ping":{}}"#),
            _ => conn.send_json("{}"),
        }
        tokio::time::timeout(WAIT, conn.finished())
            .await
            .expect("session did not finish: wedged?");
    }
}

async fn api_worker(node: Node, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..200 {
        let target = Target {
            user: format!("u{}", rng.random_range(0..USERS)),
            ..Default::default()
        };
        let channel = format!("c{}", rng.random_range(0..CHANNELS));
        let op = async {
            match rng.random_range(0..10) {
                0..=2 => {
                    let opts = SubscribeOptions {
                        emit_presence: true,
                        emit_join_leave: true,
                        ..Default::default()
                    };
                    let _ = node.subscribe(target, &channel, opts).await;
                }
                3..=5 => {
                    let _ = node.unsubscribe(target, &channel, Unsubscribe::SERVER).await;
                }
                6 => {
                    let _ = node.disconnect(target, Disconnect::FORCE_RECONNECT, &[]).await;
                }
                _ => {
                    let _ = node.publish(&channel, Bytes::from_static(b"{}"), history()).await;
                }
            }
        };
        tokio::time::timeout(WAIT, op)
            .await
            .expect("server API operation wedged");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_leaves_nothing_behind() {
    let presence = Arc::new(MemoryPresenceManager::new());
    let node = Node::with_engines(
        NodeConfig::default(),
        Arc::new(handler()),
        Arc::new(gyre_core::MemoryBroker::default()),
        presence.clone(),
    );
    let mut tasks = Vec::new();
    for seed in 0..24 {
        tasks.push(tokio::spawn(client_worker(node.clone(), seed)));
    }
    for seed in 100..102 {
        tasks.push(tokio::spawn(api_worker(node.clone(), seed)));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("churn did not complete")
            .expect("worker panicked");
    }
    let info = node.info();
    assert_eq!(info.num_clients, 0);
    assert_eq!(info.num_users, 0);
    assert_eq!(info.num_subs, 0);
    assert_eq!(info.num_channels, 0);
    assert!(node.channels().is_empty());
    assert_eq!(presence.num_channels(), 0);
}
