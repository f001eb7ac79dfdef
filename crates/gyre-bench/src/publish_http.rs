//! Publisher for Gyre/Centrifugo: `POST /api/publish` (or `/api/batch` of several publish
//! commands, run in order) on one keep-alive connection, one request in flight, so the
//! channel's sequence numbers reach the server in order.

use std::time::Duration;

use tokio::time::{timeout, Instant};

use crate::http::{Endpoint, HttpClient};
use crate::payload;
use crate::publish::{Pacer, PubOutcome, PubPlan};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

pub(crate) async fn run(plan: PubPlan, endpoint: Endpoint, api_key: String, batch: usize) -> PubOutcome {
    let mut out = PubOutcome::new(&plan);
    // JSON-escaped once: `"<name>"`.
    let quoted: Vec<String> = plan
        .names
        .iter()
        .map(|n| serde_json::to_string(n).expect("strings serialize"))
        .collect();
    let headers = [("X-API-Key", api_key.as_str())];
    let mut client: Option<HttpClient> = None;
    let mut pacer = Pacer::with_phase(plan.interval, plan.phase);
    let mut next_seq = vec![0u64; plan.channels.len()];
    let (mut data, mut body) = (Vec::new(), Vec::new());
    let mut k = 0;
    while Instant::now() < plan.stop_at {
        let http = match client.as_mut() {
            Some(c) => c,
            None => match timeout(
                REQUEST_TIMEOUT,
                HttpClient::connect(&endpoint, path(batch), &headers),
            )
            .await
            {
                Ok(Ok(c)) => client.insert(c),
                Ok(Err(e)) => {
                    out.error(format!("{e:#}"));
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                    continue;
                }
                Err(_) => {
                    out.error("connect timed out");
                    continue;
                }
            },
        };
        // (channel slot, sequence, timestamp) of each publication in this request.
        let mut items: Vec<(usize, u64, u64)> = Vec::with_capacity(batch);
        body.clear();
        if batch > 1 {
            body.extend_from_slice(b"{\"commands\":[");
        }
        for i in 0..batch {
            pacer.wait().await;
            let slot = (k + i) % plan.channels.len();
            // A channel appearing twice in one batch takes consecutive numbers.
            let seq = next_seq[slot] + items.iter().filter(|it| it.0 == slot).count() as u64;
            let sent_ns = payload::now_ns();
            payload::write(&mut data, seq, sent_ns, plan.payload_size);
            if batch > 1 {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(b"{\"publish\":");
            }
            body.extend_from_slice(b"{\"channel\":");
            body.extend_from_slice(quoted[slot].as_bytes());
            body.extend_from_slice(b",\"data\":");
            body.extend_from_slice(&data);
            body.push(b'}');
            if batch > 1 {
                body.push(b'}');
            }
            items.push((slot, seq, sent_ns));
        }
        if batch > 1 {
            body.extend_from_slice(b"]}");
        }
        let started = Instant::now();
        match timeout(REQUEST_TIMEOUT, http.post(&body)).await {
            Ok(Ok(resp)) if resp.status == 200 && !has_error(resp.body) => {
                let rtt = started.elapsed();
                for &(slot, _, sent_ns) in &items {
                    out.accepted(slot, sent_ns, &plan.window);
                    next_seq[slot] += 1;
                }
                out.round_trip(items[0].2, rtt, &plan.window);
                k = (k + batch) % plan.channels.len();
            }
            // A rejected publication keeps its sequence number: the next attempt reuses it, so a
            // refusal is not mistaken for a loss. (In a batch, an error in any reply rejects the
            // whole request: publications that did go through then show up as duplicates.)
            Ok(Ok(resp)) => out.error(format!(
                "HTTP {}: {}",
                resp.status,
                String::from_utf8_lossy(&resp.body[..resp.body.len().min(200)])
            )),
            Ok(Err(e)) => {
                out.error(format!("{e:#}"));
                client = None;
            }
            Err(_) => {
                out.error("publish timed out");
                client = None;
            }
        }
    }
    out
}

fn path(batch: usize) -> &'static str {
    if batch > 1 {
        "/api/batch"
    } else {
        "/api/publish"
    }
}

/// The server API answers errors with HTTP 200 and an `error` member.
fn has_error(body: &[u8]) -> bool {
    memchr::memmem::find(body, b"\"error\"").is_some()
}
