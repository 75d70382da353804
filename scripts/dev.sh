#!/usr/bin/env bash
# The main job: a local OP Stack L2 with routing settlement, in one command.
#
# Installs what it needs (the pinned anvil via scripts/install-toolchain.sh, the crates via
# cargo), then runs `routing-node dev`: anvil in OP Stack mode with the project's genesis (the
# staking and settlement contracts pre-deployed, ten funded dev accounts), the execution
# extension following it, the batcher posting with dev account 0, the routing_ JSON-RPC on
# 127.0.0.1:8547 and Prometheus metrics on 127.0.0.1:9547. Ctrl-C stops the node and the chain.
#
# Usage: scripts/dev.sh [routing-node dev options]   (scripts/dev.sh --help lists them)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-toolchain.sh --quiet
export ANVIL_BIN="${ANVIL_BIN:-$PWD/.tools/bin/anvil}"
exec cargo run --release --locked -q -p routing-node --bin routing-node -- dev "$@"
