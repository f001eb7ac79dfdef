//! Protocol messages → JSON (the outbound side: replies and pushes).
//!
//! Field order is the .proto field order, fields are omitted when zero/empty, except those the Go
//! server always writes: `ClientInfo.user`/`client`, `PresenceResult.presence`,
//! `PresenceStatsResult.num_clients`/`num_users`, `HistoryResult.publications`/`epoch`/`offset`.
//! An empty message that is present (`Some`) is written as `{}`.

use std::collections::HashMap;

use super::writer::{write_bytes_as_str, write_str, Obj};
use super::DataMode;
use crate::codec::EncodeError;
use crate::types::*;

type Res = Result<(), EncodeError>;

/// Rough output size, so the buffer is allocated once in the common cases (publication pushes and
/// replies carrying publications); the writer still grows the buffer when this is short.
pub(crate) fn reply_size_hint(reply: &Reply) -> usize {
    let mut size = 64;
    if let Some(push) = &reply.push {
        size += push_size_hint(push);
    }
    if let Some(sub) = &reply.subscribe {
        size += publications_hint(&sub.publications) + publications_hint(&sub.state);
        size += sub.data.len();
    }
    if let Some(history) = &reply.history {
        size += publications_hint(&history.publications);
    }
    if let Some(rpc) = &reply.rpc {
        size += rpc.data.len();
    }
    if let Some(connect) = &reply.connect {
        size += connect.data.len() + 128;
    }
    size
}

pub(crate) fn push_size_hint(push: &Push) -> usize {
    let mut size = 48 + push.channel.len();
    if let Some(publication) = &push.r#pub {
        size += publication_hint(publication);
    }
    size
}

fn publications_hint(publications: &[Publication]) -> usize {
    publications.iter().map(publication_hint).sum()
}

fn publication_hint(publication: &Publication) -> usize {
    // Keys and numbers, the payload, and a little for info/tags; a string payload (delta mode)
    // grows when escaped, which the writer absorbs.
    64 + publication.data.len() + publication.info.as_ref().map_or(0, |i| 32 + i.conn_info.len())
}

pub(crate) fn reply(out: &mut Vec<u8>, r: &Reply, mode: DataMode) -> Res {
    let mut o = Obj::open(out);
    o.uint_nonzero("id", r.id.into());
    if let Some(v) = &r.error {
        error(o.key("error"), v);
    }
    if let Some(v) = &r.push {
        push(o.key("push"), v, mode)?;
    }
    if let Some(v) = &r.connect {
        connect_result(o.key("connect"), v, mode)?;
    }
    if let Some(v) = &r.subscribe {
        subscribe_result(o.key("subscribe"), v, mode)?;
    }
    if r.unsubscribe.is_some() {
        empty(o.key("unsubscribe"));
    }
    if r.publish.is_some() {
        empty(o.key("publish"));
    }
    if let Some(v) = &r.presence {
        presence_result(o.key("presence"), v)?;
    }
    if let Some(v) = &r.presence_stats {
        let mut s = Obj::open(o.key("presence_stats"));
        s.uint("num_clients", v.num_clients.into());
        s.uint("num_users", v.num_users.into());
        s.close();
    }
    if let Some(v) = &r.history {
        history_result(o.key("history"), v, mode)?;
    }
    if r.ping.is_some() {
        empty(o.key("ping"));
    }
    if let Some(v) = &r.rpc {
        let mut s = Obj::open(o.key("rpc"));
        s.raw_nonempty("data", &v.data)?;
        s.close();
    }
    if let Some(v) = &r.refresh {
        let mut s = Obj::open(o.key("refresh"));
        s.str_nonempty("client", &v.client);
        s.str_nonempty("version", &v.version);
        s.bool_true("expires", v.expires);
        s.uint_nonzero("ttl", v.ttl.into());
        s.close();
    }
    if let Some(v) = &r.sub_refresh {
        let mut s = Obj::open(o.key("sub_refresh"));
        s.bool_true("expires", v.expires);
        s.uint_nonzero("ttl", v.ttl.into());
        if !v.items.is_empty() {
            publication_list(s.key("items"), &v.items, mode)?;
        }
        s.close();
    }
    o.close();
    Ok(())
}

