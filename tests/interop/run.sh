#!/usr/bin/env bash
# Interop suite: Gyre driven by the unmodified official clients
# (npm centrifuge, PyPI centrifuge-python, PyPI cent).
#
#   tests/interop/run.sh [pytest args...]       e.g. run.sh -k pubsub -x
#
# Idempotent: installs the pinned JS and Python dependencies when missing or stale,
# builds gyre unless GYRE_BIN points at a binary, then runs pytest and exits with its
# status. Needs node (20+), npm, python3 (3.11+) with venv, cargo, and access to the npm
# registry and PyPI on the first run.
#
# Environment:
#   GYRE_BIN          use this gyre binary instead of building one
#   CARGO_TARGET_DIR  respected when building
#   INTEROP_PYTHON    interpreter for the venv (default: python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

log() { printf '[interop] %s\n' "$*" >&2; }

# --- JavaScript: npm ci from the committed lockfile ----------------------------------
lock_stamp="node_modules/.interop-lock.sha256"
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$lock_stamp" || "$(cat "$lock_stamp")" != "$lock_sum" ]]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_sum" > "$lock_stamp"
fi

# --- Python: venv + exact pins -------------------------------------------------------
py="${INTEROP_PYTHON:-python3}"
req_stamp=".venv/.interop-req.sha256"
req_sum="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [[ ! -x .venv/bin/python || ! -f "$req_stamp" || "$(cat "$req_stamp")" != "$req_sum" ]]; then
    log "python venv + pip install -r requirements.txt"
    if [[ ! -x .venv/bin/python ]]; then
        "$py" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
    echo "$req_sum" > "$req_stamp"
fi

# --- gyre ------------------------------------------------------------------------------
if [[ -z "${GYRE_BIN:-}" ]]; then
    log "cargo build --bin gyre"
    (cd "$repo" && cargo build --bin gyre)
    target_dir="$(cd "$repo" && cargo metadata --format-version 1 --no-deps \
        | "$here/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    export GYRE_BIN="$target_dir/debug/gyre"
fi
if [[ ! -x "$GYRE_BIN" ]]; then
    log "gyre binary not found or not executable: $GYRE_BIN"
    exit 2
fi
log "using GYRE_BIN=$GYRE_BIN"

# --- run -------------------------------------------------------------------------------
# Loopback only: make sure no HTTP proxy from the environment is involved.
export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
export no_proxy="$NO_PROXY"

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
exit "$status"
