//! What a contract can prove about one decision: [`check_evidence`], the Rust twin of the Solidity
//! `RoutingCheck.check` that `RoutingSettlement.challengeMisrouting` runs, and [`Evidence`], the
//! registry entries and multiproof a challenger sends with it.
//!
//! [`check`](crate::check) sees the whole registry. On-chain, a challenger supplies only the
//! registry's parameter record and the provider entries it chooses, each proven against the
//! batch's registry root. [`check_evidence`] returns the first rule the decision breaks under
//! *every* registry that contains those entries, so an honest router can never be slashed by a
//! clever choice of entries:
//!
//! - rules decidable from the decision alone (an attempt after a success, after a non-retryable
//!   outcome, after the fallback attempt or after the deadline, a primary retry past the attempt
//!   cap or the retry tokens, a wrong trigger, a wrong summary, a wrong epoch) are always found;
//! - an entry of the provider an attempt used proves a tier mismatch or an ineligible provider;
//! - an eligible entry in a better tier, or with a higher rendezvous score in the same tier,
//!   proves a skipped tier, an unjustified fallback, a wrong provider or a premature stop.
//!
//! When the entries are the **whole** registry (their number equals the `providerCount` the
//! parameter record commits), the verdict is exact: [`check_evidence`] finds a violation exactly
//! when [`check`](crate::check) does (property-tested). That is also the only way to prove that an
//! attempt went to a provider that is not registered at all.

use crate::Registry;
use alloy_primitives::{Address, B256};
use routing_merkle::{MerkleError, MerkleTree, MultiProof};
use routing_primitives::{
    abi::sol::RegistryParams, Decision, FallbackTrigger, OutcomeClass, ProviderEntry, Resolution,
};
use serde::{Deserialize, Serialize};

/// A rule [`check_evidence`] proves broken. The discriminant is the code the Solidity check
/// returns and the settlement contract emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[repr(u8)]
pub enum Offence {
    /// The decision names another registry epoch than the batch's registry.
    WrongRegistryEpoch = 1,
    /// The recorded retry tokens exceed the bucket.
    BudgetTokensOutOfRange = 2,
    /// An attempt after a success (a duplicate generation).
    AttemptAfterServed = 3,
    /// An attempt after an outcome class that is not retryable.
    NonRetryableRetried = 4,
    /// An attempt after the failed fallback attempt.
    AttemptAfterFallback = 5,
    /// An attempt starting at or after the logical deadline.
    AttemptAfterDeadline = 6,
    /// An attempt in a tier beyond the fallback tier.
    TierBeyondFallback = 7,
    /// A primary-tier retry beyond the request's attempt cap.
    RetryBudgetExceeded = 8,
    /// A primary-tier retry while the router's retry tokens were throttled.
    FleetBudgetExceeded = 9,
    /// The attempt claims another tier than the provider's registered one.
    TierMismatch = 10,
    /// The provider could not take the attempt (model class, already tried, cooling down, below
    /// the reliability floor).
    IneligibleProvider = 11,
    /// The provider is not registered (needs the whole registry as evidence).
    UnknownProvider = 12,
    /// A worse primary tier while a better tier had an eligible provider.
    TierSkipped = 13,
    /// A fallback attempt while a primary provider was eligible and no budget was spent.
    UnjustifiedFallback = 14,
    /// Not the highest rendezvous score among the tier's eligible providers.
    WrongProvider = 15,
    /// The decision stops while an eligible provider was left to try.
    PrematureStop = 16,
    /// The recorded resolution is not how the policy ends the decision.
    WrongResolution = 17,
    /// The recorded fallback trigger is not the policy's reason.
    WrongTrigger = 18,
    /// `finalProvider`, `finalTier` or `retryCount` disagrees with the attempts.
    SummaryMismatch = 19,
}

impl Offence {
    /// Every offence, in code order.
    pub const ALL: &'static [Self] = &[
        Self::WrongRegistryEpoch,
        Self::BudgetTokensOutOfRange,
        Self::AttemptAfterServed,
        Self::NonRetryableRetried,
        Self::AttemptAfterFallback,
        Self::AttemptAfterDeadline,
        Self::TierBeyondFallback,
        Self::RetryBudgetExceeded,
        Self::FleetBudgetExceeded,
        Self::TierMismatch,
        Self::IneligibleProvider,
        Self::UnknownProvider,
        Self::TierSkipped,
        Self::UnjustifiedFallback,
        Self::WrongProvider,
        Self::PrematureStop,
        Self::WrongResolution,
        Self::WrongTrigger,
        Self::SummaryMismatch,
    ];

    /// The on-chain code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The offence with on-chain code `code`, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }
}

/// What [`check_evidence`] proves: the first offence found and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The rule broken.
    pub offence: Offence,
    /// The attempt at fault; the number of attempts for rules about how the decision ends, and
    /// zero for rules about the whole decision (epoch, tokens).
    pub attempt: u8,
}

