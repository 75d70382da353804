//! The sequenced policy router: every decision is [`routing_policy::route`] against the registry
//! snapshot of its batch, with the fleet as the outcome oracle.
//!
//! Requests are sequenced in arrival order (submit time, then index) and routed one after the
//! other, each to completion; every [`BATCH_SIZE`] decisions the batch is sealed and the next
//! registry is [`Registry::next`] of this one and the batch. The router's retry tokens carry from
//! decision to decision with [`tokens_after`]. Every decision is run through
//! [`check`]; a violation is a bug in the simulation or the policy (a debug assertion, and
//! counted in release builds).

use crate::{
    fleet::{Fleet, MODEL_CLASS},
    trace::{Trace, TracedAttempt},
    workload::Workload,
};
use alloy_primitives::Address;
use routing_policy::{check, route, tokens_after, Registry, Violation};
use routing_primitives::{Decision, OutcomeClass, PolicyParams, ProviderEntry, Request};
use serde::Serialize;

/// Decisions per sequenced batch (the seeds' figure).
pub const BATCH_SIZE: usize = 1_200;

/// Reliability every provider is registered with before any outcome is committed.
pub const INITIAL_RELIABILITY_PPM: u32 = 950_000;

/// The router's address.
pub const ROUTER: Address = Address::repeat_byte(0xaa);

/// The policy parameters used for a budget of `budget` attempts per request on the primary
/// tiers (the request's `retry_budget` is `budget − 1`).
///
/// - `max_attempts = budget`, so the request's budget and the fleet cap agree;
/// - `fallback_tier = 2`, the fleet's cheap, very reliable tier;
/// - retryable: timeouts, provider errors, overload — not a validation failure (a response was
///   generated and committed: retrying is a duplicate generation) nor a terminal rejection;
/// - reliability floor 50 %: a provider that failed half of its recent committed attempts still
///   gets first attempts (with a smaller rendezvous weight) but no follow-up passes;
/// - retry throttling per router, gRPC style but sized for an LLM fleet whose failure rate
///   routinely reaches 30–50 % at peaks: a 100-token bucket (retries stop at 50), +2.5 tokens
///   per success and −1 per failure, so retries keep flowing until more than 5 in 7 attempts
///   (≈ 71 %) fail — the top of a load peak, where a retry is mostly wasted;
/// - reliability EWMA weight 0.3 % per committed outcome: a memory of ~330 outcomes, about one
///   batch's worth for a tier-0 provider, so one bad stretch does not swing the registry;
/// - cooldown: a provider with 150 or more failures in a batch (one per eight decisions of the batch)
///   sits out the first 10 s after that batch.
pub fn params_for_budget(budget: u8) -> PolicyParams {
    PolicyParams {
        max_attempts: budget,
        fallback_tier: 2,
        retryable_mask: OutcomeClass::Timeout.bit()
            | OutcomeClass::ProviderError.bit()
            | OutcomeClass::Overloaded.bit(),
        reliability_floor_ppm: 500_000,
        token_max: 100_000,
        token_ratio: 2_500,
        token_failure_cost: 1_000,
        ewma_alpha_ppm: 3_000,
        cooldown_failures: 150,
        cooldown_ms: 10_000,
    }
}

/// The result of one sequenced run.
#[derive(Clone, Debug)]
pub struct SequencedRun {
    /// Per-request traces, in request-index order.
    pub traces: Vec<Trace>,
    /// Every decision, in sequence order.
    pub decisions: Vec<Decision>,
    /// The registry snapshot each batch was routed against (`registries[b]` for batch `b`).
    pub registries: Vec<Registry>,
    /// Every violation `check` found (expected empty).
    pub violations: Vec<(usize, Violation)>,
}

/// Final reliability the registry holds for one provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryReliability {
    /// Provider name.
    pub name: String,
    /// Lowest reliability any batch was routed with.
    pub min_ppm: u32,
    /// Reliability after the last batch.
    pub last_ppm: u32,
}

