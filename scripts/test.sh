#!/usr/bin/env bash
# Runs every test of the project: formatting and lints (Rust and Solidity), the Solidity build,
# the Rust workspace (unit, property, OpenZeppelin-vector, simulator, differential-against-the-
# compiled-contracts, genesis, gas and anvil tests, the node and auditor end to end, the demo
# script, docker-compose.yml through docker-compose's parser, doctests), and the Foundry tests
# with the gas snapshot. Needs only the Rust toolchain, Node.js/npm and Python; installs the rest itself
# (crates through cargo, the pinned Foundry + solc-js + OpenZeppelin into .tools/).
# With CI=true the Foundry fuzz and invariant tests run the heavier `ci` profile.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "rust: formatting"
cargo fmt --all -- --check

step "rust: clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "solidity: toolchain (pinned, into .tools/)"
scripts/install-toolchain.sh --quiet

step "solidity: format and build"
(
  cd contracts
  ../.tools/bin/forge fmt --check
  ../.tools/bin/forge build
)

step "compose: the docker-compose.yml checker (pinned, into .tools/compose-venv)"
scripts/install-compose-checker.sh

step "rust: tests (the contract tests read contracts/out and start anvil from .tools/)"
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

step "solidity: tests and gas snapshot"
(
  cd contracts
  profile=default
  [ "${CI:-}" = "true" ] && profile=ci
  # Unit tests run once, inside the snapshot check (their gas is deterministic); fuzz and
  # invariant tests, whose gas depends on the profile's run counts, run outside it.
  # FORGE_SNAPSHOT_CHECK also compares the named snapshots in contracts/snapshots/. The 1%
  # tolerance absorbs the few gas by which a test contract's code differs between an incremental
  # and a clean build (solc's AST ids depend on which files are compiled together); regenerate
  # the snapshot after a clean build (forge build --force).
  FORGE_SNAPSHOT_CHECK=true ../.tools/bin/forge snapshot --check --tolerance 1 --no-match-test 'testFuzz|invariant'
  FOUNDRY_PROFILE=$profile ../.tools/bin/forge test --match-test 'testFuzz|invariant'
)

step "all tests passed"
