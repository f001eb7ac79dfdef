#!/usr/bin/env bash
# The project's one test command (README): formatting, lints, every Rust test, then the interop
# suite that drives a real gyre binary with the official Centrifugo SDKs and API client.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== SDK dependencies (interop suite; also used by the fossil delta cross-check)"
tests/interop/run.sh --collect-only -q >/dev/null
echo "== cargo test"
# The fossil tests apply Gyre's deltas with the SDKs' own decoders; require them, never skip.
GYRE_REQUIRE_SDK_FOSSIL=1 cargo test --workspace --all-features
echo "== interop (official SDKs)"
tests/interop/run.sh
echo "== bench smoke (gyre bench against gyre and nats-server, a few seconds)"
GYRE_BIN="${CARGO_TARGET_DIR:-target}/debug/gyre" scripts/bench_smoke.sh
