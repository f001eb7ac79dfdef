// One centrifuge-js client driven over stdio by the pytest harness.
//
// The SDK is used exactly as an application would use it (the unmodified npm package, the
// `ws` package as the WebSocket implementation because Node 20 has no global WebSocket).
// pytest sends one JSON command per stdin line and reads JSON lines from stdout:
//   {"event": "...", ...}              every SDK event, normalised (see normEvent)
//   {"reply": id, "ok": {...}}         result of command `id`
//   {"reply": id, "error": {code, message}}
// Keeping assertions in Python lets the same scenario run against both SDKs and both
// wire formats.
//
// Configuration comes from the environment:
//   GYRE_WS_URL   ws://127.0.0.1:PORT/connection/websocket
//   GYRE_FORMAT   "json" | "protobuf"
//   GYRE_CLIENT   JSON: {token?, getTokens?: [..], name?, data?, minReconnectDelay?, maxReconnectDelay?,
//                       transports?: [{transport, endpoint}], emulationEndpoint?}
//                 With `transports` the SDK gets that list instead of GYRE_WS_URL (HTTP-streaming,
//                 SSE: bidirectional emulation, Node's fetch and the `eventsource` package).
//   GYRE_AGENT_TIMEOUT_MS  hard stop for a forgotten agent (default 60000)

import readline from 'node:readline';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';

const format = process.env.GYRE_FORMAT === 'protobuf' ? 'protobuf' : 'json';
const url = process.env.GYRE_WS_URL;
const opts = JSON.parse(process.env.GYRE_CLIENT || '{}');
const hardTimeout = Number(process.env.GYRE_AGENT_TIMEOUT_MS || 60000);

// The protobuf build is a separate entry point of the same package (package.json exports
// "./build/protobuf"); it selects the `centrifuge-protobuf` WebSocket subprotocol.
const sdk = format === 'protobuf'
  ? await import('centrifuge/build/protobuf')
  : await import('centrifuge');
const { Centrifuge } = sdk;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// Protobuf carries payloads as bytes; the scenarios exchange JSON documents, so bytes are
// JSON text on the wire in both formats. Undecodable bytes are reported, not hidden.
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

function encodeData(value) {
  if (format === 'protobuf') {
    return textEncoder.encode(JSON.stringify(value));
  }
  return value;
}

function decodeData(value) {
  if (value === undefined || value === null) {
    return null;
  }
  if (value instanceof Uint8Array) {
    let text;
    try {
      text = textDecoder.decode(value);
    } catch (e) {
      return { __undecodable_bytes: Array.from(value) };
    }
    if (text === '') {
      return null;
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      return { __non_json_text: text };
    }
  }
  return value;
}

function normInfo(info) {
  if (!info) {
    return null;
  }
  return {
    client: info.client,
    user: info.user,
    conn_info: decodeData(info.connInfo),
    chan_info: decodeData(info.chanInfo),
  };
}

function normPublication(ctx) {
  return {
    channel: ctx.channel,
    data: decodeData(ctx.data),
    offset: ctx.offset === undefined ? null : Number(ctx.offset),
    info: normInfo(ctx.info),
    // Protobuf decodes absent tags as {}; both formats report them as null.
    tags: ctx.tags && Object.keys(ctx.tags).length > 0 ? ctx.tags : null,
  };
}

function normSubscribed(ctx) {
  const sp = ctx.streamPosition;
  return {
    recoverable: ctx.recoverable,
    positioned: ctx.positioned,
    wasRecovering: ctx.wasRecovering,
    recovered: ctx.recovered,
    streamPosition: sp ? { offset: Number(sp.offset), epoch: sp.epoch } : null,
    data: decodeData(ctx.data),
  };
}

function normError(err) {
  if (!err) {
    return { code: null, message: '' };
  }
  return { code: err.code === undefined ? null : err.code, message: err.message || String(err) };
}

function tokenSource(tokens, eventName, channel) {
  if (!Array.isArray(tokens) || tokens.length === 0) {
    return null;
  }
  let calls = 0;
  return async () => {
    const token = tokens[Math.min(calls, tokens.length - 1)];
    calls += 1;
    out({ event: eventName, channel: channel === undefined ? null : channel, n: calls });
    return token;
  };
}

