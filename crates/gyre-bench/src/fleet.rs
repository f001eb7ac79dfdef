//! The subscriber connections: opened with bounded concurrency, each reporting when it is
//! connected and subscribed, then receiving until told to stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinHandle;
use tokio::time::{timeout, Instant};

use crate::args::{Args, Mode, Protocol, SubscribeMode};
use crate::gyre_ws::{self, Hello};
use crate::jwt;
use crate::nats_ws::{self, Pending};
use crate::subscriber::{dial, Shared, SubOutcome, SubState, Ws};

/// A connection finished its handshake (or gave up).
#[derive(Debug)]
pub(crate) struct Ready {
    pub(crate) channel: usize,
    pub(crate) at: Instant,
    pub(crate) result: Result<(), String>,
}

pub(crate) struct Fleet {
    handles: Vec<JoinHandle<Option<SubOutcome>>>,
    stop: watch::Sender<bool>,
}

enum Conn {
    Gyre(Ws, Protocol),
    Nats(Ws, Pending),
}

/// Starts `args.connections` connection tasks; each sends one [`Ready`].
pub(crate) fn spawn(args: Arc<Args>, shared: Arc<Shared>) -> (Fleet, mpsc::UnboundedReceiver<Ready>) {
    let (ready_tx, ready_rx) = mpsc::unbounded_channel();
    let (stop, stop_rx) = watch::channel(false);
    let gate = Arc::new(Semaphore::new(args.connect_concurrency));
    let handles = (0..args.connections)
        .map(|i| {
            tokio::spawn(connection(
                i,
                args.clone(),
                shared.clone(),
                gate.clone(),
                ready_tx.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();
    (Fleet { handles, stop }, ready_rx)
}

impl Fleet {
    /// Tells every connection to stop and collects the outcomes of those that connected.
    /// Connections that do not finish within `grace` are abandoned (and counted as missing).
    pub(crate) async fn stop(self, grace: Duration) -> (Vec<SubOutcome>, usize) {
        let _ = self.stop.send(true);
        let deadline = Instant::now() + grace;
        let mut outcomes = Vec::with_capacity(self.handles.len());
        let mut abandoned = 0;
        for h in self.handles {
            match tokio::time::timeout_at(deadline, h).await {
                Ok(Ok(Some(outcome))) => outcomes.push(outcome),
                Ok(Ok(None)) => {}
                _ => abandoned += 1,
            }
        }
        (outcomes, abandoned)
    }
}

async fn connection(
    i: usize,
    args: Arc<Args>,
    shared: Arc<Shared>,
    gate: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<Ready>,
    mut stop: watch::Receiver<bool>,
) -> Option<SubOutcome> {
    let channel = i % args.channels;
    let opened = {
        let _permit = gate.acquire().await.ok()?;
        timeout(
            Duration::from_secs_f64(args.connect_timeout),
            open(i, &args, &args.channel_name(channel)),
        )
        .await
    };
    let conn = match opened {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            let _ = ready.send(Ready {
                channel,
                at: Instant::now(),
                result: Err(format!("{e:#}")),
            });
            return None;
        }
        Err(_) => {
            let _ = ready.send(Ready {
                channel,
                at: Instant::now(),
                result: Err("connect timed out".into()),
            });
            return None;
        }
    };
    let _ = ready.send(Ready {
        channel,
        at: Instant::now(),
        result: Ok(()),
    });
    drop(ready);
    let mut state = SubState::new(channel, shared);
    let ended = match conn {
        Conn::Gyre(mut ws, proto) => gyre_ws::receive(&mut ws, proto, &mut state, &mut stop).await,
        Conn::Nats(mut ws, mut pending) => {
            nats_ws::receive(&mut ws, &mut pending, &mut state, &mut stop).await
        }
    };
    Some(state.into_outcome(ended.err()))
}

async fn open(i: usize, args: &Args, channel: &str) -> anyhow::Result<Conn> {
    match args.mode {
        Mode::Gyre => {
            let url = match args.protocol {
                Protocol::Json => args.url.clone(),
                Protocol::Protobuf => with_query(&args.url, "format=protobuf"),
            };
            let mut ws = dial(&url, read_buffer(args), args.compression).await?;
            gyre_ws::handshake(&mut ws, args.protocol, &hello(i, args, channel)).await?;
            Ok(Conn::Gyre(ws, args.protocol))
        }
        Mode::Nats => {
            let mut ws = dial(&args.url, read_buffer(args), false).await?;
            let pending = nats_ws::handshake(&mut ws, channel).await?;
            Ok(Conn::Nats(ws, pending))
        }
    }
}

/// Gyre sends a push or a small batch per frame: a few payloads fit. nats-server packs many
/// messages into one frame, so larger reads pay off there.
fn read_buffer(args: &Args) -> usize {
    match args.mode {
        Mode::Gyre => (args.payload_size * 2 + 512).clamp(1024, 64 * 1024),
        Mode::Nats => 16 * 1024,
    }
}

fn hello(i: usize, args: &Args, channel: &str) -> Hello {
    let user = format!("bench-{i}");
    match args.subscribe {
        SubscribeMode::Client => Hello {
            connect_token: jwt::connect_token(&args.secret, &user, &[]),
            subscribe: Some((
                channel.to_owned(),
                jwt::subscribe_token(&args.secret, &user, channel),
            )),
            channel: channel.to_owned(),
        },
        SubscribeMode::Server => Hello {
            connect_token: jwt::connect_token(&args.secret, &user, &[channel.to_owned()]),
            subscribe: None,
            channel: channel.to_owned(),
        },
    }
}

fn with_query(url: &str, pair: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{pair}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_appended() {
        assert_eq!(super::with_query("ws://h/c", "a=1"), "ws://h/c?a=1");
        assert_eq!(super::with_query("ws://h/c?x=2", "a=1"), "ws://h/c?x=2&a=1");
    }
}
