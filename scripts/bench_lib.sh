# Helpers shared by bench_compare.sh and bench_smoke.sh (sourced, not run): build gyre-bench,
# start a Gyre server and a nats-server on free loopback ports with generated configs, and stop
# everything on exit.

BENCH_SECRET=${BENCH_SECRET:-bench-secret-$$}
BENCH_API_KEY=${BENCH_API_KEY:-bench-key-$$}
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gyre-bench.XXXXXX")
BENCH_PIDS=()

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${BENCH_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    BENCH_PIDS=()
    rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "error: $*" >&2
    exit 1
}

# Builds gyre-bench (profile $1: release or dev) unless GYRE_BENCH_BIN is set; sets BENCH.
build_bench() {
    if [[ -n "${GYRE_BENCH_BIN:-}" ]]; then
        BENCH=$GYRE_BENCH_BIN
        return
    fi
    local profile=${1:-release} dir=debug
    [[ $profile == release ]] && dir=release
    cargo build --quiet --profile "$profile" -p gyre-bench
    BENCH=${CARGO_TARGET_DIR:-target}/$dir/gyre-bench
}

# A TCP port on 127.0.0.1 that is free right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until file $1 contains pattern $2 (up to 15 s); fails if process $3 died.
wait_for_log() {
    local i
    for ((i = 0; i < 150; i++)); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || { cat "$1" >&2; die "server exited during start-up"; }
        sleep 0.1
    done
    cat "$1" >&2
    die "server did not start within 15 s"
}

# Starts Gyre ($GYRE_BIN, default target/release/gyre); sets GYRE_PID and GYRE_PORT. $1, when
# given, is more top-level config members, e.g. '"websocket": {"compression": true}'.
start_gyre() {
    local bin=${GYRE_BIN:-${CARGO_TARGET_DIR:-target}/release/gyre} extra=${1:+,
  $1}
    [[ -x $bin ]] || die "no gyre binary at $bin (build it or set GYRE_BIN)"
    local cfg=$BENCH_TMP/gyre.json log=$BENCH_TMP/gyre.log
    cat >"$cfg" <<JSON
{
  "http_server": {"address": "127.0.0.1"},
  "client": {"token": {"hmac_secret_key": "$BENCH_SECRET"}},
  "http_api": {"key": "$BENCH_API_KEY"},
  "log": {"level": "info"}$extra
}
JSON
    "$bin" -c "$cfg" -p 0 2>"$log" &
    GYRE_PID=$!
    BENCH_PIDS+=("$GYRE_PID")
    wait_for_log "$log" '"message":"HTTP server listening"' "$GYRE_PID"
    GYRE_PORT=$(grep -o '"message":"HTTP server listening".*"address":"[0-9.]*:[0-9]*"' "$log" \
        | head -n1 | sed -E 's/.*:([0-9]+)"$/\1/')
    [[ -n $GYRE_PORT ]] || die "could not read Gyre's port from $log"
}

# Starts nats-server ($NATS_BIN, default nats-server on PATH or /usr/sbin/nats-server) with a
# WebSocket listener; sets NATS_PID, NATS_PORT and NATS_WS_PORT. Never touches a system
# nats-server on 4222: ports are fresh and the config is private.
start_nats() {
    local bin=${NATS_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
    [[ -x $bin ]] || die "no nats-server (apt-get install nats-server, or set NATS_BIN)"
    NATS_PORT=$(free_port)
    NATS_WS_PORT=$(free_port)
    local cfg=$BENCH_TMP/nats.conf log=$BENCH_TMP/nats.log
    # max_pending: the per-client outbound buffer before "slow consumer"; the default (64 MB)
    # is raised so a saturated run measures latency rather than disconnects.
    cat >"$cfg" <<CONF
listen: "127.0.0.1:$NATS_PORT"
max_pending: 268435456
websocket {
  listen: "127.0.0.1:$NATS_WS_PORT"
  no_tls: true
}
CONF
    "$bin" -c "$cfg" 2>"$log" &
    NATS_PID=$!
    BENCH_PIDS+=("$NATS_PID")
    wait_for_log "$log" "Server is ready" "$NATS_PID"
}

# Stops one server started above.
stop_server() {
    local pid=$1 keep=() p
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for p in "${BENCH_PIDS[@]}"; do
        [[ $p == "$pid" ]] || keep+=("$p")
    done
    BENCH_PIDS=("${keep[@]}")
}