const clientOptions = {
  websocket: WebSocket,
  // Short backoff keeps reconnect-based scenarios (token refresh, 3005) fast.
  minReconnectDelay: opts.minReconnectDelay ?? 100,
  maxReconnectDelay: opts.maxReconnectDelay ?? 2000,
  timeout: opts.timeout ?? 5000,
};
if (opts.emulationEndpoint) {
  // Node's fetch needs an absolute URL (a browser resolves the default '/emulation').
  clientOptions.emulationEndpoint = opts.emulationEndpoint;
}
if (opts.transports) {
  clientOptions.eventsource = EventSource;
}
if (opts.token) {
  clientOptions.token = opts.token;
}
const getToken = tokenSource(opts.getTokens, 'getToken');
if (getToken) {
  clientOptions.getToken = getToken;
}
if (opts.name) {
  clientOptions.name = opts.name;
}
// Connect data (what a connect proxy receives as `data`).
if (opts.data !== undefined && opts.data !== null) {
  clientOptions.data = encodeData(opts.data);
}

const client = new Centrifuge(opts.transports || url, clientOptions);

client.on('connecting', ctx => out({ event: 'connecting', code: ctx.code, reason: ctx.reason }));
client.on('connected', ctx => out({ event: 'connected', client: ctx.client, transport: ctx.transport, data: decodeData(ctx.data) }));
client.on('disconnected', ctx => out({ event: 'disconnected', code: ctx.code, reason: ctx.reason }));
client.on('error', ctx => {
  const e = normError(ctx.error);
  out({ event: 'error', type: ctx.type, error_code: e.code, message: e.message });
});
// Server-side subscriptions surface at client level.
client.on('subscribing', ctx => out({ event: 'server.subscribing', channel: ctx.channel }));
client.on('subscribed', ctx => out({ event: 'server.subscribed', channel: ctx.channel, ...normSubscribed(ctx) }));
client.on('unsubscribed', ctx => out({ event: 'server.unsubscribed', channel: ctx.channel }));
client.on('publication', ctx => out({ event: 'server.publication', ...normPublication(ctx) }));
client.on('join', ctx => out({ event: 'server.join', channel: ctx.channel, info: normInfo(ctx.info) }));
client.on('leave', ctx => out({ event: 'server.leave', channel: ctx.channel, info: normInfo(ctx.info) }));

function newSubscription(cmd) {
  const subOptions = {};
  if (cmd.token) {
    subOptions.token = cmd.token;
  }
  const subGetToken = tokenSource(cmd.getTokens, 'sub.getToken', cmd.channel);
  if (subGetToken) {
    subOptions.getToken = subGetToken;
  }
  if (cmd.joinLeave) {
    subOptions.joinLeave = true;
  }
  // Recovery and positioning options, passed through as given (see SubscriptionOptions).
  if (cmd.since !== undefined && cmd.since !== null) {
    subOptions.since = cmd.since;
  }
  if (cmd.positioned) {
    subOptions.positioned = true;
  }
  if (cmd.recoverable) {
    subOptions.recoverable = true;
  }
  if (cmd.delta) {
    subOptions.delta = cmd.delta;
  }
  if (cmd.tagsFilter) {
    subOptions.tagsFilter = cmd.tagsFilter;
  }
  subOptions.minResubscribeDelay = cmd.minResubscribeDelay ?? 100;
  subOptions.maxResubscribeDelay = cmd.maxResubscribeDelay ?? 2000;
  const sub = client.newSubscription(cmd.channel, subOptions);
  const ch = cmd.channel;
  sub.on('subscribing', ctx => out({ event: 'sub.subscribing', channel: ch, code: ctx.code, reason: ctx.reason }));
  sub.on('subscribed', ctx => out({ event: 'sub.subscribed', channel: ch, ...normSubscribed(ctx) }));
  sub.on('unsubscribed', ctx => out({ event: 'sub.unsubscribed', channel: ch, code: ctx.code, reason: ctx.reason }));
  sub.on('publication', ctx => out({ event: 'sub.publication', ...normPublication(ctx), channel: ch }));
  sub.on('error', ctx => {
    const e = normError(ctx.error);
    out({ event: 'sub.error', channel: ch, type: ctx.type, error_code: e.code, message: e.message });
  });
  sub.on('join', ctx => out({ event: 'sub.join', channel: ch, info: normInfo(ctx.info) }));
  sub.on('leave', ctx => out({ event: 'sub.leave', channel: ch, info: normInfo(ctx.info) }));
  return {};
}

