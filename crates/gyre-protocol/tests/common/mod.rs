//! Proptest strategies for protocol messages, shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;

use bytes::Bytes;
use gyre_protocol::*;
use proptest::collection::{hash_map, vec};
use proptest::option;
use proptest::prelude::*;

/// Short strings including characters that need escaping in JSON.
pub(crate) fn text() -> impl Strategy<Value = String> {
    "[a-z0-9:_<>&\"\\\\\n\t é\u{2028}\u{1F600}]{0,8}"
}

/// Arbitrary bytes (fine for protobuf, not for JSON).
pub(crate) fn any_bytes() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

/// Valid JSON payloads of every kind, or empty (absent), some with raw newlines.
pub(crate) fn json_bytes() -> impl Strategy<Value = Bytes> {
    prop::sample::select(vec![
        "",
        "{}",
        "[]",
        "{\"text\":\"hi\"}",
        "{\"a\": 1, \"b\": [true, false, null]}",
        "[1,2,3]",
        "\"just a string\"",
        "\"esc \\\" \\n \\u00e9\"",
        "42",
        "-1.5e3",
        "null",
        "true",
        "{\n  \"pretty\": [\n    1,\n    2\n  ]\n}",
        "{\"nested\":{\"deep\":{\"x\":[{\"y\":\"z\"}]}}}",
    ])
    .prop_map(|s: &'static str| Bytes::from_static(s.as_bytes()))
}

fn string_map() -> impl Strategy<Value = HashMap<String, String>> {
    hash_map(text(), text(), 0..3)
}

pub(crate) fn filter_node() -> impl Strategy<Value = FilterNode> {
    let leaf = (text(), text(), text(), text(), vec(text(), 0..3)).prop_map(|(op, key, cmp, val, vals)| {
        FilterNode {
            op,
            key,
            cmp,
            val,
            vals,
            nodes: vec![],
        }
    });
    leaf.prop_recursive(3, 12, 3, |inner| {
        (text(), vec(inner, 0..3)).prop_map(|(op, nodes)| FilterNode {
            op,
            nodes,
            ..Default::default()
        })
    })
}

pub(crate) fn subscribe_request(data: BoxedStrategy<Bytes>) -> impl Strategy<Value = SubscribeRequest> {
    (
        (text(), text(), any::<bool>(), text(), any::<u64>(), data),
        (
            any::<(bool, bool, bool)>(),
            text(),
            option::of(filter_node()),
            any::<i64>(),
        ),
        (any::<(i32, i32, i32)>(), text(), any::<bool>()),
    )
        .prop_map(
            |(
                (channel, token, recover, epoch, offset, data),
                ((positioned, recoverable, join_leave), delta, tf, flag),
                ((r#type, phase, limit), cursor, asc),
            )| SubscribeRequest {
                channel,
                token,
                recover,
                epoch,
                offset,
                data,
                positioned,
                recoverable,
                join_leave,
                delta,
                tf,
                flag,
                r#type,
                phase,
                cursor,
                limit,
                asc,
            },
        )
}

pub(crate) fn connect_request(data: BoxedStrategy<Bytes>) -> impl Strategy<Value = ConnectRequest> {
    (
        (
            text(),
            data.clone(),
            hash_map(text(), subscribe_request(data), 0..3),
        ),
        (text(), text(), string_map(), any::<i64>(), text(), text()),
    )
        .prop_map(
            |((token, data, subs), (name, version, headers, flag, dict, profile))| ConnectRequest {
                token,
                data,
                subs,
                name,
                version,
                headers,
                flag,
                dict,
                profile,
            },
        )
}

pub(crate) fn sub_refresh_request() -> impl Strategy<Value = SubRefreshRequest> {
    let item = (text(), any::<u64>()).prop_map(|(key, version)| KeyedItem { key, version });
    let batch = (text(), vec(item, 0..3)).prop_map(|(signature, items)| TrackBatch { signature, items });
    (text(), text(), any::<i32>(), vec(batch, 0..3), vec(text(), 0..3)).prop_map(
        |(channel, token, r#type, track, untrack)| SubRefreshRequest {
            channel,
            token,
            r#type,
            track,
            untrack,
        },
    )
}

/// Commands with any combination of requests; `data` fields drawn from `data`.
pub(crate) fn command(data: BoxedStrategy<Bytes>) -> impl Strategy<Value = Command> {
    let publish = (text(), data.clone(), any::<i32>(), text(), any::<bool>()).prop_map(
        |(channel, data, r#type, key, removed)| PublishRequest {
            channel,
            data,
            r#type,
            key,
            removed,
        },
    );
    let history = (
        text(),
        any::<i32>(),
        option::of((any::<u64>(), text())),
        any::<bool>(),
    )
        .prop_map(|(channel, limit, since, reverse)| HistoryRequest {
            channel,
            limit,
            since: since.map(|(offset, epoch)| StreamPosition { offset, epoch }),
            reverse,
        });
    let rpc = (data.clone(), text()).prop_map(|(data, method)| RpcRequest { data, method });
    let send = data.clone().prop_map(|data| SendRequest { data });
    (
        (
            any::<u32>(),
            option::of(connect_request(data.clone())),
            option::of(subscribe_request(data)),
            option::of(text().prop_map(|channel| UnsubscribeRequest { channel })),
            option::of(publish),
            option::of(text().prop_map(|channel| PresenceRequest { channel })),
        ),
        (
            option::of(text().prop_map(|channel| PresenceStatsRequest { channel })),
            option::of(history),
            option::of(Just(PingRequest {})),
            option::of(send),
            option::of(rpc),
            option::of(text().prop_map(|token| RefreshRequest { token })),
            option::of(sub_refresh_request()),
        ),
    )
        .prop_map(
            |(
                (id, connect, subscribe, unsubscribe, publish, presence),
                (presence_stats, history, ping, send, rpc, refresh, sub_refresh),
            )| Command {
                id,
                connect,
                subscribe,
                unsubscribe,
                publish,
                presence,
                presence_stats,
                history,
                ping,
                send,
                rpc,
                refresh,
                sub_refresh,
            },
        )
}

pub(crate) fn client_info(data: BoxedStrategy<Bytes>) -> impl Strategy<Value = ClientInfo> {
    (text(), text(), data.clone(), data).prop_map(|(user, client, conn_info, chan_info)| ClientInfo {
        user,
        client,
        conn_info,
        chan_info,
    })
}

pub(crate) fn publication(data: BoxedStrategy<Bytes>) -> impl Strategy<Value = Publication> {
    (
        (
            data.clone(),
            option::of(client_info(data.clone())),
            any::<u64>(),
            string_map(),
        ),
        (
            any::<bool>(),
            any::<i64>(),
            text(),
            text(),
            any::<bool>(),
            any::<i64>(),
        ),
        (text(), data, any::<u64>()),
    )
        .prop_map(
            |(
                (data, info, offset, tags),
                (delta, time, channel, key, removed, score),
                (epoch, prev_data, version),
            )| Publication {
                data,
                info,
                offset,
                tags,
                delta,
                time,
                channel,
                key,
                removed,
                score,
                epoch,
                prev_data,
                version,
            },
        )
}

pub(crate) fn subscribe_result(data: BoxedStrategy<Bytes>) -> impl Strategy<Value = SubscribeResult> {
    (
        (
            any::<(bool, u32, bool)>(),
            text(),
            vec(publication(data.clone()), 0..2),
            any::<bool>(),
        ),
        (
            any::<u64>(),
            any::<bool>(),
            data.clone(),
            any::<(bool, bool)>(),
            any::<i64>(),
        ),
        (
            any::<(i32, i32)>(),
            text(),
            vec(publication(data), 0..2),
            any::<u32>(),
        ),
    )
        .prop_map(
            |(
                ((expires, ttl, recoverable), epoch, publications, recovered),
                (offset, positioned, data, (was_recovering, delta), id),
                ((r#type, phase), cursor, state, publish_debounce),
            )| SubscribeResult {
                expires,
                ttl,
                recoverable,
                epoch,
                publications,
                recovered,
                offset,
                positioned,
                data,
                was_recovering,
                delta,
                id,
                r#type,
                phase,
                cursor,
                state,
                publish_debounce,
            },
        )
}

pub(crate) fn push(data: BoxedStrategy<Bytes>) -> impl Strategy<Value = Push> {
    let join = option::of(client_info(data.clone())).prop_map(|info| Join { info });
    let leave = option::of(client_info(data.clone())).prop_map(|info| Leave { info });
    let unsubscribe = (any::<u32>(), text()).prop_map(|(code, reason)| Unsubscribe { code, reason });
    let message = data.clone().prop_map(|data| Message { data });
    let subscribe = (any::<bool>(), text(), any::<u64>(), any::<bool>(), data.clone()).prop_map(
        |(recoverable, epoch, offset, positioned, data)| Subscribe {
            recoverable,
            epoch,
            offset,
            positioned,
            data,
        },
    );
    let connect = (
        (
            text(),
            text(),
            data.clone(),
            hash_map(text(), subscribe_result(data.clone()), 0..2),
        ),
        (any::<(bool, u32, u32, bool)>(), text(), text(), any::<i64>()),
    )
        .prop_map(
            |((client, version, data, subs), ((expires, ttl, ping, pong), session, node, time))| Connect {
                client,
                version,
                data,
                subs,
                expires,
                ttl,
                ping,
                pong,
                session,
                node,
                time,
            },
        );
    let disconnect = (any::<u32>(), text(), any::<bool>()).prop_map(|(code, reason, reconnect)| Disconnect {
        code,
        reason,
        reconnect,
    });
    let refresh = any::<(bool, u32)>().prop_map(|(expires, ttl)| Refresh { expires, ttl });
    (
        (
            any::<i64>(),
            text(),
            option::of(publication(data)),
            option::of(join),
            option::of(leave),
        ),
        (
            option::of(unsubscribe),
            option::of(message),
            option::of(subscribe),
            option::of(connect),
            option::of(disconnect),
            option::of(refresh),
        ),
    )
        .prop_map(
            |(
                (id, channel, r#pub, join, leave),
                (unsubscribe, message, subscribe, connect, disconnect, refresh),
            )| Push {
                id,
                channel,
                r#pub,
                join,
                leave,
                unsubscribe,
                message,
                subscribe,
                connect,
                disconnect,
                refresh,
            },
        )
}

pub(crate) fn reply(data: BoxedStrategy<Bytes>) -> impl Strategy<Value = Reply> {
    let error = (any::<u32>(), text(), any::<bool>()).prop_map(|(code, message, temporary)| Error {
        code,
        message,
        temporary,
    });
    let dict =
        (text(), data.clone(), text()).prop_map(|(id, data, data_b64)| Dictionary { id, data, data_b64 });
    let connect = (
        (text(), text(), any::<(bool, u32)>(), data.clone()),
        (
            hash_map(text(), subscribe_result(data.clone()), 0..2),
            any::<(u32, bool)>(),
            text(),
            text(),
        ),
        (any::<(i64, i64)>(), option::of(dict)),
    )
        .prop_map(
            |(
                (client, version, (expires, ttl), data),
                (subs, (ping, pong), session, node),
                ((time, flag), dict),
            )| ConnectResult {
                client,
                version,
                expires,
                ttl,
                data,
                subs,
                ping,
                pong,
                session,
                node,
                time,
                flag,
                dict,
            },
        );
    let presence =
        hash_map(text(), client_info(data.clone()), 0..3).prop_map(|presence| PresenceResult { presence });
    let stats = any::<(u32, u32)>().prop_map(|(num_clients, num_users)| PresenceStatsResult {
        num_clients,
        num_users,
    });
    let history = (vec(publication(data.clone()), 0..3), text(), any::<u64>()).prop_map(
        |(publications, epoch, offset)| HistoryResult {
            publications,
            epoch,
            offset,
        },
    );
    let rpc = data.clone().prop_map(|data| RpcResult { data });
    let refresh =
        (text(), text(), any::<(bool, u32)>()).prop_map(|(client, version, (expires, ttl))| RefreshResult {
            client,
            version,
            expires,
            ttl,
        });
    let sub_refresh = (any::<(bool, u32)>(), vec(publication(data.clone()), 0..2))
        .prop_map(|((expires, ttl), items)| SubRefreshResult { expires, ttl, items });
    (
        (
            any::<u32>(),
            option::of(error),
            option::of(push(data.clone())),
            option::of(connect),
        ),
        (
            option::of(subscribe_result(data)),
            option::of(Just(UnsubscribeResult {})),
            option::of(Just(PublishResult {})),
            option::of(presence),
            option::of(stats),
        ),
        (
            option::of(history),
            option::of(Just(PingResult {})),
            option::of(rpc),
            option::of(refresh),
            option::of(sub_refresh),
        ),
    )
        .prop_map(
            |(
                (id, error, push, connect),
                (subscribe, unsubscribe, publish, presence, presence_stats),
                (history, ping, rpc, refresh, sub_refresh),
            )| Reply {
                id,
                error,
                push,
                connect,
                subscribe,
                unsubscribe,
                publish,
                presence,
                presence_stats,
                history,
                ping,
                rpc,
                refresh,
                sub_refresh,
            },
        )
}
