//! The deterministic routing policy: [`next_step`] and the [`route`] driver around it.

use crate::Registry;
use alloy_primitives::{keccak256, Address, B256};
use routing_primitives::{
    Attempt, Decision, FallbackTrigger, OutcomeClass, ProviderEntry, Request, Resolution,
};

/// What the policy does next for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Try `provider` in `tier`. `trigger` is not [`FallbackTrigger::None`] exactly when this is
    /// the fallback attempt, and says why.
    Try {
        /// The provider to try.
        provider: Address,
        /// Its tier.
        tier: u8,
        /// Why the request falls back, for a fallback attempt.
        trigger: FallbackTrigger,
    },
    /// Stop: the decision is complete.
    Done(Resolution),
}

/// Why a provider may not take a given attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Ineligibility {
    /// It serves another model class.
    ModelClass,
    /// It was already tried for this request (Envoy `previous_hosts`).
    AlreadyTried,
    /// It is cooling down until the given logical time.
    CoolingDown {
        /// End of the cooldown.
        until_ms: u64,
    },
    /// Its reliability is below the floor, and this would be a follow-up pass.
    BelowReliabilityFloor {
        /// Its reliability.
        reliability_ppm: u32,
    },
    /// Its tier is above the fallback tier, so the policy never uses it.
    TierBeyondFallback,
}

/// Rendezvous (highest-random-weight) score of `provider` for `request_id`, weighted by
/// reliability: `uint64(keccak256(abi.encode(requestId, provider)) >> 192) * reliabilityPpm`.
///
/// The weight multiplies the hash rather than entering through `-w / ln(u)`, so that Solidity
/// can recompute it in integer arithmetic; a provider's chance of winning grows with its
/// reliability but is not exactly proportional to it. Ties go to the lower address.
pub fn hrw_score(request_id: &B256, provider: &Address, reliability_ppm: u32) -> u128 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(request_id.as_slice());
    buf[44..].copy_from_slice(provider.as_slice());
    let h = keccak256(buf);
    let top = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    u128::from(top) * u128::from(reliability_ppm)
}

/// Logical start time of the attempt after `attempts` and the router's tokens at that point.
pub fn state_after(
    request: &Request,
    registry: &Registry,
    attempts: &[Attempt],
    budget_tokens: u32,
) -> (u64, u32) {
    let p = registry.params();
    attempts.iter().fold((request.submit_ms, budget_tokens.min(p.token_max)), |(t, tokens), a| {
        (t.saturating_add(u64::from(a.latency_ms)), p.apply_outcome(tokens, a.outcome))
    })
}

/// Whether `entry` may take attempt number `attempts.len()` of `request`, starting at `start_ms`.
pub fn eligibility(
    request: &Request,
    registry: &Registry,
    entry: &ProviderEntry,
    attempts: &[Attempt],
    start_ms: u64,
) -> Result<(), Ineligibility> {
    let p = registry.params();
    if entry.model_class != request.model_class {
        return Err(Ineligibility::ModelClass);
    }
    if entry.tier > p.fallback_tier {
        return Err(Ineligibility::TierBeyondFallback);
    }
    if attempts.iter().any(|a| a.provider == entry.provider) {
        return Err(Ineligibility::AlreadyTried);
    }
    if entry.cooldown_until_ms > start_ms {
        return Err(Ineligibility::CoolingDown { until_ms: entry.cooldown_until_ms });
    }
    if !attempts.is_empty() && entry.reliability_ppm < p.reliability_floor_ppm {
        return Err(Ineligibility::BelowReliabilityFloor {
            reliability_ppm: entry.reliability_ppm,
        });
    }
    Ok(())
}

/// The best eligible provider of `tier` by rendezvous score, if any.
pub fn best_in_tier<'a>(
    request: &Request,
    registry: &'a Registry,
    tier: u8,
    attempts: &[Attempt],
    start_ms: u64,
) -> Option<&'a ProviderEntry> {
    registry
        .tier(request.model_class, tier)
        .filter(|e| eligibility(request, registry, e, attempts, start_ms).is_ok())
        .map(|e| (hrw_score(&request.id, &e.provider, e.reliability_ppm), e))
        // Providers come in ascending address order; `max_by` keeps the last maximum, so compare
        // with reversed address to let the lowest address win ties.
        .max_by(|(sa, a), (sb, b)| sa.cmp(sb).then_with(|| b.provider.cmp(&a.provider)))
        .map(|(_, e)| e)
}

/// The attempt cap on the primary tiers for `request`: its own retries plus one, never more
/// than the fleet-wide `max_attempts`.
pub fn attempt_cap(request: &Request, registry: &Registry) -> usize {
    (usize::from(request.retry_budget) + 1).min(usize::from(registry.params().max_attempts))
}

