//! `check`: every rule a decision breaks.

use crate::{
    route::{attempt_cap, eligibility, next_step, state_after, Ineligibility, Step},
    Registry,
};
use alloy_primitives::Address;
use routing_primitives::{Decision, FallbackTrigger, OutcomeClass, Resolution};
use serde::{Deserialize, Serialize};

/// A rule a decision breaks. `attempt` is the zero-based index of the offending attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase", tag = "rule")]
pub enum Violation {
    /// The decision names another registry epoch than the snapshot it is checked against.
    #[error("decision names registry epoch {found}, batch routes epoch {expected}")]
    WrongRegistryEpoch {
        /// The snapshot's epoch.
        expected: u64,
        /// The decision's.
        found: u64,
    },
    /// No registry of the decision's epoch is known (replay only: a decision may name any epoch
    /// up to its batch's, and the replayer was not given that registry).
    #[error("no registry of epoch {epoch} to check the decision against")]
    UnknownRegistryEpoch {
        /// The decision's epoch.
        epoch: u64,
    },
    /// The recorded retry tokens exceed the bucket.
    #[error("budget tokens {found} exceed the bucket of {max}")]
    BudgetTokensOutOfRange {
        /// The decision's value.
        found: u32,
        /// The bucket size.
        max: u32,
    },
    /// The recorded retry tokens do not continue the router's previous decision (replay only).
    #[error("budget tokens {found} do not continue the router's balance of {expected}")]
    BudgetChainBroken {
        /// Tokens the router was left with.
        expected: u32,
        /// Tokens the decision claims.
        found: u32,
    },
    /// A second decision for a request id already decided in the batch (replay only).
    #[error("request already decided at batch position {first_index}")]
    DuplicateRequest {
        /// Position of the first decision for the request.
        first_index: usize,
    },
    /// The router's signature does not verify (replay only).
    #[error("signature does not verify: {reason}")]
    BadSignature {
        /// Why.
        reason: String,
    },
    /// An attempt after a successful one: the response was committed (gRPC), a duplicate
    /// generation.
    #[error("attempt {attempt} retries a request that was already served")]
    AttemptAfterServed {
        /// The attempt.
        attempt: usize,
    },
    /// An attempt after an outcome class that is not retryable.
    #[error("attempt {attempt} retries a non-retryable {outcome:?} outcome")]
    NonRetryableRetried {
        /// The attempt.
        attempt: usize,
        /// The previous attempt's outcome.
        outcome: OutcomeClass,
    },
    /// An attempt starting at or after the request's logical deadline.
    #[error(
        "attempt {attempt} starts at {start_ms} ms, at or after the deadline {deadline_ms} ms"
    )]
    AttemptAfterDeadline {
        /// The attempt.
        attempt: usize,
        /// Its logical start.
        start_ms: u64,
        /// The deadline.
        deadline_ms: u64,
    },
    /// An attempt after a failed fallback attempt: the fallback is tried once, never searched.
    #[error("attempt {attempt} follows a failed fallback attempt")]
    AttemptAfterFallback {
        /// The attempt.
        attempt: usize,
    },
    /// The provider is not in the registry.
    #[error("attempt {attempt} uses provider {provider}, which is not registered")]
    UnknownProvider {
        /// The attempt.
        attempt: usize,
        /// The provider.
        provider: Address,
    },
    /// The attempt names a tier the provider is not registered in.
    #[error(
        "attempt {attempt} claims tier {claimed}, provider is registered in tier {registered}"
    )]
    TierMismatch {
        /// The attempt.
        attempt: usize,
        /// The registry's tier.
        registered: u8,
        /// The decision's.
        claimed: u8,
    },
    /// The provider may not take this attempt.
    #[error("attempt {attempt} uses ineligible provider {provider}: {reason:?}")]
    IneligibleProvider {
        /// The attempt.
        attempt: usize,
        /// The provider.
        provider: Address,
        /// Why.
        reason: Ineligibility,
    },
    /// A primary-tier retry beyond the request's attempt cap.
    #[error("attempt {attempt} exceeds the attempt cap of {cap} at the primary tiers")]
    RetryBudgetExceeded {
        /// The attempt.
        attempt: usize,
        /// The cap.
        cap: usize,
    },
    /// A primary-tier retry while the router's tokens were throttled.
    #[error("attempt {attempt} retries with {tokens} milli-tokens, at or below {threshold}")]
    FleetBudgetExceeded {
        /// The attempt.
        attempt: usize,
        /// Tokens at that point.
        tokens: u32,
        /// The throttling threshold.
        threshold: u32,
    },
    /// An attempt in a worse tier while a better tier had an eligible provider.
    #[error(
        "attempt {attempt} uses tier {tier} while tier {available_tier} had an eligible provider"
    )]
    TierSkipped {
        /// The attempt.
        attempt: usize,
        /// The tier used.
        tier: u8,
        /// The better tier.
        available_tier: u8,
    },
    /// A fallback attempt while the policy would still try a primary tier.
    #[error("attempt {attempt} falls back while tier {expected_tier} was due")]
    UnjustifiedFallback {
        /// The attempt.
        attempt: usize,
        /// The tier the policy would use.
        expected_tier: u8,
    },
    /// Not the provider the policy picks at this attempt.
    #[error("attempt {attempt} uses {found}, the policy picks {expected}")]
    WrongProvider {
        /// The attempt.
        attempt: usize,
        /// The policy's pick.
        expected: Address,
        /// The decision's.
        found: Address,
    },
    /// The recorded fallback trigger is not the policy's reason.
    #[error("trigger {found:?} recorded, the policy's is {expected:?}")]
    WrongTrigger {
        /// The policy's.
        expected: FallbackTrigger,
        /// The decision's.
        found: FallbackTrigger,
    },
    /// The decision stopped while the policy would try another provider.
    #[error(
        "decision stops, the policy would still try {expected_provider} in tier {expected_tier}"
    )]
    PrematureStop {
        /// The provider due.
        expected_provider: Address,
        /// Its tier.
        expected_tier: u8,
    },
    /// The recorded resolution is not how the policy ends the decision.
    #[error("resolution {found:?} recorded, the policy's is {expected:?}")]
    WrongResolution {
        /// The policy's.
        expected: Resolution,
        /// The decision's.
        found: Resolution,
    },
    /// A summary field disagrees with the attempts.
    #[error("summary field {field:?} disagrees with the attempts")]
    SummaryMismatch {
        /// The field.
        field: SummaryField,
    },
}