/// The first rule `decision` breaks under every registry that carries `params` and contains
/// `entries`, or `None` when the evidence proves nothing.
///
/// `entries` must be distinct; their order does not matter. The checks run in a fixed order
/// (epoch, tokens, then attempt by attempt, then the end of the decision, the trigger and the
/// summary) and the first one that fails is the verdict; the Solidity port follows the same
/// order, so both return the same verdict.
pub fn check_evidence(
    decision: &Decision,
    params: &RegistryParams,
    entries: &[ProviderEntry],
) -> Option<Verdict> {
    let verdict = |offence, attempt: usize| {
        Some(Verdict { offence, attempt: u8::try_from(attempt).unwrap_or(u8::MAX) })
    };
    let req = &decision.request;
    let attempts = &decision.attempts;
    let n = attempts.len();
    let fallback = params.fallbackTier;
    let complete = entries.len() == params.providerCount as usize;

    if decision.registry_epoch != params.epoch {
        return verdict(Offence::WrongRegistryEpoch, 0);
    }
    if decision.budget_tokens > params.tokenMax {
        return verdict(Offence::BudgetTokensOutOfRange, 0);
    }

    // Whether `e` may take attempt `k` starting at `start` (the policy's eligibility).
    let eligible = |e: &ProviderEntry, k: usize, start: u64| {
        e.model_class == req.model_class
            && e.tier <= fallback
            && !attempts[..k].iter().any(|a| a.provider == e.provider)
            && e.cooldown_until_ms <= start
            && (k == 0 || e.reliability_ppm >= params.reliabilityFloorPpm)
    };
    // Whether the policy, at attempt `k` behind `gate`, searches tier `tier`.
    let searched = |tier: u8, gate: Option<FallbackTrigger>| {
        tier <= fallback && (gate.is_none() || tier == fallback)
    };
    let cap = (usize::from(req.retry_budget) + 1).min(usize::from(params.maxAttempts));
    let gate_at = |k: usize, tokens: u32| {
        if k == 0 {
            None
        } else if attempts[..k].iter().filter(|a| a.tier < fallback).count() >= cap {
            Some(FallbackTrigger::RetryBudgetExhausted)
        } else if tokens <= params.tokenMax / 2 {
            Some(FallbackTrigger::FleetBudgetExhausted)
        } else {
            None
        }
    };
    let retryable = |o: OutcomeClass| params.retryableMask & o.bit() != 0;
    let score = |e: &ProviderEntry| crate::hrw_score(&req.id, &e.provider, e.reliability_ppm);

    let mut start = req.submit_ms;
    let mut tokens = decision.budget_tokens;
    let mut expected_trigger = FallbackTrigger::None;
    for (k, a) in attempts.iter().enumerate() {
        if let Some(prev) = k.checked_sub(1).map(|j| &attempts[j]) {
            if prev.outcome == OutcomeClass::Success {
                return verdict(Offence::AttemptAfterServed, k);
            }
            if !retryable(prev.outcome) {
                return verdict(Offence::NonRetryableRetried, k);
            }
            if prev.tier >= fallback {
                return verdict(Offence::AttemptAfterFallback, k);
            }
        }
        if start >= req.deadline_ms {
            return verdict(Offence::AttemptAfterDeadline, k);
        }
        if a.tier > fallback {
            return verdict(Offence::TierBeyondFallback, k);
        }
        let gate = gate_at(k, tokens);
        match gate {
            Some(FallbackTrigger::RetryBudgetExhausted) if a.tier < fallback => {
                return verdict(Offence::RetryBudgetExceeded, k)
            }
            Some(_) if a.tier < fallback => return verdict(Offence::FleetBudgetExceeded, k),
            _ => {}
        }
        let own = entries.iter().find(|e| e.provider == a.provider);
        match own {
            Some(e) if e.tier != a.tier => return verdict(Offence::TierMismatch, k),
            Some(e) if !eligible(e, k, start) => return verdict(Offence::IneligibleProvider, k),
            Some(_) => {}
            None if attempts[..k].iter().any(|p| p.provider == a.provider) => {
                return verdict(Offence::IneligibleProvider, k)
            }
            None if complete => return verdict(Offence::UnknownProvider, k),
            None => {}
        }
        let (mut skipped, mut outscored) = (false, false);
        for e in entries {
            if e.provider == a.provider || !searched(e.tier, gate) || !eligible(e, k, start) {
                continue;
            }
            if e.tier < a.tier {
                skipped = true;
            } else if e.tier == a.tier {
                if let Some(mine) = own {
                    let (se, sm) = (score(e), score(mine));
                    outscored |= se > sm || (se == sm && e.provider < mine.provider);
                }
            }
        }
        if skipped {
            let offence =
                if a.tier < fallback { Offence::TierSkipped } else { Offence::UnjustifiedFallback };
            return verdict(offence, k);
        }
        if outscored {
            return verdict(Offence::WrongProvider, k);
        }
        if a.tier == fallback {
            expected_trigger = gate.unwrap_or(if k == 0 {
                FallbackTrigger::NoPrimaryProvider
            } else {
                FallbackTrigger::TiersExhausted
            });
        }
        start = start.saturating_add(u64::from(a.latency_ms));
        tokens = if a.outcome.is_failure() {
            tokens.saturating_sub(params.tokenFailureCost)
        } else {
            tokens.saturating_add(params.tokenRatio).min(params.tokenMax)
        };
    }

    // How the decision ends.
    let done = match attempts.last() {
        Some(last) if last.outcome == OutcomeClass::Success => Some(Resolution::Served),
        Some(last) if !retryable(last.outcome) => Some(Resolution::NonRetryable),
        Some(last) if last.tier >= fallback => Some(Resolution::Exhausted),
        _ if start >= req.deadline_ms => Some(Resolution::DeadlineExceeded),
        _ => None,
    };
    match done {
        Some(expected) if expected != decision.resolution => {
            return verdict(Offence::WrongResolution, n)
        }
        Some(_) => {}
        None => {
            let gate = gate_at(n, tokens);
            if entries.iter().any(|e| searched(e.tier, gate) && eligible(e, n, start)) {
                return verdict(Offence::PrematureStop, n);
            }
            // Nothing in the evidence is left to try: the policy either stops with `Exhausted`
            // or tries a provider the evidence does not show. Any other resolution is wrong
            // either way.
            if decision.resolution != Resolution::Exhausted {
                return verdict(Offence::WrongResolution, n);
            }
        }
    }
    if decision.trigger != expected_trigger {
        return verdict(Offence::WrongTrigger, n);
    }
    let (final_provider, final_tier) =
        attempts.last().map_or((Address::ZERO, 0), |a| (a.provider, a.tier));
    if decision.final_provider != final_provider
        || decision.final_tier != final_tier
        || usize::from(decision.retry_count) != n.saturating_sub(1)
    {
        return verdict(Offence::SummaryMismatch, n);
    }
    None
}

