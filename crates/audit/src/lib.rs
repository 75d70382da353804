//! `routing-audit`: replays committed routing batches and challenges the violations it finds.
//!
//! Every batch is read from L2 chain data alone (the `BatchCommitted` log, then the commit
//! transaction's calldata through `eth_getTransactionByHash`) and, independently, from the
//! node's `routing_` RPC. The auditor recomputes every leaf and the root, verifies every router
//! signature, replays the policy against the registry of each decision's epoch (a registry is
//! used only once its root is the one the settlement contract holds for that epoch), checks the
//! next registry root, and tracks request ids across batches. A finding the contract can decide
//! becomes a `challengeMisrouting` or `challengeDuplicate` transaction, checked in Rust first
//! ([`routing_contracts::challenge::expected_misrouting_outcome`]).

mod audit;
mod chain;
pub mod load;
mod send;

pub use audit::{Auditor, BatchAudit, ChallengeTx, Challengeable, Finding, NextRegistry, Verdict};
pub use chain::{ChainBatch, ChainError, ChainReader};
pub use send::{send_challenge, send_challenges, ChallengeReceipt};

/// Exit code: every audited batch is clean.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: violations were found.
pub const EXIT_VIOLATIONS: i32 = 1;
/// Exit code: something could not be verified (and nothing was found wrong).
pub const EXIT_UNVERIFIABLE: i32 = 2;
/// Exit code: the command line is wrong.
pub const EXIT_USAGE: i32 = 64;

/// The exit code for a set of verdicts: violations win over what could not be verified.
pub fn exit_code<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> i32 {
    match verdicts.into_iter().max() {
        None | Some(Verdict::Clean) => EXIT_CLEAN,
        Some(Verdict::Unverifiable) => EXIT_UNVERIFIABLE,
        Some(Verdict::Violations) => EXIT_VIOLATIONS,
    }
}