/// The summary fields of a decision that restate its attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SummaryField {
    /// `finalProvider`.
    FinalProvider,
    /// `finalTier`.
    FinalTier,
    /// `retryCount`.
    RetryCount,
}

/// Every rule `decision` breaks against `registry` (whose parameters are the policy's). Empty
/// exactly when the decision is the one [`route`](crate::route) produces for its request,
/// router, starting tokens and recorded outcomes.
pub fn check(decision: &Decision, registry: &Registry) -> Vec<Violation> {
    let p = registry.params();
    let req = &decision.request;
    let mut out = Vec::new();
    if decision.registry_epoch != registry.epoch() {
        out.push(Violation::WrongRegistryEpoch {
            expected: registry.epoch(),
            found: decision.registry_epoch,
        });
    }
    if decision.budget_tokens > p.token_max {
        out.push(Violation::BudgetTokensOutOfRange {
            found: decision.budget_tokens,
            max: p.token_max,
        });
    }
    let tokens0 = decision.budget_tokens;
    let mut expected_trigger = FallbackTrigger::None;
    for (k, attempt) in decision.attempts.iter().enumerate() {
        let before = &decision.attempts[..k];
        let expected = next_step(req, registry, before, tokens0);
        if let Step::Try { provider, tier, trigger } = expected {
            if provider == attempt.provider && tier == attempt.tier {
                if trigger != FallbackTrigger::None {
                    expected_trigger = trigger;
                }
                continue;
            }
        }
        let n = out.len();
        let (start_ms, tokens) = state_after(req, registry, before, tokens0);
        // Why no attempt was due at all.
        if let Step::Done(resolution) = expected {
            let prev = before.last();
            match resolution {
                Resolution::Served => out.push(Violation::AttemptAfterServed { attempt: k }),
                Resolution::NonRetryable => out.push(Violation::NonRetryableRetried {
                    attempt: k,
                    outcome: prev.map_or(OutcomeClass::Success, |a| a.outcome),
                }),
                Resolution::DeadlineExceeded => out.push(Violation::AttemptAfterDeadline {
                    attempt: k,
                    start_ms,
                    deadline_ms: req.deadline_ms,
                }),
                Resolution::Exhausted => {
                    if prev.is_some_and(|a| a.tier >= p.fallback_tier) {
                        out.push(Violation::AttemptAfterFallback { attempt: k });
                    }
                }
            }
        }
        // Whether the provider could take this attempt at all.
        let entry = registry.provider(&attempt.provider);
        match entry {
            None => out.push(Violation::UnknownProvider { attempt: k, provider: attempt.provider }),
            Some(e) => {
                if e.tier != attempt.tier {
                    out.push(Violation::TierMismatch {
                        attempt: k,
                        registered: e.tier,
                        claimed: attempt.tier,
                    });
                }
                if let Err(reason) = eligibility(req, registry, e, before, start_ms) {
                    out.push(Violation::IneligibleProvider {
                        attempt: k,
                        provider: attempt.provider,
                        reason,
                    });
                }
            }
        }
        // Which rule the choice of tier and provider breaks.
        if let Step::Try { provider, tier, trigger } = expected {
            let primary = attempt.tier < p.fallback_tier;
            if !primary && tier < p.fallback_tier {
                out.push(Violation::UnjustifiedFallback { attempt: k, expected_tier: tier });
            } else if primary && tier >= p.fallback_tier {
                match trigger {
                    FallbackTrigger::RetryBudgetExhausted => {
                        out.push(Violation::RetryBudgetExceeded {
                            attempt: k,
                            cap: attempt_cap(req, registry),
                        })
                    }
                    FallbackTrigger::FleetBudgetExhausted => {
                        out.push(Violation::FleetBudgetExceeded {
                            attempt: k,
                            tokens,
                            threshold: p.token_threshold(),
                        })
                    }
                    // Every primary provider was ineligible: reported above.
                    _ => {}
                }
            } else if primary && attempt.tier > tier {
                out.push(Violation::TierSkipped {
                    attempt: k,
                    tier: attempt.tier,
                    available_tier: tier,
                });
            } else if out.len() == n {
                out.push(Violation::WrongProvider {
                    attempt: k,
                    expected: provider,
                    found: attempt.provider,
                });
            }
            if !primary && trigger != FallbackTrigger::None {
                expected_trigger = trigger;
            }
        }
        if out.len() == n {
            // Nothing above explains the difference: report it plainly.
            let expected = match expected {
                Step::Try { provider, .. } => provider,
                Step::Done(_) => Address::ZERO,
            };
            out.push(Violation::WrongProvider { attempt: k, expected, found: attempt.provider });
        }
    }
    match next_step(req, registry, &decision.attempts, tokens0) {
        Step::Try { provider, tier, .. } => {
            out.push(Violation::PrematureStop { expected_provider: provider, expected_tier: tier })
        }
        Step::Done(expected) if expected != decision.resolution => {
            out.push(Violation::WrongResolution { expected, found: decision.resolution })
        }
        Step::Done(_) => {}
    }
    if decision.trigger != expected_trigger {
        out.push(Violation::WrongTrigger { expected: expected_trigger, found: decision.trigger });
    }
    let (final_provider, final_tier) =
        decision.attempts.last().map_or((Address::ZERO, 0), |a| (a.provider, a.tier));
    if decision.final_provider != final_provider {
        out.push(Violation::SummaryMismatch { field: SummaryField::FinalProvider });
    }
    if decision.final_tier != final_tier {
        out.push(Violation::SummaryMismatch { field: SummaryField::FinalTier });
    }
    if usize::from(decision.retry_count) != decision.attempts.len().saturating_sub(1) {
        out.push(Violation::SummaryMismatch { field: SummaryField::RetryCount });
    }
    out
}
