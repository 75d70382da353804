//! Encodings and signatures: leaf hash, RLP round trip, EIP-712 digest, sign and recover with
//! both secp256k1 backends.

#![allow(missing_docs)]

use alloy_primitives::{Address, B256};
use alloy_signer_local::PrivateKeySigner;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use routing_primitives::{
    payload, rlp, signing::recover_signer_k256, Attempt, Decision, FallbackTrigger, OutcomeClass,
    Request, Resolution, RlpDecodeExact, SignedDecision,
};
use std::hint::black_box;

fn decision(i: u64, router: Address) -> Decision {
    let attempt = |n: u8, outcome| Attempt {
        provider: Address::with_last_byte(n),
        tier: 0,
        outcome,
        latency_ms: 300 + u32::from(n),
    };
    Decision {
        request: Request {
            id: alloy_primitives::keccak256(i.to_be_bytes()),
            model_class: 1,
            submit_ms: i * 10,
            deadline_ms: i * 10 + 9_000,
            retry_budget: 2,
        },
        attempts: vec![attempt(1, OutcomeClass::Timeout), attempt(2, OutcomeClass::Success)],
        final_provider: Address::with_last_byte(2),
        final_tier: 0,
        retry_count: 1,
        trigger: FallbackTrigger::None,
        resolution: Resolution::Served,
        registry_epoch: 1,
        budget_tokens: 9_100,
        router,
    }
}

fn bench(c: &mut Criterion) {
    let signer = PrivateKeySigner::random();
    let domain = routing_primitives::domain(901, Address::with_last_byte(0xcc));
    let d = decision(7, signer.address());
    let signed = d.clone().sign(&signer, &domain).unwrap();
    let wire = rlp::encode(&signed);
    let digest = d.signing_hash(&domain);
    let sig = routing_primitives::parse_signature(&signed.signature).unwrap();

    let mut g = c.benchmark_group("primitives");
    g.throughput(Throughput::Elements(1));
    g.bench_function("leaf_hash", |b| b.iter(|| black_box(&d).leaf_hash()));
    g.bench_function("rlp_round_trip", |b| {
        b.iter(|| SignedDecision::rlp_decode_exact(&rlp::encode(black_box(&signed))).unwrap())
    });
    g.bench_function("rlp_decode", |b| {
        b.iter(|| SignedDecision::rlp_decode_exact(black_box(&wire)).unwrap())
    });
    g.bench_function("eip712_digest", |b| b.iter(|| black_box(&d).signing_hash(&domain)));
    let separator = domain.separator();
    g.bench_function("eip712_digest/cached_separator", |b| {
        b.iter(|| black_box(&d).signing_hash_with_separator(&separator))
    });
    g.bench_function("eip712_digest/alloy_derived", |b| {
        use alloy_sol_types::SolStruct;
        b.iter(|| {
            routing_primitives::abi::sol::RoutingDecision::from(black_box(&d))
                .eip712_signing_hash(&domain)
        })
    });
    g.bench_function("eip712_sign", |b| {
        b.iter_batched(|| d.clone(), |d| d.sign(&signer, &domain).unwrap(), BatchSize::SmallInput)
    });
    g.bench_function("recover/secp256k1_c", |b| {
        b.iter(|| routing_primitives::recover_signer(black_box(&sig), &digest).unwrap())
    });
    g.bench_function("recover/k256_rust", |b| {
        b.iter(|| recover_signer_k256(black_box(&sig), &digest).unwrap())
    });
    g.bench_function("verify_signed_decision", |b| {
        b.iter(|| black_box(&signed).verify_with_separator(&separator))
    });
    g.finish();

    let batch: Vec<B256> = (0..1_200).map(|i| decision(i, signer.address()).leaf_hash()).collect();
    assert_eq!(batch.len(), 1_200);
    let decisions: Vec<Decision> = (0..1_200).map(|i| decision(i, signer.address())).collect();
    let mut g = c.benchmark_group("primitives/batch");
    g.throughput(Throughput::Elements(1_200));
    g.bench_function("leaf_hash/1200", |b| {
        b.iter(|| decisions.iter().map(Decision::leaf_hash).collect::<Vec<_>>())
    });
    g.finish();

    // Two routers and nine providers shared by 1,200 two-attempt decisions.
    let routers = [signer.address(), PrivateKeySigner::random().address()];
    let signed: Vec<SignedDecision> = (0..1_200u64)
        .map(|i| {
            let mut d = decision(i, routers[i as usize % 2]);
            let (first, second) = (1 + (i % 9) as u8, 1 + ((i + 4) % 9) as u8);
            d.attempts[0].provider = Address::with_last_byte(first);
            d.attempts[1].provider = Address::with_last_byte(second);
            d.final_provider = Address::with_last_byte(second);
            SignedDecision { decision: d, signature: signed.signature.clone() }
        })
        .collect();
    let bytes = payload::encode(1, &signed).unwrap();
    let mut g = c.benchmark_group("primitives/payload");
    g.throughput(Throughput::Elements(1_200));
    g.bench_function("encode/1200", |b| b.iter(|| payload::encode(1, black_box(&signed)).unwrap()));
    g.bench_function("decode/1200", |b| b.iter(|| payload::decode(1, black_box(&bytes)).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