impl SequencedRun {
    /// Lowest and last registry reliability per provider.
    pub fn reliabilities(&self, fleet: &Fleet) -> Vec<RegistryReliability> {
        fleet
            .addresses()
            .iter()
            .zip(fleet.profiles())
            .map(|(a, prof)| {
                let ppm = |r: &Registry| r.provider(a).map_or(0, |e| e.reliability_ppm);
                RegistryReliability {
                    name: prof.name.to_string(),
                    min_ppm: self.registries.iter().map(ppm).min().unwrap_or(0),
                    last_ppm: self.registries.last().map_or(0, ppm),
                }
            })
            .collect()
    }
}

/// Runs the sequenced policy router over `workload` with `budget` attempts per request on the
/// primary tiers.
pub fn run(fleet: &Fleet, workload: &Workload, budget: u8) -> SequencedRun {
    run_with_params(fleet, workload, budget, params_for_budget(budget))
}

/// [`run`] with explicit policy parameters; requests carry `retry_budget = budget − 1`.
pub fn run_with_params(
    fleet: &Fleet,
    workload: &Workload,
    budget: u8,
    params: PolicyParams,
) -> SequencedRun {
    let mut registry =
        Registry::new(1, params, fleet.registry_entries(INITIAL_RELIABILITY_PPM), vec![])
            .expect("the simulated registry is valid");
    let mut tokens = registry.router_tokens(&ROUTER);
    let mut registries = vec![registry.clone()];
    let mut decisions = Vec::with_capacity(workload.requests.len());
    let mut violations = Vec::new();
    let mut batch_start = 0;
    let mut traces: Vec<Option<Trace>> = vec![None; workload.requests.len()];
    for (seq, i) in workload.arrival_order().into_iter().enumerate() {
        if seq > 0 && seq % BATCH_SIZE == 0 {
            registry = registry.next(&decisions[batch_start..]);
            debug_assert_eq!(registry.router_tokens(&ROUTER), tokens);
            registries.push(registry.clone());
            batch_start = seq;
        }
        let r = &workload.requests[i];
        let request = Request {
            id: r.id,
            model_class: MODEL_CLASS,
            submit_ms: r.submit_ms,
            deadline_ms: r.deadline_ms,
            retry_budget: budget.saturating_sub(1),
        };
        let decision = route(
            &request,
            &registry,
            ROUTER,
            tokens,
            |e: &ProviderEntry, start_ms: u64, _: usize| {
                let p = fleet.index_of(&e.provider).expect("registry providers are the fleet's");
                let d = fleet.attempt(p, &request.id, 0, start_ms);
                (d.outcome, d.latency_ms)
            },
        );
        let found = check(&decision, &registry);
        debug_assert!(found.is_empty(), "policy decision breaks its own rules: {found:?}");
        violations.extend(found.into_iter().map(|v| (seq, v)));
        tokens = tokens_after(&decision, &registry);
        let mut start = decision.request.submit_ms;
        let attempts = decision
            .attempts
            .iter()
            .map(|a| {
                let t = TracedAttempt {
                    provider: fleet.index_of(&a.provider).expect("fleet provider"),
                    tier: a.tier,
                    outcome: a.outcome,
                    start_ms: start,
                    latency_ms: a.latency_ms,
                    waited_ms: a.latency_ms,
                    abandoned: false,
                };
                start += u64::from(a.latency_ms);
                t
            })
            .collect();
        traces[i] = Some(Trace {
            index: i,
            submit_ms: r.submit_ms,
            at_peak: r.at_peak,
            attempts,
            resolution: decision.resolution,
            trigger: decision.trigger,
            end_ms: decision.end_ms(),
        });
        decisions.push(decision);
    }
    SequencedRun {
        traces: traces.into_iter().map(|t| t.expect("every request routed")).collect(),
        decisions,
        registries,
        violations,
    }
}
