#!/usr/bin/env bash
# WebSocket permessage-deflate cost: the same Gyre fan-out workload twice on fresh release
# servers, first without compression, then with `websocket.compression` on and every
# subscriber offering permessage-deflate (gyre-bench --compression inflates on the client
# side). Prints a side-by-side markdown table.
#
#   scripts/bench_compression.sh [-n CONNECTIONS] [-c CHANNELS] [-r RATE] [-d SECONDS] [-o OUTDIR] \
#       [-- more gyre-bench arguments, e.g. --payload-size 1000]
#
# GYRE_BIN (default target/release/gyre) and GYRE_BENCH_BIN override the binaries.
# Output: OUTDIR/{plain,deflate}.json, {plain,deflate}.svg, compare.svg, compare.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench_lib.sh

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
            -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
            *) die "unknown argument $1 (see --help)" ;;
        esac
    done
    extra=("$@")
    mkdir -p "$out"
    build_bench release
    common=(--connections "$connections" --channels "$channels" --rate "$rate" --duration "$duration" -q "${extra[@]}")

    local run config flags
    for run in plain deflate; do
        config='' flags=()
        if [[ $run == deflate ]]; then
            config='"websocket": {"compression": true}' flags=(--compression)
        fi
        start_gyre "$config"
        echo "gyre ($run): pid $GYRE_PID, port $GYRE_PORT" >&2
        "$BENCH" --mode gyre --url "ws://127.0.0.1:$GYRE_PORT/connection/websocket" \
            --api-key "$BENCH_API_KEY" --secret "$BENCH_SECRET" --server-pid "$GYRE_PID" \
            --label "gyre $run" --json "$out/$run.json" --plot "$out/$run.svg" "${flags[@]}" "${common[@]}"
        stop_server "$GYRE_PID"
    done

    "$BENCH" --compare "$out/plain.json" "$out/deflate.json" --plot "$out/compare.svg" | tee "$out/compare.md"
    echo "results in $out/" >&2
}

main "$@"
