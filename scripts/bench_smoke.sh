#!/usr/bin/env bash
# A few seconds of load against Gyre (JSON with client-side subscriptions, Protobuf with
# server-side subscriptions, Protobuf with permessage-deflate) and nats-server; fails on any loss, gap, duplicate, reorder,
# failed connection or publish error. For CI: GYRE_BIN points at the built gyre binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_lib.sh

# Everything in a function: bash has read the whole script before it runs any of it.
main() {
    build_bench dev
    load=(--connections 50 --channels 5 --rate 200 --duration 3 --warmup 1 --drain 5 --connect-timeout 5 --strict -q)

    start_gyre
    url="ws://127.0.0.1:$GYRE_PORT/connection/websocket"
    auth=(--api-key "$BENCH_API_KEY" --secret "$BENCH_SECRET" --server-pid "$GYRE_PID")
    "$BENCH" --mode gyre --url "$url" "${auth[@]}" "${load[@]}"
    "$BENCH" --mode gyre --url "$url" "${auth[@]}" --protocol protobuf --subscribe server \
        --label gyre-protobuf "${load[@]}"
    stop_server "$GYRE_PID"

    # permessage-deflate: the protobuf run with compressed frames.
    start_gyre '"websocket": {"compression": true}'
    url="ws://127.0.0.1:$GYRE_PORT/connection/websocket"
    auth=(--api-key "$BENCH_API_KEY" --secret "$BENCH_SECRET" --server-pid "$GYRE_PID")
    "$BENCH" --mode gyre --url "$url" "${auth[@]}" --protocol protobuf --compression \
        --label gyre-deflate "${load[@]}"
    stop_server "$GYRE_PID"

    start_nats
    "$BENCH" --mode nats --url "ws://127.0.0.1:$NATS_WS_PORT" --nats-url "nats://127.0.0.1:$NATS_PORT" \
        --server-pid "$NATS_PID" "${load[@]}"
    stop_server "$NATS_PID"
    echo "bench smoke: all runs clean"
}

main "$@"
