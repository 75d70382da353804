use crate::{
    abi::sol,
    arb,
    rlp::{self, decode_batch, encode_batch},
    signing::{parse_signature, recover_signer_k256},
    Attempt, BatchHeader, Decision, DecodeError, FallbackTrigger, OutcomeClass, Request,
    Resolution, RlpDecodeExact, SignatureError, SignedDecision, MAX_ATTEMPTS, MAX_BATCH_DECISIONS,
};
use alloy_primitives::{address, b256, Address, Bytes, B256, U256};
use alloy_rlp::{Encodable, Header};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolValue;
use proptest::prelude::*;

const SETTLEMENT: Address = address!("0x00000000000000000000000000000000000c0ffe");

fn sample_decision(router: Address) -> Decision {
    Decision {
        request: Request {
            id: b256!("0x1111111111111111111111111111111111111111111111111111111111111111"),
            model_class: 7,
            submit_ms: 1_000,
            deadline_ms: 9_000,
            retry_budget: 2,
        },
        attempts: vec![
            Attempt {
                provider: address!("0x00000000000000000000000000000000000000a1"),
                tier: 0,
                outcome: OutcomeClass::Timeout,
                latency_ms: 2_000,
            },
            Attempt {
                provider: address!("0x00000000000000000000000000000000000000b2"),
                tier: 0,
                outcome: OutcomeClass::Success,
                latency_ms: 350,
            },
        ],
        final_provider: address!("0x00000000000000000000000000000000000000b2"),
        final_tier: 0,
        retry_count: 1,
        trigger: FallbackTrigger::None,
        resolution: Resolution::Served,
        registry_epoch: 3,
        budget_tokens: 9_000,
        router,
    }
}

fn signer() -> PrivateKeySigner {
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d".parse().unwrap()
}

/// A signed decision with a syntactically valid random signature (not a real one).
fn signed(decision: Decision, sig: [u8; 64], parity: bool) -> SignedDecision {
    let mut bytes = sig.to_vec();
    bytes.push(if parity { 28 } else { 27 });
    SignedDecision { decision, signature: Bytes::from(bytes) }
}

fn list(fields: &[&dyn Encodable]) -> Vec<u8> {
    let payload_length = fields.iter().map(|f| f.length()).sum();
    let mut out = Vec::new();
    Header { list: true, payload_length }.encode(&mut out);
    for f in fields {
        f.encode(&mut out);
    }
    out
}

#[test]
fn attempt_start_times_accumulate_latency() {
    let d = sample_decision(Address::ZERO);
    assert_eq!(d.attempt_start_ms(0), 1_000);
    assert_eq!(d.attempt_start_ms(1), 3_000);
    assert_eq!(d.end_ms(), 3_350);
}

#[test]
fn sign_and_verify_round_trip() {
    let signer = signer();
    let domain = crate::domain(901, SETTLEMENT);
    let signed = sample_decision(signer.address()).sign(&signer, &domain).unwrap();
    assert_eq!(signed.signature.len(), 65);
    assert_eq!(signed.verify(&domain).unwrap(), signed.decision.leaf_hash());
    let sig = parse_signature(&signed.signature).unwrap();
    let digest = signed.decision.signing_hash(&domain);
    assert_eq!(recover_signer_k256(&sig, &digest).unwrap(), signer.address());
}

#[test]
fn signature_is_bound_to_chain_and_contract() {
    let signer = signer();
    let signed =
        sample_decision(signer.address()).sign(&signer, &crate::domain(901, SETTLEMENT)).unwrap();
    for other in [crate::domain(902, SETTLEMENT), crate::domain(901, Address::with_last_byte(1))] {
        assert!(matches!(signed.verify(&other), Err(SignatureError::WrongSigner { .. })));
    }
}

#[test]
fn signature_by_someone_else_is_refused() {
    let domain = crate::domain(901, SETTLEMENT);
    let mut signed = sample_decision(signer().address()).sign(&signer(), &domain).unwrap();
    signed.decision.router = Address::with_last_byte(9);
    let err = signed.verify(&domain).unwrap_err();
    assert!(
        matches!(err, SignatureError::WrongSigner { router, .. } if router == Address::with_last_byte(9))
    );
}

