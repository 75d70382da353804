//! Routing-decision primitives: the data model of a routing decision and its four encodings.
//!
//! - **RLP** ([`rlp`]) is the canonical binary form for the wire and batch payloads; its decoder
//!   is strict and never panics.
//! - **The Merkle leaf** ([`Decision::leaf_hash`]) is
//!   `keccak256(bytes.concat(keccak256(abi.encode(decision))))` of the Solidity struct in
//!   [`abi::sol`], so a contract recomputes it from calldata and OpenZeppelin's
//!   `StandardMerkleTree` produces the same leaf.
//! - **The EIP-712 digest** ([`Decision::signing_hash`]) is what the router signs, bound to a
//!   chain id and a settlement contract.
//! - **The batch payload** ([`payload`]) is the compact calldata a sealed batch is committed with.
//!
//! ```
//! use routing_primitives::*;
//! use alloy_primitives::{address, b256};
//! use alloy_signer_local::PrivateKeySigner;
//!
//! let signer = PrivateKeySigner::random();
//! let decision = Decision {
//!     request: Request {
//!         id: b256!("0x0000000000000000000000000000000000000000000000000000000000000001"),
//!         model_class: 1,
//!         submit_ms: 1_000,
//!         deadline_ms: 31_000,
//!         retry_budget: 2,
//!     },
//!     attempts: vec![Attempt {
//!         provider: address!("0x00000000000000000000000000000000000000aa"),
//!         tier: 0,
//!         outcome: OutcomeClass::Success,
//!         latency_ms: 420,
//!     }],
//!     final_provider: address!("0x00000000000000000000000000000000000000aa"),
//!     final_tier: 0,
//!     retry_count: 0,
//!     trigger: FallbackTrigger::None,
//!     resolution: Resolution::Served,
//!     registry_epoch: 1,
//!     budget_tokens: 10_000,
//!     router: signer.address(),
//! };
//! let domain = domain(901, address!("0x00000000000000000000000000000000000c0ffe"));
//! let signed = decision.sign(&signer, &domain).unwrap();
//! let wire = rlp::encode(&signed);
//! let back = SignedDecision::rlp_decode_exact(&wire).unwrap();
//! assert_eq!(back.verify(&domain).unwrap(), back.decision.leaf_hash());
//! ```
//!
//! ## Feature flags
//! None. Recovery always uses the C `libsecp256k1` backend (see [`signing`]).

pub mod abi;
pub mod payload;
pub mod rlp;
pub mod signing;
mod types;

pub use rlp::{DecodeError, RlpDecodeExact};
pub use signing::{domain, parse_signature, recover_signer, SignatureError};
pub use types::*;

#[cfg(any(test, feature = "test-utils"))]
pub mod arb;

#[cfg(test)]
mod tests;
