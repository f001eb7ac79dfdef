//! A Centrifugo-protocol subscriber (JSON or Protobuf): connect, subscribe, then receive pushes
//! and answer the server's application-level pings (`{}` / a zero length prefix), which the
//! server requires within `pong_timeout` or it disconnects with 3012.

use anyhow::{bail, Context as _};
use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt as _, StreamExt as _};
use gyre_protocol::codec::{frame_messages, ProtocolType};
use gyre_protocol::{Command, ConnectRequest, Reply, SubscribeRequest};
use prost::Message as _;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::args::Protocol;
use crate::payload::now_ns;
use crate::pb;
use crate::subscriber::{close_text, next_or_stop, SubState, Ws};

/// What a connection sends in its first frame.
#[derive(Debug, Clone)]
pub(crate) struct Hello {
    pub(crate) connect_token: String,
    /// `(channel, subscription token)` for a client-side subscription; `None` when the channel is
    /// in the connect token (server-side subscription).
    pub(crate) subscribe: Option<(String, String)>,
    pub(crate) channel: String,
}

/// The parts of a reply the handshake looks at.
#[derive(Debug, Default)]
struct ReplyView {
    id: u32,
    error: Option<String>,
    subs: Vec<String>,
    is_ping: bool,
}

/// Sends connect (and subscribe) in one frame and waits for their successful replies.
pub(crate) async fn handshake(ws: &mut Ws, proto: Protocol, hello: &Hello) -> anyhow::Result<()> {
    ws.send(first_frame(proto, hello))
        .await
        .context("sending connect")?;
    let (mut connected, mut subscribed) = (false, hello.subscribe.is_none());
    while !(connected && subscribed) {
        let msg = ws
            .next()
            .await
            .context("connection closed during handshake")?
            .context("reading handshake reply")?;
        for reply in reply_views(proto, &msg)? {
            if reply.is_ping {
                ws.send(pong(proto)).await?;
                continue;
            }
            if let Some(err) = reply.error {
                bail!("reply to command {}: error {err}", reply.id);
            }
            match reply.id {
                1 => {
                    if hello.subscribe.is_none() && !reply.subs.contains(&hello.channel) {
                        bail!(
                            "connect result has no server-side subscription to {}",
                            hello.channel
                        );
                    }
                    connected = true;
                }
                2 => subscribed = true,
                _ => {}
            }
        }
    }
    Ok(())
}

