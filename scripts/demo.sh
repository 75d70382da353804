#!/usr/bin/env bash
# The slashing story, end to end, on the one-command devnet:
#
#   1. `routing-node dev` starts a local OP Stack L2 (anvil, the contracts pre-deployed) with the
#      node on top;
#   2. two routers stake from ordinary wallets with `cast`: the honest one with approve + stake,
#      the lazy one with an EIP-2612 permit signed by `cast wallet sign` (one transaction);
#   3. `routing-load` routes the simulator's inference load: the honest router follows the
#      policy, the lazy one skips to the fallback tier at peak load and once generates twice;
#      every decision is submitted to the node and sequenced into batches on the L2;
#   4. `routing-audit replay` finds the lazy router's violations (exit code 1);
#   5. `routing-audit watch --auto-challenge` challenges each of them from a third wallet;
#   6. `cast call` shows the lazy router slashed and jailed, the challenger paid, the honest
#      router untouched;
#   7. the honest router unstakes and, once the devnet's clock is past the delay, withdraws.
# The script checks all of it and exits non-zero if anything is off.
#
# Usage: scripts/demo.sh
# Environment: BIN_DIR (prebuilt routing-node, routing-load, routing-audit; default: build them
# in release mode), EL_PORT (8545), RPC_PORT (8547), METRICS_PORT (9547), REQUESTS (2400).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-toolchain.sh --quiet
if [ -z "${BIN_DIR:-}" ]; then
  cargo build --release --locked -q -p routing-node -p routing-audit
  BIN_DIR=$PWD/target/release
fi
CAST=$PWD/.tools/bin/cast
export ANVIL_BIN="${ANVIL_BIN:-$PWD/.tools/bin/anvil}"
EL="http://127.0.0.1:${EL_PORT:-8545}"
NODE="http://127.0.0.1:${RPC_PORT:-8547}"
REQUESTS="${REQUESTS:-2400}"

# The devnet's contracts (genesis/) and anvil's public dev keys (never use them elsewhere).
TOKEN=0x5e77000000000000000000000000000000000001
STAKING=0x5e77000000000000000000000000000000000002
HONEST_KEY=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
LAZY_KEY=0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a
CHALLENGER_KEY=0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba
HONEST=$("$CAST" wallet address "$HONEST_KEY")
LAZY=$("$CAST" wallet address "$LAZY_KEY")
CHALLENGER=$("$CAST" wallet address "$CHALLENGER_KEY")
STAKE=10000000000000000000000 # 10,000 stake tokens

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d)
step "starting the devnet: routing-node dev (log: $WORK/node.log)"
"$BIN_DIR/routing-node" dev \
  --el-addr "${EL#http://}" --rpc-addr "${NODE#http://}" \
  --metrics-addr "127.0.0.1:${METRICS_PORT:-9547}" \
  --max-decisions 300 --max-age-ms 500 >"$WORK/node.out" 2>"$WORK/node.log" &