/// Registry evidence for a challenge: the parameter record and some provider entries, with an
/// OpenZeppelin multiproof of all of them against the registry root.
///
/// The multiproof's leaves, in order, are the parameter leaf followed by the entries' leaves
/// (entries ascending by address, which is their order in the registry), exactly what
/// `MerkleProof.multiProofVerify` needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// The parameter record (epoch, provider count, policy parameters).
    pub params: RegistryParams,
    /// The provider entries, ascending by address.
    pub entries: Vec<ProviderEntry>,
    /// Multiproof sibling hashes.
    pub proof: Vec<B256>,
    /// Multiproof flags.
    pub proof_flags: Vec<bool>,
}

impl Evidence {
    /// The multiproof's leaves: the parameter leaf, then each entry's leaf.
    pub fn leaves(&self) -> Vec<B256> {
        std::iter::once(self.params.leaf_hash())
            .chain(self.entries.iter().map(ProviderEntry::leaf_hash))
            .collect()
    }

    /// Whether the evidence is proven under `registry_root`.
    pub fn verify(&self, registry_root: B256) -> bool {
        let multi = MultiProof {
            leaves: self.leaves(),
            proof: self.proof.clone(),
            proof_flags: self.proof_flags.clone(),
        };
        routing_merkle::verify_multi_proof(&multi, registry_root)
    }

    /// [`check_evidence`] of `decision` under this evidence.
    pub fn check(&self, decision: &Decision) -> Option<Verdict> {
        check_evidence(decision, &self.params, &self.entries)
    }
}

impl From<&Evidence> for routing_primitives::abi::sol::RegistryEvidence {
    fn from(e: &Evidence) -> Self {
        Self {
            params: e.params.clone(),
            entries: e.entries.iter().map(Into::into).collect(),
            proof: e.proof.clone(),
            proofFlags: e.proof_flags.clone(),
        }
    }
}

/// Why evidence cannot be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// A provider asked for is not in the registry.
    #[error("provider {0} is not in the registry")]
    UnknownProvider(Address),
    /// The Merkle tree refused the request.
    #[error(transparent)]
    Merkle(#[from] MerkleError),
}

impl Registry {
    /// Evidence of the parameter record and the entries of `providers` (any order, repeats
    /// ignored), proven against [`Registry::root`].
    pub fn evidence(&self, providers: &[Address]) -> Result<Evidence, EvidenceError> {
        let mut wanted: Vec<Address> = providers.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut indices = Vec::with_capacity(wanted.len() + 1);
        indices.push(0);
        let mut entries = Vec::with_capacity(wanted.len());
        for p in &wanted {
            let index = self.provider_leaf_index(p).ok_or(EvidenceError::UnknownProvider(*p))?;
            indices.push(index);
            entries.push(self.providers()[index - 1].clone());
        }
        let tree = MerkleTree::from_leaves(self.leaves())?;
        let multi = tree.multi_proof(&indices)?;
        Ok(Evidence {
            params: self.registry_params(),
            entries,
            proof: multi.proof,
            proof_flags: multi.proof_flags,
        })
    }

    /// Evidence of the whole registry: every provider entry, which makes [`check_evidence`]
    /// exact.
    pub fn full_evidence(&self) -> Evidence {
        let all: Vec<Address> = self.providers().iter().map(|p| p.provider).collect();
        self.evidence(&all).expect("every registered provider has a leaf")
    }
}
