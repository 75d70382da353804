#!/usr/bin/env bash
# Prepares docker/config/ for docker-compose.yml (needs Docker with the compose plugin):
#   jwt.hex          the engine API secret op-node and op-reth share (32 random bytes)
#   sequencer.key    the routing node's batch-posting key (the settlement's sequencer)
#   rollup.json      op-node's rollup configuration      } from op-deployer, after it deployed
#   genesis-l2.json  op-reth's L2 genesis                } the OP Stack's L1 contracts to `l1`
# genesis-l2.json is op-deployer's L2 genesis with this project's contracts (genesis/genesis.json:
# stake token, staking, settlement, dev balances) merged in by scripts/compose/merge_genesis.py.
# Usage: scripts/compose-init.sh   (then `docker compose up -d`)
# Environment: SEQUENCER_KEY (default: anvil's dev key 0, the genesis' authorised sequencer).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=docker/config
mkdir -p "$CONFIG"
command -v docker >/dev/null || { echo "compose-init: docker is not on PATH" >&2; exit 1; }

python3 -c 'import secrets; print("0x" + secrets.token_hex(32))' >"$CONFIG/jwt.hex"
echo "${SEQUENCER_KEY:-0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80}" \
  >"$CONFIG/sequencer.key"
chmod 600 "$CONFIG/jwt.hex" "$CONFIG/sequencer.key"

docker compose up -d --wait l1
docker compose --profile init run --rm op-deployer
python3 scripts/compose/merge_genesis.py "$CONFIG/genesis-op.json" genesis/genesis.json \
  "$CONFIG/genesis-l2.json"
echo "compose-init: $CONFIG is ready; start the stack with: docker compose up -d"
