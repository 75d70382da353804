//! The deterministic routing policy: a pure function from (request, registry snapshot, attempts
//! so far, router tokens) to the next step, a checker that names every rule a decision breaks,
//! and a batch replayer.
//!
//! Nothing here reads a clock, draws unseeded randomness or touches shared live state: times are
//! the logical milliseconds recorded in the request and attempts, the provider choice within a
//! tier is rendezvous hashing keyed by the request id, and the registry of batch `N + 1` is
//! [`Registry::next`] of the registry of batch `N` and its decisions.
//!
//! ```
//! use routing_policy::*;
//! use routing_primitives::*;
//! use alloy_primitives::{Address, B256};
//!
//! let providers = (0u8..6)
//!     .map(|i| ProviderEntry {
//!         provider: Address::with_last_byte(i + 1),
//!         model_class: 1,
//!         tier: i / 2,
//!         reliability_ppm: 900_000,
//!         cooldown_until_ms: 0,
//!     })
//!     .collect();
//! let registry = Registry::new(1, PolicyParams::default(), providers, vec![]).unwrap();
//! let request = Request {
//!     id: B256::repeat_byte(7),
//!     model_class: 1,
//!     submit_ms: 0,
//!     deadline_ms: 30_000,
//!     retry_budget: 2,
//! };
//! let router = Address::with_last_byte(0xaa);
//! // Every attempt times out after 1 s: the policy retries, then falls back once.
//! let decision = route(&request, &registry, router, registry.router_tokens(&router),
//!     |_: &ProviderEntry, _: u64, _: usize| (OutcomeClass::Timeout, 1_000));
//! assert_eq!(decision.resolution, Resolution::Exhausted);
//! assert!(check(&decision, &registry).is_empty());
//! let replayed = replay(&[decision], &registry);
//! assert!(replayed.is_clean());
//! ```
//!
//! ## Feature flags
//! - `test-utils`: proptest strategies for registries, requests, outcomes and decision mutations
//!   ([`arb`]), for other crates' tests.

mod check;
mod evidence;
mod registry;
mod replay;
mod route;

pub use check::{check, SummaryField, Violation};
pub use evidence::{check_evidence, Evidence, EvidenceError, Offence, Verdict};
pub use registry::{Registry, RegistryData, RegistryError, PPM};
pub use replay::{replay, replay_epochs, replay_signed, replay_signed_epochs, Finding, Replay};
pub use route::{
    attempt_cap, best_in_tier, eligibility, hrw_score, next_step, route, state_after, tokens_after,
    Ineligibility, OutcomeOracle, Step,
};

#[cfg(any(test, feature = "test-utils"))]
pub mod arb;

#[cfg(test)]
mod tests;
