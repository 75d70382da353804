//! The contract-facing side of routing settlement.
//!
//! - [`artifacts`]: compiled contracts, read from forge's output.
//! - [`evm`]: an in-process EVM (revm) that runs them.
//! - [`devnet`]: the local devnet's chain id, contract addresses, dev keys and parameters.
//! - [`genesis`]: the OP Stack L2 genesis with the contracts pre-deployed, built from the
//!   artifacts by running their constructors in [`evm`].
//! - [`batch`]: a sealed batch (header, payload, Merkle tree) and the settlement calls built from
//!   it: `commitBatch`, `challengeMisrouting`, `challengeDuplicate`.
//! - [`gas`]: the L2 gas of staking, commits and challenges, from receipts on anvil.
//! - [`challenge`]: what a misrouting challenge will prove or why it will be refused, computed
//!   in Rust before paying for the transaction.
//! - [`anvil`]: starts anvil on a free loopback port and talks JSON-RPC to it (tests, the gas
//!   report).
//!
//! ## Feature flags
//! None.

pub mod anvil;
pub mod artifacts;
pub mod batch;
pub mod challenge;
pub mod devnet;
pub mod evm;
pub mod gas;
pub mod genesis;
