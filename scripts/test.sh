#!/usr/bin/env bash
# The project's one test command (README): formatting, lints, every Rust test, then the interop
# suite that drives a real gyre binary with the official Centrifugo SDKs and API client.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings
echo "== cargo test"
cargo test --workspace --all-features
echo "== interop (official SDKs)"
tests/interop/run.sh
