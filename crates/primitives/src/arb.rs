//! Proptest strategies for the data model (feature `test-utils`).

use crate::{
    Attempt, BatchHeader, Decision, FallbackTrigger, OutcomeClass, Request, Resolution,
    MAX_ATTEMPTS,
};
use alloy_primitives::{Address, B256};
use proptest::prelude::*;

/// Any address.
pub fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>().prop_map(Address::from)
}

/// Any 32-byte word.
pub fn b256() -> impl Strategy<Value = B256> {
    any::<[u8; 32]>().prop_map(B256::from)
}

/// Any outcome class.
pub fn outcome() -> impl Strategy<Value = OutcomeClass> {
    prop::sample::select(OutcomeClass::ALL)
}

/// Any fallback trigger.
pub fn trigger() -> impl Strategy<Value = FallbackTrigger> {
    prop::sample::select(FallbackTrigger::ALL)
}

/// Any resolution.
pub fn resolution() -> impl Strategy<Value = Resolution> {
    prop::sample::select(Resolution::ALL)
}

/// Any request.
pub fn request() -> impl Strategy<Value = Request> {
    (b256(), any::<u32>(), any::<u64>(), any::<u64>(), any::<u8>()).prop_map(
        |(id, model_class, submit_ms, deadline_ms, retry_budget)| Request {
            id,
            model_class,
            submit_ms,
            deadline_ms,
            retry_budget,
        },
    )
}

/// Any attempt.
pub fn attempt() -> impl Strategy<Value = Attempt> {
    (address(), any::<u8>(), outcome(), any::<u32>()).prop_map(
        |(provider, tier, outcome, latency_ms)| Attempt { provider, tier, outcome, latency_ms },
    )
}

/// Any well-formed decision (at most [`MAX_ATTEMPTS`] attempts); its fields need not make
/// sense to the policy.
pub fn decision() -> impl Strategy<Value = Decision> {
    (
        request(),
        prop::collection::vec(attempt(), 0..=MAX_ATTEMPTS),
        address(),
        any::<u8>(),
        any::<u8>(),
        trigger(),
        resolution(),
        any::<u64>(),
        any::<u32>(),
        address(),
    )
        .prop_map(
            |(
                request,
                attempts,
                final_provider,
                final_tier,
                retry_count,
                trigger,
                resolution,
                registry_epoch,
                budget_tokens,
                router,
            )| Decision {
                request,
                attempts,
                final_provider,
                final_tier,
                retry_count,
                trigger,
                resolution,
                registry_epoch,
                budget_tokens,
                router,
            },
        )
}

/// Any batch header.
pub fn batch_header() -> impl Strategy<Value = BatchHeader> {
    (any::<u64>(), b256(), b256(), b256(), any::<u32>(), any::<u64>(), any::<u64>()).prop_map(
        |(
            batch_id,
            prev_hash,
            decisions_root,
            registry_root,
            count,
            l2_block_start,
            l2_block_end,
        )| {
            BatchHeader {
                batch_id,
                prev_hash,
                decisions_root,
                registry_root,
                count,
                l2_block_start,
                l2_block_end,
            }
        },
    )
}
