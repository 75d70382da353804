#!/usr/bin/env bash
# Runs every test of the project: formatting and lints, the Rust workspace (unit, property,
# OpenZeppelin-vector and simulator tests, doctests), and the Solidity toolchain's Foundry tests.
# Needs only the Rust toolchain, Node.js/npm and Python; installs the rest itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "rust: formatting"
cargo fmt --all -- --check

step "rust: clippy (-D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "rust: tests"
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

step "solidity: toolchain (pinned, into .tools/)"
scripts/install-toolchain.sh --quiet

step "solidity: format and tests"
(
  cd contracts
  ../.tools/bin/forge fmt --check
  profile=default
  [ "${CI:-}" = "true" ] && profile=ci
  FOUNDRY_PROFILE=$profile ../.tools/bin/forge test
)

step "all tests passed"