#[test]
fn malleable_and_malformed_signatures_are_refused() {
    let domain = crate::domain(901, SETTLEMENT);
    let signed = sample_decision(signer().address()).sign(&signer(), &domain).unwrap();
    // Flip s to n - s and the parity: the same signature's malleable twin.
    let n = U256::from_be_bytes(alloy_primitives::hex!(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
    ));
    let s = U256::from_be_slice(&signed.signature[32..64]);
    let mut twin = signed.signature.to_vec();
    twin[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
    twin[64] = if twin[64] == 27 { 28 } else { 27 };
    assert_eq!(parse_signature(&twin).unwrap_err(), SignatureError::HighS);
    assert_eq!(parse_signature(&twin[..64]).unwrap_err(), SignatureError::Length(64));
    let mut bad_v = signed.signature.to_vec();
    bad_v[64] = 29;
    assert_eq!(parse_signature(&bad_v).unwrap_err(), SignatureError::InvalidV(29));
}

/// The digest equals the one an independent EIP-712 implementation (alloy-dyn-abi's JSON typed
/// data, as a wallet's `eth_signTypedData_v4` receives it) computes.
#[test]
fn eip712_digest_matches_json_typed_data() {
    let d = sample_decision(signer().address());
    let json = serde_json::json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"}
            ],
            "Attempt": [
                {"name": "provider", "type": "address"},
                {"name": "tier", "type": "uint8"},
                {"name": "outcome", "type": "uint8"},
                {"name": "latencyMs", "type": "uint32"}
            ],
            "RoutingDecision": [
                {"name": "requestId", "type": "bytes32"},
                {"name": "modelClass", "type": "uint32"},
                {"name": "submitMs", "type": "uint64"},
                {"name": "deadlineMs", "type": "uint64"},
                {"name": "retryBudget", "type": "uint8"},
                {"name": "attempts", "type": "Attempt[]"},
                {"name": "finalProvider", "type": "address"},
                {"name": "finalTier", "type": "uint8"},
                {"name": "retryCount", "type": "uint8"},
                {"name": "trigger", "type": "uint8"},
                {"name": "resolution", "type": "uint8"},
                {"name": "registryEpoch", "type": "uint64"},
                {"name": "budgetTokens", "type": "uint32"},
                {"name": "router", "type": "address"}
            ]
        },
        "primaryType": "RoutingDecision",
        "domain": {
            "name": "RoutingSettlement",
            "version": "1",
            "chainId": 901,
            "verifyingContract": SETTLEMENT.to_string()
        },
        "message": {
            "requestId": d.request.id.to_string(),
            "modelClass": d.request.model_class,
            "submitMs": d.request.submit_ms,
            "deadlineMs": d.request.deadline_ms,
            "retryBudget": d.request.retry_budget,
            "attempts": d.attempts.iter().map(|a| serde_json::json!({
                "provider": a.provider.to_string(),
                "tier": a.tier,
                "outcome": a.outcome.as_u8(),
                "latencyMs": a.latency_ms,
            })).collect::<Vec<_>>(),
            "finalProvider": d.final_provider.to_string(),
            "finalTier": d.final_tier,
            "retryCount": d.retry_count,
            "trigger": d.trigger.as_u8(),
            "resolution": d.resolution.as_u8(),
            "registryEpoch": d.registry_epoch,
            "budgetTokens": d.budget_tokens,
            "router": d.router.to_string(),
        }
    });
    let typed: alloy_dyn_abi::TypedData = serde_json::from_value(json).unwrap();
    assert_eq!(
        typed.eip712_signing_hash().unwrap(),
        d.signing_hash(&crate::domain(901, SETTLEMENT))
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut wire = rlp::encode(&sample_decision(Address::ZERO));
    wire.push(0x80);
    assert_eq!(Decision::rlp_decode_exact(&wire).unwrap_err(), DecodeError::TrailingBytes(1));
    let mut batch = encode_batch(&[]);
    batch.extend_from_slice(&[1, 2]);
    assert_eq!(decode_batch(&batch).unwrap_err(), DecodeError::TrailingBytes(2));
}