fn first_frame(proto: Protocol, hello: &Hello) -> Message {
    match proto {
        Protocol::Json => {
            let mut text =
                serde_json::json!({"id": 1, "connect": {"token": hello.connect_token}}).to_string();
            if let Some((channel, token)) = &hello.subscribe {
                text.push('\n');
                text.push_str(
                    &serde_json::json!({"id": 2, "subscribe": {"channel": channel, "token": token}})
                        .to_string(),
                );
            }
            Message::text(text)
        }
        Protocol::Protobuf => {
            let mut commands = vec![Bytes::from(
                Command {
                    id: 1,
                    connect: Some(ConnectRequest {
                        token: hello.connect_token.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
                .encode_to_vec(),
            )];
            if let Some((channel, token)) = &hello.subscribe {
                commands.push(Bytes::from(
                    Command {
                        id: 2,
                        subscribe: Some(SubscribeRequest {
                            channel: channel.clone(),
                            token: token.clone(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }
                    .encode_to_vec(),
                ));
            }
            let mut frame = BytesMut::new();
            frame_messages(ProtocolType::Protobuf, &commands, &mut frame);
            Message::binary(frame.freeze())
        }
    }
}

fn pong(proto: Protocol) -> Message {
    match proto {
        Protocol::Json => Message::text("{}"),
        Protocol::Protobuf => Message::binary(Bytes::from_static(&[0])),
    }
}

fn reply_views(proto: Protocol, msg: &Message) -> anyhow::Result<Vec<ReplyView>> {
    let mut out = Vec::new();
    match (proto, msg) {
        (Protocol::Json, Message::Text(text)) => {
            for line in text.as_str().split('\n') {
                let v: serde_json::Value =
                    serde_json::from_str(line).with_context(|| format!("bad reply {line:?}"))?;
                let error = v.get("error").map(|e| e.to_string());
                let subs = v["connect"]["subs"]
                    .as_object()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                out.push(ReplyView {
                    id: v["id"].as_u64().unwrap_or(0) as u32,
                    is_ping: v.as_object().is_some_and(|m| m.is_empty()),
                    error,
                    subs,
                });
            }
        }
        (Protocol::Protobuf, Message::Binary(frame)) => {
            for msg in pb::delimited(frame) {
                let msg = msg.context("malformed protobuf frame")?;
                let reply = Reply::decode(msg).context("bad protobuf reply")?;
                out.push(ReplyView {
                    id: reply.id,
                    is_ping: msg.is_empty(),
                    error: reply.error.map(|e| format!("{} {}", e.code, e.message)),
                    subs: reply
                        .connect
                        .map(|c| c.subs.into_keys().collect())
                        .unwrap_or_default(),
                });
            }
        }
        (_, Message::Close(frame)) => bail!("server closed the connection: {}", close_text(frame)),
        _ => {}
    }
    Ok(out)
}

/// Receives until `stop` changes; `Err` says why the connection ended early.
pub(crate) async fn receive(
    ws: &mut Ws,
    proto: Protocol,
    state: &mut SubState,
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    loop {
        let Some(msg) = next_or_stop(ws, stop).await? else {
            return Ok(());
        };
        let now = now_ns();
        let pings = match (&msg, proto) {
            (Message::Text(text), Protocol::Json) => json_frame(text.as_bytes(), state, now),
            (Message::Binary(frame), Protocol::Protobuf) => protobuf_frame(frame, state, now),
            (Message::Close(frame), _) => return Err(format!("closed by server: {}", close_text(frame))),
            _ => 0,
        };
        state.end_frame();
        for _ in 0..pings {
            state.pings += 1;
            ws.send(pong(proto))
                .await
                .map_err(|e| format!("sending pong: {e}"))?;
        }
    }
}

/// Handles the `\n`-separated messages of a JSON frame; returns the number of pings.
fn json_frame(frame: &[u8], state: &mut SubState, now: u64) -> usize {
    let mut pings = 0;
    for line in frame.split(|&b| b == b'\n') {
        if line == b"{}" {
            pings += 1;
        } else if memchr::memmem::find(line, b"\"pub\"").is_some() {
            state.on_publication(line, now);
        }
    }
    pings
}

fn protobuf_frame(frame: &[u8], state: &mut SubState, now: u64) -> usize {
    let mut pings = 0;
    for msg in pb::delimited(frame) {
        match msg {
            Some([]) => pings += 1,
            Some(msg) => {
                if let Some(data) = pb::publication_data(msg) {
                    state.on_publication(data, now);
                }
            }
            None => {
                state.unparsed += 1;
                break;
            }
        }
    }
    pings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subscriber::Shared;
    use std::sync::Arc;

    #[test]
    fn json_frames_count_pings_and_publications() {
        let shared = Arc::new(Shared::default());
        let mut state = SubState::new(0, shared.clone());
        let frame = b"{}\n{\"push\":{\"channel\":\"bench.0\",\"pub\":{\"data\":{\"s\":0,\"t\":1,\"p\":\"\"}}}}\n\
{\"push\":{\"channel\":\"bench.0\",\"pub\":{\"data\":{\"s\":1,\"t\":1,\"p\":\"\"}}}}\n{\"id\":3,\"publish\":{}}";
        assert_eq!(json_frame(frame, &mut state, 5), 1);
        state.end_frame();
        assert_eq!(state.checker.delivered, 2);
        assert_eq!(shared.delivered.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[test]
    fn first_frames() {
        let hello = Hello {
            connect_token: "T".into(),
            subscribe: Some(("bench.1".into(), "S".into())),
            channel: "bench.1".into(),
        };
        let Message::Text(t) = first_frame(Protocol::Json, &hello) else {
            panic!()
        };
        let cmds = gyre_protocol::codec::decode_commands(ProtocolType::Json, t.as_bytes(), 1 << 20).unwrap();
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[0].connect.as_ref().unwrap().token, "T");
        assert_eq!(cmds[1].subscribe.as_ref().unwrap().channel, "bench.1");
        let Message::Binary(b) = first_frame(Protocol::Protobuf, &hello) else {
            panic!()
        };
        let cmds = gyre_protocol::codec::decode_commands(ProtocolType::Protobuf, &b, 1 << 20).unwrap();
        assert_eq!(cmds[1].subscribe.as_ref().unwrap().token, "S");
    }
}

/// The client against a scripted WebSocket server: handshake, pushes with a gap, a ping that
/// must be answered, and a close frame.
#[cfg(test)]
mod wire_tests {
    use super::*;
    use crate::subscriber::{dial, Shared};
    use std::sync::Arc;
    use tokio::net::TcpListener;

    fn push(seq: u64) -> String {
        format!(
            r#"{{"push":{{"channel":"bench.0","pub":{{"data":{{"s":{seq},"t":1,"p":""}},"offset":{seq}}}}}}}"#
        )
    }

    #[tokio::test]
    async fn json_session() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let first = ws.next().await.unwrap().unwrap().into_text().unwrap();
            assert!(first.contains(r#""connect":{"token":"T"}"#), "{first}");
            assert!(
                first.contains(r#""subscribe":{"channel":"bench.0","token":"S"}"#),
                "{first}"
            );
            ws.send(Message::text(
                r#"{"id":1,"connect":{"client":"c","ping":25,"pong":true}}"#,
            ))
            .await
            .unwrap();
            ws.send(Message::text(r#"{"id":2,"subscribe":{}}"#))
                .await
                .unwrap();
            let batch = format!("{}\n{}\n{{}}\n{}", push(0), push(1), push(3));
            ws.send(Message::text(batch)).await.unwrap();
            let pong = ws.next().await.unwrap().unwrap().into_text().unwrap();
            assert_eq!(pong.as_str(), "{}");
            ws.close(None).await.unwrap();
        });
        let mut ws = dial(&format!("ws://{addr}/connection/websocket"), 1024, false)
            .await
            .unwrap();
        let hello = Hello {
            connect_token: "T".into(),
            subscribe: Some(("bench.0".into(), "S".into())),
            channel: "bench.0".into(),
        };
        handshake(&mut ws, Protocol::Json, &hello).await.unwrap();
        let shared = Arc::new(Shared::default());
        let mut state = SubState::new(0, shared);
        let (_stop_tx, mut stop) = watch::channel(false);
        let ended = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            receive(&mut ws, Protocol::Json, &mut state, &mut stop),
        )
        .await
        .expect("receive ends when the server closes");
        assert!(ended.unwrap_err().contains("closed by server"));
        server.await.unwrap();
        assert_eq!(state.pings, 1);
        assert_eq!((state.checker.delivered, state.checker.gaps), (3, 1));
        assert_eq!(state.checker.lost(4), 1);
    }

    #[tokio::test]
    async fn handshake_reports_an_error_reply() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let _ = ws.next().await;
            let reply = r#"{"id":1,"connect":{"client":"c"}}
{"id":2,"error":{"code":103,"message":"permission denied"}}"#;
            ws.send(Message::text(reply)).await.unwrap();
            let _ = ws.next().await;
        });
        let mut ws = dial(&format!("ws://{addr}/"), 1024, false).await.unwrap();
        let hello = Hello {
            connect_token: "T".into(),
            subscribe: Some(("c".into(), "S".into())),
            channel: "c".into(),
        };
        let err = handshake(&mut ws, Protocol::Json, &hello).await.unwrap_err();
        assert!(format!("{err:#}").contains("permission denied"), "{err:#}");
    }
}
