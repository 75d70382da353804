//! Proptest strategies for the data model (feature `test-utils`).

use crate::{
    Attempt, BatchHeader, Decision, FallbackTrigger, OutcomeClass, Request, Resolution,
    SignedDecision, MAX_ATTEMPTS,
};
use alloy_primitives::{Address, Bytes, B256};
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

/// A syntactically valid 65-byte `r || s || v` signature (not a real one): `v` is 27 or 28 and
/// the top bit of `s` is clear, so it has an EIP-2098 compact form.
pub fn signature() -> impl Strategy<Value = Bytes> {
    (any::<[u8; 32]>(), any::<[u8; 32]>(), any::<bool>()).prop_map(|(r, mut s, parity)| {
        s[0] &= 0x7f;
        let mut bytes = Vec::with_capacity(65);
        bytes.extend_from_slice(&r);
        bytes.extend_from_slice(&s);
        bytes.push(if parity { 28 } else { 27 });
        Bytes::from(bytes)
    })
}

/// Any well-formed decision with a [`signature`] (which does not verify).
pub fn signed_decision() -> impl Strategy<Value = SignedDecision> {
    (decision(), signature())
        .prop_map(|(decision, signature)| SignedDecision { decision, signature })
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