#[test]
fn unknown_enum_values_are_refused_by_name() {
    let a =
        Attempt { provider: Address::ZERO, tier: 0, outcome: OutcomeClass::Success, latency_ms: 1 };
    let bad = list(&[&a.provider, &a.tier, &6u8, &a.latency_ms]);
    assert_eq!(
        Attempt::rlp_decode_exact(&bad).unwrap_err(),
        DecodeError::UnknownValue { field: "outcome", value: 6 }
    );
    let d = sample_decision(Address::ZERO);
    for (field, trigger, resolution) in [("trigger", 5u8, 0u8), ("resolution", 0, 4)] {
        let wire = list(&[
            &d.request,
            &d.attempts,
            &d.final_provider,
            &d.final_tier,
            &d.retry_count,
            &trigger,
            &resolution,
            &d.registry_epoch,
            &d.budget_tokens,
            &d.router,
        ]);
        let value = if field == "trigger" { trigger } else { resolution };
        assert_eq!(
            Decision::rlp_decode_exact(&wire).unwrap_err(),
            DecodeError::UnknownValue { field, value }
        );
    }
}

#[test]
fn oversize_lists_are_refused() {
    let mut d = sample_decision(Address::ZERO);
    d.attempts = vec![d.attempts[0].clone(); MAX_ATTEMPTS + 3];
    assert_eq!(
        Decision::rlp_decode_exact(&rlp::encode(&d)).unwrap_err(),
        DecodeError::TooManyAttempts { len: MAX_ATTEMPTS + 3 }
    );
    let one = signed(sample_decision(Address::ZERO), [7; 64], false);
    let batch = vec![one; MAX_BATCH_DECISIONS + 1];
    assert_eq!(
        decode_batch(&encode_batch(&batch)).unwrap_err(),
        DecodeError::TooManyDecisions { len: MAX_BATCH_DECISIONS + 1 }
    );
}

#[test]
fn wrong_signature_length_is_refused() {
    let d = sample_decision(Address::ZERO);
    let wire = list(&[&d, &Bytes::from(vec![1u8; 64])]);
    assert_eq!(
        SignedDecision::rlp_decode_exact(&wire).unwrap_err(),
        DecodeError::SignatureLength(64)
    );
}

#[test]
fn list_with_extra_field_is_refused() {
    let a = sample_decision(Address::ZERO).attempts[0].clone();
    let wire = list(&[&a.provider, &a.tier, &a.outcome.as_u8(), &a.latency_ms, &1u8]);
    assert_eq!(Attempt::rlp_decode_exact(&wire).unwrap_err(), DecodeError::ListLengthMismatch);
}