pub(crate) fn push(out: &mut Vec<u8>, p: &Push, mode: DataMode) -> Res {
    let mut o = Obj::open(out);
    o.int_nonzero("id", p.id);
    o.str_nonempty("channel", &p.channel);
    if let Some(v) = &p.r#pub {
        publication(o.key("pub"), v, mode)?;
    }
    if let Some(v) = &p.join {
        let mut s = Obj::open(o.key("join"));
        if let Some(info) = &v.info {
            client_info(s.key("info"), info)?;
        }
        s.close();
    }
    if let Some(v) = &p.leave {
        let mut s = Obj::open(o.key("leave"));
        if let Some(info) = &v.info {
            client_info(s.key("info"), info)?;
        }
        s.close();
    }
    if let Some(v) = &p.unsubscribe {
        let mut s = Obj::open(o.key("unsubscribe"));
        s.uint_nonzero("code", v.code.into());
        s.str_nonempty("reason", &v.reason);
        s.close();
    }
    if let Some(v) = &p.message {
        let mut s = Obj::open(o.key("message"));
        s.raw_nonempty("data", &v.data)?;
        s.close();
    }
    if let Some(v) = &p.subscribe {
        let mut s = Obj::open(o.key("subscribe"));
        s.bool_true("recoverable", v.recoverable);
        s.str_nonempty("epoch", &v.epoch);
        s.uint_nonzero("offset", v.offset);
        s.bool_true("positioned", v.positioned);
        s.raw_nonempty("data", &v.data)?;
        s.close();
    }
    if let Some(v) = &p.connect {
        connect_push(o.key("connect"), v, mode)?;
    }
    if let Some(v) = &p.disconnect {
        let mut s = Obj::open(o.key("disconnect"));
        s.uint_nonzero("code", v.code.into());
        s.str_nonempty("reason", &v.reason);
        s.bool_true("reconnect", v.reconnect);
        s.close();
    }
    if let Some(v) = &p.refresh {
        let mut s = Obj::open(o.key("refresh"));
        s.bool_true("expires", v.expires);
        s.uint_nonzero("ttl", v.ttl.into());
        s.close();
    }
    o.close();
    Ok(())
}

fn empty(out: &mut Vec<u8>) {
    out.extend_from_slice(b"{}");
}

fn error(out: &mut Vec<u8>, e: &Error) {
    let mut o = Obj::open(out);
    o.uint_nonzero("code", e.code.into());
    o.str_nonempty("message", &e.message);
    o.bool_true("temporary", e.temporary);
    o.close();
}

fn publication(out: &mut Vec<u8>, p: &Publication, mode: DataMode) -> Res {
    let mut o = Obj::open(out);
    match mode {
        DataMode::Raw => o.raw_nonempty("data", &p.data)?,
        // Always present, even when empty: the SDK feeds it to its delta decoder.
        DataMode::String => write_bytes_as_str(o.key("data"), &p.data),
    }
    if let Some(info) = &p.info {
        client_info(o.key("info"), info)?;
    }
    o.uint_nonzero("offset", p.offset);
    if !p.tags.is_empty() {
        string_map(o.key("tags"), &p.tags);
    }
    o.bool_true("delta", p.delta);
    o.int_nonzero("time", p.time);
    o.str_nonempty("channel", &p.channel);
    o.str_nonempty("key", &p.key);
    o.bool_true("removed", p.removed);
    o.int_nonzero("score", p.score);
    o.str_nonempty("epoch", &p.epoch);
    o.raw_nonempty("prev_data", &p.prev_data)?;
    o.uint_nonzero("version", p.version);
    o.close();
    Ok(())
}

fn publication_list(out: &mut Vec<u8>, list: &[Publication], mode: DataMode) -> Res {
    out.push(b'[');
    for (i, p) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        publication(out, p, mode)?;
    }
    out.push(b']');
    Ok(())
}

fn client_info(out: &mut Vec<u8>, info: &ClientInfo) -> Res {
    let mut o = Obj::open(out);
    o.str("user", &info.user);
    o.str("client", &info.client);
    o.raw_nonempty("conn_info", &info.conn_info)?;
    o.raw_nonempty("chan_info", &info.chan_info)?;
    o.close();
    Ok(())
}

fn string_map(out: &mut Vec<u8>, map: &HashMap<String, String>) {
    let mut o = Obj::open(out);
    for (k, v) in map {
        // Keys need escaping too, so they cannot go through `Obj::key`.
        o.str_key(k);
        write_str(o.buf(), v);
    }
    o.close();
}