function requireSub(channel) {
  const sub = client.getSubscription(channel);
  if (!sub) {
    throw new Error('no subscription for ' + channel);
  }
  return sub;
}

function normHistory(res) {
  return {
    publications: res.publications.map(normPublication),
    offset: Number(res.offset || 0),
    epoch: res.epoch || '',
  };
}

function normPresence(res) {
  const clients = {};
  for (const [id, info] of Object.entries(res.clients || {})) {
    clients[id] = normInfo(info);
  }
  return { clients };
}

// `via: "sub"` goes through the Subscription object (sub.history(), sub.presence(), ...),
// anything else through the client-level method with an explicit channel.
const handlers = {
  async connect() { client.connect(); return {}; },
  async disconnect() { client.disconnect(); return {}; },
  async state() {
    const subs = {};
    for (const [ch, sub] of Object.entries(client.subscriptions())) {
      subs[ch] = sub.state;
    }
    return { state: client.state, subs };
  },
  async newSubscription(cmd) { return newSubscription(cmd); },
  async subscribe(cmd) { requireSub(cmd.channel).subscribe(); return {}; },
  async unsubscribe(cmd) { requireSub(cmd.channel).unsubscribe(); return {}; },
  async removeSubscription(cmd) { client.removeSubscription(requireSub(cmd.channel)); return {}; },
  async publish(cmd) {
    const data = encodeData(cmd.data);
    const res = cmd.via === 'sub' ? await requireSub(cmd.channel).publish(data) : await client.publish(cmd.channel, data);
    return res || {};
  },
  async history(cmd) {
    const options = {};
    if (cmd.limit !== undefined && cmd.limit !== null) options.limit = cmd.limit;
    if (cmd.reverse) options.reverse = true;
    if (cmd.since) options.since = cmd.since;
    const res = cmd.via === 'sub' ? await requireSub(cmd.channel).history(options) : await client.history(cmd.channel, options);
    return normHistory(res);
  },
  async deltaStats(cmd) {
    const st = requireSub(cmd.channel).deltaStats();
    return { numPublications: st.numPublications, numDeltaPayloads: st.numDeltaPayloads, numFullPayloads: st.numFullPayloads };
  },
  async presence(cmd) {
    const res = cmd.via === 'sub' ? await requireSub(cmd.channel).presence() : await client.presence(cmd.channel);
    return normPresence(res);
  },
  async presenceStats(cmd) {
    const res = cmd.via === 'sub' ? await requireSub(cmd.channel).presenceStats() : await client.presenceStats(cmd.channel);
    return { num_clients: res.numClients, num_users: res.numUsers };
  },
  async rpc(cmd) {
    const res = await client.rpc(cmd.method, encodeData(cmd.data));
    return { data: decodeData(res.data) };
  },
  async exit() {
    client.disconnect();
    setImmediate(() => process.exit(0));
    return {};
  },
};

const stopTimer = setTimeout(() => {
  out({ event: 'agent.timeout' });
  process.exit(3);
}, hardTimeout);
stopTimer.unref();

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async line => {
  if (!line.trim()) {
    return;
  }
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    out({ event: 'agent.bad_command', line });
    return;
  }
  const handler = handlers[cmd.op];
  if (!handler) {
    out({ reply: cmd.id, error: { code: null, message: 'unknown op ' + cmd.op } });
    return;
  }
  try {
    const result = await handler(cmd);
    out({ reply: cmd.id, ok: result });
  } catch (e) {
    out({ reply: cmd.id, error: normError(e) });
  }
});
// The harness closing stdin means the test is over.
rl.on('close', () => {
  client.disconnect();
  setImmediate(() => process.exit(0));
});

out({ event: 'agent.ready', format, sdk: 'centrifuge-js' });