#[test]
fn header_hash_ignores_block_range_only() {
    let h = BatchHeader {
        batch_id: 1,
        prev_hash: B256::ZERO,
        decisions_root: B256::repeat_byte(1),
        registry_root: B256::repeat_byte(2),
        count: 1_200,
        l2_block_start: 0,
        l2_block_end: 0,
    };
    let mut placed = h.clone();
    placed.l2_block_start = 10;
    placed.l2_block_end = 11;
    assert_eq!(h.hash(), placed.hash());
    let mut other = h.clone();
    other.count = 1_199;
    assert_ne!(h.hash(), other.hash());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decision_rlp_round_trips(d in arb::decision()) {
        let wire = rlp::encode(&d);
        prop_assert_eq!(wire.len(), d.length());
        prop_assert_eq!(Decision::rlp_decode_exact(&wire).unwrap(), d);
    }

    #[test]
    fn signed_batch_round_trips(
        ds in prop::collection::vec((arb::decision(), any::<[u8; 64]>(), any::<bool>()), 0..8)
    ) {
        let batch: Vec<_> = ds.into_iter().map(|(d, s, p)| signed(d, s, p)).collect();
        prop_assert_eq!(decode_batch(&encode_batch(&batch)).unwrap(), batch);
    }

    #[test]
    fn header_rlp_round_trips(h in arb::batch_header()) {
        prop_assert_eq!(BatchHeader::rlp_decode_exact(&rlp::encode(&h)).unwrap(), h);
    }

    /// The direct hashStruct equals alloy's derived EIP-712 implementation.
    #[test]
    fn eip712_fast_path_matches_alloy(d in arb::decision(), chain in any::<u64>()) {
        use alloy_sol_types::SolStruct;
        let domain = crate::domain(chain, SETTLEMENT);
        let derived = sol::RoutingDecision::from(&d);
        prop_assert_eq!(d.eip712_hash_struct(), derived.eip712_hash_struct());
        prop_assert_eq!(d.signing_hash(&domain), derived.eip712_signing_hash(&domain));
    }

    #[test]
    fn abi_encoding_round_trips(d in arb::decision()) {
        let encoded = d.abi_encode();
        let back = <sol::RoutingDecision as SolValue>::abi_decode(&encoded).unwrap();
        prop_assert_eq!(Decision::try_from(&back).unwrap(), d);
    }

    /// Any change to any field changes the leaf (so an offence can never be re-keyed).
    #[test]
    fn leaf_commits_to_every_field(d in arb::decision(), field in 0usize..14, salt in 1u8..) {
        let mut m = d.clone();
        let bump8 = |v: u8| v.wrapping_add(salt);
        match field {
            0 => m.request.id.0[31] ^= salt,
            1 => m.request.model_class ^= u32::from(salt),
            2 => m.request.submit_ms ^= u64::from(salt),
            3 => m.request.deadline_ms ^= u64::from(salt),
            4 => m.request.retry_budget = bump8(m.request.retry_budget),
            5 => if m.attempts.pop().is_none() {
                m.attempts.push(Attempt { provider: Address::ZERO, tier: 0, outcome: OutcomeClass::Success, latency_ms: 0 });
            },
            6 => m.final_provider.0[0] ^= salt,
            7 => m.final_tier = bump8(m.final_tier),
            8 => m.retry_count = bump8(m.retry_count),
            9 => m.trigger = FallbackTrigger::ALL[(m.trigger.as_u8() as usize + 1) % FallbackTrigger::ALL.len()],
            10 => m.resolution = Resolution::ALL[(m.resolution.as_u8() as usize + 1) % Resolution::ALL.len()],
            11 => m.registry_epoch ^= u64::from(salt),
            12 => m.budget_tokens ^= u32::from(salt),
            _ => m.router.0[19] ^= salt,
        }
        prop_assert_ne!(m.leaf_hash(), d.leaf_hash());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4_096, ..ProptestConfig::default() })]

    /// The decoders take outside bytes: no input makes them panic.
    #[test]
    fn decoders_never_panic_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        let _ = SignedDecision::rlp_decode_exact(&bytes);
        let _ = Decision::rlp_decode_exact(&bytes);
        let _ = BatchHeader::rlp_decode_exact(&bytes);
        let _ = decode_batch(&bytes);
    }

    /// Nor does any corruption of a valid encoding; whatever still decodes re-encodes to itself.
    #[test]
    fn decoders_never_panic_on_corrupted_encodings(
        d in arb::decision(),
        sig in any::<[u8; 64]>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut wire = encode_batch(&[signed(d, sig, true)]);
        for (at, byte, kind) in edits {
            if wire.is_empty() { break; }
            let i = at.index(wire.len());
            match kind {
                0 => wire[i] = byte,
                1 => { wire.truncate(i); }
                _ => wire.insert(i, byte),
            }
        }
        if let Ok(batch) = decode_batch(&wire) {
            prop_assert_eq!(encode_batch(&batch), wire);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Both recovery backends agree, for any key and decision.
    #[test]
    fn recovery_backends_agree(key in any::<[u8; 32]>(), d in arb::decision(), chain in any::<u64>()) {
        let Ok(signer) = PrivateKeySigner::from_slice(&key) else { return Ok(()) };
        let domain = crate::domain(chain, SETTLEMENT);
        let mut d = d;
        d.router = signer.address();
        let s = d.sign(&signer, &domain).unwrap();
        let sig = parse_signature(&s.signature).unwrap();
        let digest = s.decision.signing_hash(&domain);
        prop_assert_eq!(crate::recover_signer(&sig, &digest).unwrap(), signer.address());
        prop_assert_eq!(recover_signer_k256(&sig, &digest).unwrap(), signer.address());
        prop_assert!(s.verify(&domain).is_ok());
    }
}
