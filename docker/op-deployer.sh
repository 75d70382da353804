#!/bin/sh
# Runs inside the op-deployer image (docker-compose.yml's `op-deployer` service, profile `init`):
# deploys the OP Stack's L1 contracts to the L1 for L2 chain 901 and writes the L2 genesis and
# the rollup configuration into /config. Called by scripts/compose-init.sh.
set -eu
W=/config/deployer
rm -rf "$W"
op-deployer init --l1-chain-id "$L1_CHAIN_ID" --l2-chain-ids "$L2_CHAIN_ID" --workdir "$W" \
  --intent-type custom
# Every role to the admin, except the batcher and proposer, which sign their own transactions.
sed -i \
  -e "s/^\([[:space:]]*batcher[[:space:]]*=[[:space:]]*\).*/\1\"$BATCHER_ADDRESS\"/" \
  -e "s/^\([[:space:]]*proposer[[:space:]]*=[[:space:]]*\).*/\1\"$ADMIN_ADDRESS\"/" \
  -e "s/0x0000000000000000000000000000000000000000/$ADMIN_ADDRESS/g" \
  "$W/intent.toml"
op-deployer apply --workdir "$W" --l1-rpc-url "$L1_RPC" --private-key "$DEPLOYER_KEY" \
  --deployment-target live
op-deployer inspect genesis --workdir "$W" "$L2_CHAIN_ID" >/config/genesis-op.json
op-deployer inspect rollup --workdir "$W" "$L2_CHAIN_ID" >/config/rollup.json
