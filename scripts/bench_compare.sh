#!/usr/bin/env bash
# Runs one fan-out workload against a fresh Gyre release server and then a fresh nats-server
# (WebSocket subscribers, NATS TCP publishers), writes JSON results and SVG charts, and prints
# a side-by-side markdown table. The servers run one after the other so each has the machine
# (shared with the bench) to itself.
#
#   scripts/bench_compare.sh [-n CONNECTIONS] [-c CHANNELS] [-r RATE] [-d SECONDS] [-o OUTDIR] \
#       [-- more gyre-bench arguments, e.g. --publishers 8 --payload-size 200]
#
# RATE 0 = saturated. GYRE_BIN (default target/release/gyre), NATS_BIN, GYRE_BENCH_BIN override
# the binaries. Output: OUTDIR/{gyre,nats}.json, {gyre,nats}.svg, compare.svg, compare.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_lib.sh

# Everything in a function: bash has read the whole script before it runs any of it.
main() {
    local connections=1000 channels=10 rate=1000 duration=10 out=bench-results
    while [[ $# -gt 0 ]]; do
        case $1 in
            -n) connections=$2; shift 2 ;;
            -c) channels=$2; shift 2 ;;
            -r) rate=$2; shift 2 ;;
            -d) duration=$2; shift 2 ;;
            -o) out=$2; shift 2 ;;
            --) shift; break ;;
            -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
            *) die "unknown argument $1 (see --help)" ;;
        esac
    done
    extra=("$@")
    mkdir -p "$out"
    build_bench release
    common=(--connections "$connections" --channels "$channels" --rate "$rate" --duration "$duration" -q "${extra[@]}")

    start_gyre
    echo "gyre: pid $GYRE_PID, port $GYRE_PORT" >&2
    "$BENCH" --mode gyre --url "ws://127.0.0.1:$GYRE_PORT/connection/websocket" \
        --api-key "$BENCH_API_KEY" --secret "$BENCH_SECRET" --server-pid "$GYRE_PID" \
        --json "$out/gyre.json" --plot "$out/gyre.svg" "${common[@]}"
    stop_server "$GYRE_PID"

    start_nats
    echo "nats-server: pid $NATS_PID, NATS port $NATS_PORT, WebSocket port $NATS_WS_PORT" >&2
    "$BENCH" --mode nats --url "ws://127.0.0.1:$NATS_WS_PORT" --nats-url "nats://127.0.0.1:$NATS_PORT" \
        --server-pid "$NATS_PID" --json "$out/nats.json" --plot "$out/nats.svg" "${common[@]}"
    stop_server "$NATS_PID"

    "$BENCH" --compare "$out/gyre.json" "$out/nats.json" --plot "$out/compare.svg" | tee "$out/compare.md"
    echo "results in $out/" >&2
}

main "$@"