/// The policy: what to do after `attempts`, a pure function of the request, the registry
/// snapshot (with its parameters), the attempts so far and the router's tokens before the first
/// attempt.
///
/// In order: a success ends the decision (no retry after a committed response); an outcome
/// class that is not retryable ends it; a failed fallback attempt ends it (one fallback attempt,
/// never a recursive search); an attempt may not start at or after the deadline. Retries on the
/// primary tiers stop when the request's attempt cap is spent or the router's tokens are at or
/// below half the bucket; then, or when every eligible primary provider was tried, the request
/// drops to the fallback tier with the matching trigger. Within a tier the provider is chosen by
/// reliability-weighted rendezvous hashing on the request id; tiers are tried lowest first.
pub fn next_step(
    request: &Request,
    registry: &Registry,
    attempts: &[Attempt],
    budget_tokens: u32,
) -> Step {
    let p = registry.params();
    if let Some(last) = attempts.last() {
        if last.outcome == OutcomeClass::Success {
            return Step::Done(Resolution::Served);
        }
        if !p.is_retryable(last.outcome) {
            return Step::Done(Resolution::NonRetryable);
        }
        if last.tier >= p.fallback_tier {
            return Step::Done(Resolution::Exhausted);
        }
    }
    let (start_ms, tokens) = state_after(request, registry, attempts, budget_tokens);
    if start_ms >= request.deadline_ms {
        return Step::Done(Resolution::DeadlineExceeded);
    }
    let gate = if attempts.is_empty() {
        None
    } else if attempts.iter().filter(|a| a.tier < p.fallback_tier).count()
        >= attempt_cap(request, registry)
    {
        Some(FallbackTrigger::RetryBudgetExhausted)
    } else if tokens <= p.token_threshold() {
        Some(FallbackTrigger::FleetBudgetExhausted)
    } else {
        None
    };
    let trigger = match gate {
        Some(trigger) => trigger,
        None => {
            for tier in 0..p.fallback_tier {
                if let Some(e) = best_in_tier(request, registry, tier, attempts, start_ms) {
                    return Step::Try {
                        provider: e.provider,
                        tier,
                        trigger: FallbackTrigger::None,
                    };
                }
            }
            if attempts.is_empty() {
                FallbackTrigger::NoPrimaryProvider
            } else {
                FallbackTrigger::TiersExhausted
            }
        }
    };
    match best_in_tier(request, registry, p.fallback_tier, attempts, start_ms) {
        Some(e) => Step::Try { provider: e.provider, tier: p.fallback_tier, trigger },
        None => Step::Done(Resolution::Exhausted),
    }
}

/// Supplies the outcome of an attempt the policy makes. The policy never looks at a clock: the
/// oracle is where the outside world (a real provider call, a simulated fleet, a recorded
/// decision) comes in.
pub trait OutcomeOracle {
    /// The outcome and logical latency of attempt `index` at `provider`, starting at `start_ms`.
    fn attempt(
        &mut self,
        provider: &ProviderEntry,
        start_ms: u64,
        index: usize,
    ) -> (OutcomeClass, u32);
}

impl<F: FnMut(&ProviderEntry, u64, usize) -> (OutcomeClass, u32)> OutcomeOracle for F {
    fn attempt(
        &mut self,
        provider: &ProviderEntry,
        start_ms: u64,
        index: usize,
    ) -> (OutcomeClass, u32) {
        self(provider, start_ms, index)
    }
}

/// Routes `request` to completion: applies [`next_step`] until it says done, asking `oracle`
/// for every attempt's outcome, and returns the complete decision (unsigned).
///
/// `budget_tokens` is the router's token balance before this request (clamped to the bucket).
pub fn route(
    request: &Request,
    registry: &Registry,
    router: Address,
    budget_tokens: u32,
    mut oracle: impl OutcomeOracle,
) -> Decision {
    let budget_tokens = budget_tokens.min(registry.params().token_max);
    let mut attempts = Vec::new();
    let mut trigger = FallbackTrigger::None;
    let resolution = loop {
        match next_step(request, registry, &attempts, budget_tokens) {
            Step::Done(resolution) => break resolution,
            Step::Try { provider, tier, trigger: t } => {
                let entry = registry.provider(&provider).expect("next_step picks registered");
                let (start_ms, _) = state_after(request, registry, &attempts, budget_tokens);
                let (outcome, latency_ms) = oracle.attempt(entry, start_ms, attempts.len());
                if t != FallbackTrigger::None {
                    trigger = t;
                }
                attempts.push(Attempt { provider, tier, outcome, latency_ms });
            }
        }
    };
    let (final_provider, final_tier) =
        attempts.last().map_or((Address::ZERO, 0), |a| (a.provider, a.tier));
    Decision {
        request: request.clone(),
        retry_count: attempts.len().saturating_sub(1) as u8,
        attempts,
        final_provider,
        final_tier,
        trigger,
        resolution,
        registry_epoch: registry.epoch(),
        budget_tokens,
        router,
    }
}

/// The router's tokens after `decision`, which the router's next decision must start with.
pub fn tokens_after(decision: &Decision, registry: &Registry) -> u32 {
    state_after(&decision.request, registry, &decision.attempts, decision.budget_tokens).1
}
