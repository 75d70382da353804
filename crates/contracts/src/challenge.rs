//! What `RoutingSettlement.challengeMisrouting` will do with a challenge, computed in Rust: the
//! auditor uses it to pick evidence that proves an offence before paying for a transaction, and
//! the differential test checks the contract against it.

use alloy_primitives::B256;
use alloy_sol_types::Eip712Domain;
use routing_policy::{check_evidence, Evidence, Offence, Verdict};
use routing_primitives::SignedDecision;

/// Why the contract refuses a misrouting challenge, for the reasons that do not depend on
/// contract state (an unknown batch, a closed window and an offence already slashed do).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rejection {
    /// The Merkle proof does not prove the decision under the batch's root.
    InvalidInclusionProof,
    /// The signature does not recover to the decision's router.
    InvalidSignature,
    /// No committed batch carries the registry of the decision's epoch.
    UnknownRegistryEpoch,
    /// Evidence entries are not strictly ascending by provider.
    EntriesNotSorted,
    /// The evidence does not verify under the registry root of the decision's epoch.
    InvalidRegistryProof,
    /// The evidence's parameter record is of another epoch (a malformed registry).
    RegistryEpochMismatch,
    /// The evidence proves no rule broken.
    NoViolation,
}

/// The outcome of a misrouting challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MisroutingOutcome {
    /// The offence is proven and the router slashed.
    Proven(Verdict),
    /// The challenge reverts.
    Rejected(Rejection),
}

/// A misrouting challenge, as [`expected_misrouting_outcome`] reads it.
#[derive(Clone, Copy, Debug)]
pub struct MisroutingChallenge<'a> {
    /// The decision and its signature.
    pub signed: &'a SignedDecision,
    /// The id of the batch that holds it.
    pub batch_id: u64,
    /// That batch's decisions root.
    pub decisions_root: B256,
    /// The Merkle proof of the decision.
    pub proof: &'a [B256],
    /// The registry evidence.
    pub evidence: &'a Evidence,
}

/// What `challengeMisrouting` does with `challenge`, in the contract's order of checks: the
/// inclusion proof, the signature, a registry epoch newer than the batch (proven without
/// evidence), the registry of the decision's epoch (`registry_root(epoch)`: the root committed
/// with batch `epoch`, `None` if none), the evidence, then `check_evidence`.
pub fn expected_misrouting_outcome(
    challenge: &MisroutingChallenge<'_>,
    domain: &Eip712Domain,
    registry_root: impl Fn(u64) -> Option<B256>,
) -> MisroutingOutcome {
    use MisroutingOutcome::{Proven, Rejected};
    let decision = &challenge.signed.decision;
    if !routing_merkle::verify(challenge.proof, challenge.decisions_root, decision.leaf_hash()) {
        return Rejected(Rejection::InvalidInclusionProof);
    }
    if challenge.signed.verify(domain).is_err() {
        return Rejected(Rejection::InvalidSignature);
    }
    if decision.registry_epoch > challenge.batch_id {
        return Proven(Verdict { offence: Offence::WrongRegistryEpoch, attempt: 0 });
    }
    let Some(root) = registry_root(decision.registry_epoch).filter(|r| !r.is_zero()) else {
        return Rejected(Rejection::UnknownRegistryEpoch);
    };
    let evidence = challenge.evidence;
    if evidence.entries.windows(2).any(|w| w[0].provider >= w[1].provider) {
        return Rejected(Rejection::EntriesNotSorted);
    }
    if !evidence.verify(root) {
        return Rejected(Rejection::InvalidRegistryProof);
    }
    if evidence.params.epoch != decision.registry_epoch {
        return Rejected(Rejection::RegistryEpochMismatch);
    }
    match check_evidence(decision, &evidence.params, &evidence.entries) {
        Some(verdict) => Proven(verdict),
        None => Rejected(Rejection::NoViolation),
    }
}