NODE_PID=$!
cleanup() {
  kill -INT "$NODE_PID" 2>/dev/null || true
  wait "$NODE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
for _ in $(seq 1 600); do
  "$CAST" rpc --rpc-url "$NODE" routing_status >/dev/null 2>&1 && break
  kill -0 "$NODE_PID" 2>/dev/null || { cat "$WORK/node.log" >&2; fail "routing-node dev exited"; }
  sleep 0.1
done
"$CAST" rpc --rpc-url "$NODE" routing_status >/dev/null || fail "the node did not come up"
echo "L2 at $EL (chain id $("$CAST" chain-id --rpc-url "$EL")), routing node at $NODE"

step "staking: the honest router $HONEST with approve + stake"
"$CAST" send -q --rpc-url "$EL" --private-key "$HONEST_KEY" "$TOKEN" "approve(address,uint256)" "$STAKING" "$STAKE"
"$CAST" send -q --rpc-url "$EL" --private-key "$HONEST_KEY" "$STAKING" "stake(uint256)" "$STAKE"

step "staking: the lazy router $LAZY with a permit (one transaction)"
NONCE=$("$CAST" call --rpc-url "$EL" "$TOKEN" "nonces(address)(uint256)" "$LAZY")
DEADLINE=$(( $(date +%s) + 3600 ))
cat >"$WORK/permit.json" <<EOF
{"types":{"EIP712Domain":[{"name":"name","type":"string"},{"name":"version","type":"string"},{"name":"chainId","type":"uint256"},{"name":"verifyingContract","type":"address"}],
 "Permit":[{"name":"owner","type":"address"},{"name":"spender","type":"address"},{"name":"value","type":"uint256"},{"name":"nonce","type":"uint256"},{"name":"deadline","type":"uint256"}]},
 "primaryType":"Permit",
 "domain":{"name":"Routing Stake","version":"1","chainId":901,"verifyingContract":"$TOKEN"},
 "message":{"owner":"$LAZY","spender":"$STAKING","value":"$STAKE","nonce":"$NONCE","deadline":"$DEADLINE"}}
EOF
SIG=$("$CAST" wallet sign --private-key "$LAZY_KEY" --data --from-file "$WORK/permit.json")
R=0x${SIG:2:64}
S=0x${SIG:66:64}
V=$((16#${SIG:130:2}))
"$CAST" send -q --rpc-url "$EL" --private-key "$LAZY_KEY" "$STAKING" \
  "stakeWithPermit(uint256,uint256,uint8,bytes32,bytes32)" "$STAKE" "$DEADLINE" "$V" "$R" "$S"
for who in "$HONEST" "$LAZY"; do
  [ "$("$CAST" call --rpc-url "$EL" "$STAKING" "isActive(address)(bool)" "$who")" = true ] ||
    fail "$who is not actively staked"
done
stake_of() { "$CAST" call --rpc-url "$EL" "$STAKING" "stakeOf(address)(uint256,uint256,uint64)" "$1" | head -1 | cut -d' ' -f1; }
jailed() { "$CAST" call --rpc-url "$EL" "$STAKING" "jailed(address)(bool)" "$1"; }
balance() { "$CAST" call --rpc-url "$EL" "$TOKEN" "balanceOf(address)(uint256)" "$1" | cut -d' ' -f1; }
HONEST_BEFORE=$(stake_of "$HONEST")
LAZY_BEFORE=$(stake_of "$LAZY")
PAID_BEFORE=$(balance "$CHALLENGER")

step "routing the simulator's load ($REQUESTS requests) and submitting it to the node"
"$BIN_DIR/routing-load" --node "$NODE" --honest-key "$HONEST_KEY" --lazy-key "$LAZY_KEY" \
  --requests "$REQUESTS"
BATCHES=$("$CAST" call --rpc-url "$EL" 0x5e77000000000000000000000000000000000003 "lastBatchId()(uint64)")
ID=$("$CAST" rpc --rpc-url "$NODE" routing_getBatchDecisions 0x1 0x0 0x1 |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["decisions"][0]["decision"]["decision"]["request"]["id"])')
echo "the Merkle proof of request $ID, as OpenZeppelin's MerkleProof verifies it:"
"$CAST" rpc --rpc-url "$NODE" routing_getProof "$ID"

step "auditing all $BATCHES batches: routing-audit replay"
set +e
"$BIN_DIR/routing-audit" --el-rpc "$EL" --node "$NODE" replay >"$WORK/replay.txt"
CODE=$?
set -e
grep -v '^         ' "$WORK/replay.txt"
echo "(findings listed in full by the same command; first three:)"
grep -m3 '^         ' "$WORK/replay.txt"
[ "$CODE" = 1 ] || fail "routing-audit replay exited $CODE, expected 1 (violations found)"
grep -q "$HONEST" "$WORK/replay.txt" && fail "the honest router was flagged"

step "challenging every violation: routing-audit watch --auto-challenge (challenger $CHALLENGER)"
set +e
"$BIN_DIR/routing-audit" --el-rpc "$EL" --node "$NODE" watch --auto-challenge \
  --key "$CHALLENGER_KEY" --max-batches "$BATCHES" >"$WORK/watch.txt"
CODE=$?
set -e
[ "$CODE" = 1 ] || fail "routing-audit watch exited $CODE, expected 1"
CHALLENGED=$(grep -c '^challenged ' "$WORK/watch.txt" || true)
grep -m3 '^challenged ' "$WORK/watch.txt"
grep -q 'already served' "$WORK/replay.txt" || fail "the duplicate generation was not found"
grep -m1 'already served' "$WORK/replay.txt"
[ "$CHALLENGED" -gt 0 ] || fail "nothing was challenged"
echo "... $CHALLENGED challenges sent"

step "the outcome, read with cast"
HONEST_AFTER=$(stake_of "$HONEST")
LAZY_AFTER=$(stake_of "$LAZY")
PAID_AFTER=$(balance "$CHALLENGER")
echo "lazy router:  stake $LAZY_BEFORE -> $LAZY_AFTER, jailed: $(jailed "$LAZY")"
echo "honest router: stake $HONEST_BEFORE -> $HONEST_AFTER, jailed: $(jailed "$HONEST")"
echo "challenger:   balance $PAID_BEFORE -> $PAID_AFTER"
python3 - "$LAZY_BEFORE" "$LAZY_AFTER" "$HONEST_BEFORE" "$HONEST_AFTER" "$PAID_BEFORE" "$PAID_AFTER" <<'EOF' || fail "the outcome is not the expected one"
import sys
lb, la, hb, ha, pb, pa = map(int, sys.argv[1:])
assert la < lb, "the lazy router was not slashed"
assert ha == hb, "the honest router's stake changed"
assert pa > pb, "the challenger was not paid"
assert pa - pb < lb - la, "the reward is not less than the slash"
EOF
[ "$(jailed "$LAZY")" = true ] || fail "the lazy router is not jailed"
[ "$(jailed "$HONEST")" = false ] || fail "the honest router is jailed"
step "the honest router leaves: requestUnstake, then withdraw after the unstake delay"
"$CAST" send -q --rpc-url "$EL" --private-key "$HONEST_KEY" "$STAKING" "requestUnstake(uint256)" "$HONEST_AFTER"
echo "withdrawable at $("$CAST" call --rpc-url "$EL" "$STAKING" "withdrawableAt(address)(uint64)" "$HONEST") (unix time); on the devnet, the clock moves past it:"
"$CAST" rpc --rpc-url "$EL" evm_increaseTime 7300 >/dev/null
"$CAST" rpc --rpc-url "$EL" evm_mine >/dev/null
WALLET_BEFORE=$(balance "$HONEST")
"$CAST" send -q --rpc-url "$EL" --private-key "$HONEST_KEY" "$STAKING" "withdraw()"
WALLET_AFTER=$(balance "$HONEST")
echo "honest router's wallet: $WALLET_BEFORE -> $WALLET_AFTER"
python3 -c 'import sys; b, a, s = map(int, sys.argv[1:]); assert a - b == s' \
  "$WALLET_BEFORE" "$WALLET_AFTER" "$HONEST_AFTER" || fail "the withdrawal did not return the stake"

step "demo passed: the lazy router was slashed and jailed, the challenger paid, the honest router untouched and withdrew"
