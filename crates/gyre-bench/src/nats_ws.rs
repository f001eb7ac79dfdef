//! A NATS subscriber over nats-server's WebSocket listener: the NATS text protocol carried in
//! WebSocket frames, where one protocol message may span frames and one frame may hold many.

use anyhow::{bail, Context as _};
use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::nats_proto::{self, Event, ParseError};
use crate::payload::now_ns;
use crate::subscriber::{close_text, next_or_stop, SubState, Ws};

/// The client half of the NATS handshake, shared with the TCP publishers.
pub(crate) const CONNECT_LINE: &str = "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n";
const SID: u64 = 1;

/// Bytes received but not parsed yet (a message split across frames).
pub(crate) type Pending = Vec<u8>;

fn payload_of(msg: &Message) -> Option<&[u8]> {
    match msg {
        Message::Binary(b) => Some(b),
        Message::Text(t) => Some(t.as_bytes()),
        _ => None,
    }
}

/// Reads INFO, subscribes to `subject` and waits for the PONG that proves the SUB was processed
/// (so no publication sent afterwards can miss this subscriber).
pub(crate) async fn handshake(ws: &mut Ws, subject: &str) -> anyhow::Result<Pending> {
    let mut pending = Vec::new();
    let mut got_info = false;
    let mut sent = false;
    loop {
        let msg = ws
            .next()
            .await
            .context("connection closed during handshake")?
            .context("reading handshake")?;
        if let Message::Close(frame) = &msg {
            bail!("server closed the connection: {}", close_text(frame));
        }
        let Some(data) = payload_of(&msg) else { continue };
        pending.extend_from_slice(data);
        let (mut pongs, mut pings) = (0, 0);
        let mut error = None;
        nats_proto::drain::<ParseError>(&mut pending, |e| {
            match e {
                Event::Info => got_info = true,
                Event::Pong => pongs += 1,
                Event::Ping => pings += 1,
                Event::Err(text) => error = Some(String::from_utf8_lossy(text).into_owned()),
                _ => {}
            }
            Ok(())
        })?;
        if let Some(error) = error {
            bail!("server error: {error}");
        }
        for _ in 0..pings {
            ws.send(Message::binary(Bytes::from_static(b"PONG\r\n"))).await?;
        }
        if got_info && !sent {
            let hello = format!("{CONNECT_LINE}SUB {subject} {SID}\r\nPING\r\n");
            ws.send(Message::binary(hello.into_bytes())).await?;
            sent = true;
        } else if sent && pongs > 0 {
            return Ok(pending);
        }
    }
}

/// Receives until `stop` changes; `Err` says why the connection ended early.
pub(crate) async fn receive(
    ws: &mut Ws,
    pending: &mut Pending,
    state: &mut SubState,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        let Some(msg) = next_or_stop(ws, stop).await? else {
            return Ok(());
        };
        if let Message::Close(frame) = &msg {
            return Err(format!("closed by server: {}", close_text(frame)));
        }
        let Some(data) = payload_of(&msg) else { continue };
        let now = now_ns();
        pending.extend_from_slice(data);
        let mut pings = 0;
        let mut error = None;
        nats_proto::drain::<ParseError>(pending, |e| {
            match e {
                Event::Msg { sid: SID, payload } => state.on_publication(payload, now),
                Event::Ping => pings += 1,
                Event::Err(text) => error = Some(String::from_utf8_lossy(text).into_owned()),
                _ => {}
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        state.end_frame();
        if let Some(error) = error {
            return Err(format!("server error: {error}"));
        }
        for _ in 0..pings {
            state.pings += 1;
            ws.send(Message::binary(Bytes::from_static(b"PONG\r\n")))
                .await
                .map_err(|e| format!("sending PONG: {e}"))?;
        }
    }
}

/// The subscriber against a scripted nats-server: INFO, the CONNECT/SUB/PING handshake, a MSG
/// split across frames, and a server PING that must be answered.
#[cfg(test)]
mod wire_tests {
    use super::*;
    use crate::subscriber::{dial, Shared};
    use std::sync::Arc;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn session_with_split_frames() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            ws.send(Message::binary(&b"INFO {\"server_id\":\"x\"}\r\n"[..]))
                .await
                .unwrap();
            let hello = ws.next().await.unwrap().unwrap().into_data();
            assert_eq!(
                &hello[..],
                format!("{CONNECT_LINE}SUB bench.0 1\r\nPING\r\n").as_bytes()
            );
            ws.send(Message::binary(&b"PONG\r\n"[..])).await.unwrap();
            let a = b"{\"s\":0,\"t\":1}";
            let b = b"{\"s\":1,\"t\":1}";
            let stream = [
                format!("MSG bench.0 1 {}\r\n", a.len()).into_bytes(),
                a.to_vec(),
                format!("\r\nMSG bench.0 1 {}\r\n", b.len()).into_bytes(),
                b.to_vec(),
                b"\r\nPING\r\n".to_vec(),
            ]
            .concat();
            for chunk in stream.chunks(7) {
                ws.send(Message::binary(chunk.to_vec())).await.unwrap();
            }
            let pong = ws.next().await.unwrap().unwrap().into_data();
            assert_eq!(&pong[..], b"PONG\r\n");
            ws.close(None).await.unwrap();
        });
        let mut ws = dial(&format!("ws://{addr}"), 1024, false).await.unwrap();
        let mut pending = handshake(&mut ws, "bench.0").await.unwrap();
        let mut state = SubState::new(0, Arc::new(Shared::default()));
        let (_stop_tx, mut stop) = watch::channel(false);
        let ended = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            receive(&mut ws, &mut pending, &mut state, &mut stop),
        )
        .await
        .expect("receive ends when the server closes");
        assert!(ended.is_err());
        server.await.unwrap();
        assert_eq!(state.pings, 1);
        assert_eq!((state.checker.delivered, state.checker.gaps), (2, 0));
    }
}