fn connect_result(out: &mut Vec<u8>, c: &ConnectResult, mode: DataMode) -> Res {
    let mut o = Obj::open(out);
    o.str_nonempty("client", &c.client);
    o.str_nonempty("version", &c.version);
    o.bool_true("expires", c.expires);
    o.uint_nonzero("ttl", c.ttl.into());
    o.raw_nonempty("data", &c.data)?;
    if !c.subs.is_empty() {
        subscribe_result_map(o.key("subs"), &c.subs, mode)?;
    }
    o.uint_nonzero("ping", c.ping.into());
    o.bool_true("pong", c.pong);
    o.str_nonempty("session", &c.session);
    o.str_nonempty("node", &c.node);
    o.int_nonzero("time", c.time);
    o.int_nonzero("flag", c.flag);
    if let Some(d) = &c.dict {
        let mut s = Obj::open(o.key("dict"));
        s.str_nonempty("id", &d.id);
        s.raw_nonempty("data", &d.data)?;
        s.str_nonempty("data_b64", &d.data_b64);
        s.close();
    }
    o.close();
    Ok(())
}

fn connect_push(out: &mut Vec<u8>, c: &Connect, mode: DataMode) -> Res {
    let mut o = Obj::open(out);
    o.str_nonempty("client", &c.client);
    o.str_nonempty("version", &c.version);
    o.raw_nonempty("data", &c.data)?;
    if !c.subs.is_empty() {
        subscribe_result_map(o.key("subs"), &c.subs, mode)?;
    }
    o.bool_true("expires", c.expires);
    o.uint_nonzero("ttl", c.ttl.into());
    o.uint_nonzero("ping", c.ping.into());
    o.bool_true("pong", c.pong);
    o.str_nonempty("session", &c.session);
    o.str_nonempty("node", &c.node);
    o.int_nonzero("time", c.time);
    o.close();
    Ok(())
}

fn subscribe_result_map(out: &mut Vec<u8>, subs: &HashMap<String, SubscribeResult>, mode: DataMode) -> Res {
    let mut o = Obj::open(out);
    for (channel, result) in subs {
        o.str_key(channel);
        subscribe_result(o.buf(), result, mode)?;
    }
    o.close();
    Ok(())
}

fn subscribe_result(out: &mut Vec<u8>, s: &SubscribeResult, mode: DataMode) -> Res {
    let mut o = Obj::open(out);
    o.bool_true("expires", s.expires);
    o.uint_nonzero("ttl", s.ttl.into());
    o.bool_true("recoverable", s.recoverable);
    o.str_nonempty("epoch", &s.epoch);
    if !s.publications.is_empty() {
        publication_list(o.key("publications"), &s.publications, mode)?;
    }
    o.bool_true("recovered", s.recovered);
    o.uint_nonzero("offset", s.offset);
    o.bool_true("positioned", s.positioned);
    o.raw_nonempty("data", &s.data)?;
    o.bool_true("was_recovering", s.was_recovering);
    o.bool_true("delta", s.delta);
    o.int_nonzero("id", s.id);
    o.int_nonzero("type", s.r#type.into());
    o.int_nonzero("phase", s.phase.into());
    o.str_nonempty("cursor", &s.cursor);
    if !s.state.is_empty() {
        publication_list(o.key("state"), &s.state, mode)?;
    }
    o.uint_nonzero("publish_debounce", s.publish_debounce.into());
    o.close();
    Ok(())
}

fn presence_result(out: &mut Vec<u8>, p: &PresenceResult) -> Res {
    let mut o = Obj::open(out);
    // Always present: `{}` when nobody is there.
    let mut m = Obj::open(o.key("presence"));
    for (client, info) in &p.presence {
        m.str_key(client);
        client_info(m.buf(), info)?;
    }
    m.close();
    o.close();
    Ok(())
}

fn history_result(out: &mut Vec<u8>, h: &HistoryResult, mode: DataMode) -> Res {
    let mut o = Obj::open(out);
    // All three always present: `[]` for no publications, `""`/`0` for no stream.
    publication_list(o.key("publications"), &h.publications, mode)?;
    o.str("epoch", &h.epoch);
    o.uint("offset", h.offset);
    o.close();
    Ok(())
}
