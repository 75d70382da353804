//! Proptest strategies for the policy (feature `test-utils`): random policy parameters,
//! registries, requests, outcome scripts, and single-field mutations of decisions.

use crate::Registry;
use alloy_primitives::Address;
use proptest::prelude::*;
use routing_primitives::{
    arb, Attempt, Decision, FallbackTrigger, OutcomeClass, PolicyParams, ProviderEntry, Request,
    Resolution, MAX_ATTEMPTS,
};

/// Provider `n`'s address: `0x00…00nn`.
pub fn provider(n: u8) -> Address {
    Address::with_last_byte(n)
}

/// An oracle that replays a fixed script of outcomes (then succeeds).
pub fn script(
    outcomes: Vec<(OutcomeClass, u32)>,
) -> impl FnMut(&ProviderEntry, u64, usize) -> (OutcomeClass, u32) {
    move |_, _, i| outcomes.get(i).copied().unwrap_or((OutcomeClass::Success, 10))
}

/// Valid policy parameters over their whole useful range.
pub fn params() -> impl Strategy<Value = PolicyParams> {
    (
        1u8..=6,
        1u8..=3,
        any::<u8>(),
        0u32..=1_000_000,
        1u32..=20_000,
        0u32..=2_000,
        0u32..=3_000,
        0u32..=200_000,
        0u32..=4,
        0u64..=10_000,
    )
        .prop_map(
            |(
                max_attempts,
                fallback_tier,
                mask,
                floor,
                token_max,
                ratio,
                cost,
                alpha,
                cd_failures,
                cd_ms,
            )| PolicyParams {
                max_attempts,
                fallback_tier,
                retryable_mask: mask & 0b11_1110,
                reliability_floor_ppm: floor,
                token_max,
                token_ratio: ratio,
                token_failure_cost: cost,
                ewma_alpha_ppm: alpha,
                cooldown_failures: cd_failures,
                cooldown_ms: cd_ms,
            },
        )
}

/// A valid registry at epoch 1 of up to 16 providers (addresses 1 to 24, two model classes,
/// tiers 0 to 4, some cooling down) and no carried router tokens.
pub fn registry() -> impl Strategy<Value = Registry> {
    (
        params(),
        prop::collection::btree_map(
            1u8..=24,
            (1u32..=2, 0u8..=4, 0u32..=1_000_000, prop_oneof![3 => Just(0u64), 1 => 0u64..30_000]),
            0..16,
        ),
    )
        .prop_map(|(params, entries)| {
            let providers = entries
                .into_iter()
                .map(|(n, (model_class, tier, reliability_ppm, cooldown_until_ms))| ProviderEntry {
                    provider: provider(n),
                    model_class,
                    tier,
                    reliability_ppm,
                    cooldown_until_ms,
                })
                .collect();
            Registry::new(1, params, providers, vec![]).unwrap()
        })
}

/// A request of model class 1 or 2 with a deadline after its submit time.
pub fn routable_request() -> impl Strategy<Value = Request> {
    (arb::b256(), 1u32..=2, 0u64..20_000, 0u64..30_000, 0u8..=8).prop_map(
        |(id, model_class, submit_ms, span, retry_budget)| Request {
            id,
            model_class,
            submit_ms,
            deadline_ms: submit_ms + span,
            retry_budget,
        },
    )
}

/// Outcomes and latencies for up to [`MAX_ATTEMPTS`] attempts.
pub fn outcomes() -> impl Strategy<Value = Vec<(OutcomeClass, u32)>> {
    prop::collection::vec((arb::outcome(), 0u32..8_000), MAX_ATTEMPTS)
}

/// One single-field mutation of a decision: `field` 0 to 18 picks the field (request id, model
/// class, times, budget, an attempt's provider / tier / outcome / latency, a removed or inserted
/// attempt, the summary, trigger, resolution, epoch, tokens, router), `pick` and `value` what
/// changes; any other `field` leaves the decision as it is.
pub fn mutate(
    d: &Decision,
    registry: &Registry,
    field: u8,
    pick: prop::sample::Index,
    value: u64,
) -> Decision {
    let mut m = d.clone();
    let known: Vec<Address> = registry.providers().iter().map(|p| p.provider).collect();
    let n = m.attempts.len();
    let some_provider = if known.is_empty() || value % 4 == 0 {
        provider(value as u8)
    } else {
        known[pick.index(known.len())]
    };
    match field {
        0 => m.request.id = alloy_primitives::keccak256(value.to_be_bytes()),
        1 => m.request.model_class = (value % 3) as u32,
        2 => m.request.submit_ms = value % 40_000,
        3 => m.request.deadline_ms = value % 60_000,
        4 => m.request.retry_budget = (value % 10) as u8,
        5 if n > 0 => m.attempts[pick.index(n)].provider = some_provider,
        6 if n > 0 => m.attempts[pick.index(n)].tier = (value % 5) as u8,
        7 if n > 0 => m.attempts[pick.index(n)].outcome = OutcomeClass::ALL[(value % 6) as usize],
        8 if n > 0 => m.attempts[pick.index(n)].latency_ms = (value % 20_000) as u32,
        9 if n > 0 => {
            m.attempts.remove(pick.index(n));
        }
        10 if n < MAX_ATTEMPTS => {
            let at = pick.index(n + 1);
            m.attempts.insert(
                at,
                Attempt {
                    provider: some_provider,
                    tier: (value % 4) as u8,
                    outcome: OutcomeClass::ALL[(value % 6) as usize],
                    latency_ms: (value % 5_000) as u32,
                },
            );
        }
        11 => m.final_provider = some_provider,
        12 => m.final_tier = (value % 5) as u8,
        13 => m.retry_count = (value % 17) as u8,
        14 => m.trigger = FallbackTrigger::ALL[(value % 5) as usize],
        15 => m.resolution = Resolution::ALL[(value % 4) as usize],
        16 => m.registry_epoch = value % 3,
        17 => m.budget_tokens = (value % 25_000) as u32,
        18 => m.router = provider(value as u8),
        _ => {}
    }
    m
}

/// The providers of `registry` whose position has its bit set in `mask` (provider `i` by bit
/// `i`): a random subset for registry evidence.
pub fn providers_by_mask(registry: &Registry, mask: u32) -> Vec<Address> {
    registry
        .providers()
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < 32 && mask & (1 << i) != 0)
        .map(|(_, p)| p.provider)
        .collect()
}
