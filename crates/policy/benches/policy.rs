//! The policy: route, check, replay of a 1,200-decision batch, registry update.

#![allow(missing_docs)]

use alloy_primitives::Address;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use routing_policy::{check, replay, route, tokens_after, Registry};
use routing_primitives::{Decision, OutcomeClass, PolicyParams, ProviderEntry, Request};
use std::hint::black_box;

const ROUTER: Address = Address::with_last_byte(0xee);

/// 16 providers: 6 in tier 0, 5 in tier 1, 3 in the fallback tier, 2 for another model class.
fn registry() -> Registry {
    let providers = (0u8..16)
        .map(|i| ProviderEntry {
            provider: Address::with_last_byte(i + 1),
            model_class: if i < 14 { 1 } else { 2 },
            tier: match i {
                0..=5 => 0,
                6..=10 => 1,
                _ => 2,
            },
            reliability_ppm: 850_000 + u32::from(i) * 9_000,
            cooldown_until_ms: 0,
        })
        .collect();
    Registry::new(1, PolicyParams::default(), providers, vec![]).unwrap()
}

fn request(i: u64) -> Request {
    Request {
        id: alloy_primitives::keccak256(i.to_be_bytes()),
        model_class: 1,
        submit_ms: i * 10,
        deadline_ms: i * 10 + 9_000,
        retry_budget: 2,
    }
}

/// Deterministic outcomes: about one attempt in four fails.
fn oracle(i: u64) -> impl FnMut(&ProviderEntry, u64, usize) -> (OutcomeClass, u32) {
    move |p, _, k| {
        let h = alloy_primitives::keccak256(
            [i.to_be_bytes().as_slice(), p.provider.as_slice()].concat(),
        );
        if h[0] < 64 && k < 3 {
            (OutcomeClass::Timeout, 2_000)
        } else {
            (OutcomeClass::Success, 400)
        }
    }
}

fn batch(registry: &Registry) -> Vec<Decision> {
    let mut tokens = registry.router_tokens(&ROUTER);
    (0..1_200)
        .map(|i| {
            let d = route(&request(i), registry, ROUTER, tokens, oracle(i));
            tokens = tokens_after(&d, registry);
            d
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let registry = registry();
    let decisions = batch(&registry);
    let retried = decisions.iter().find(|d| d.attempts.len() > 1).unwrap().clone();

    let mut g = c.benchmark_group("policy");
    g.throughput(Throughput::Elements(1));
    g.bench_function("route", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            route(&request(i), &registry, ROUTER, 10_000, oracle(i))
        })
    });
    g.bench_function("check/one_attempt", |b| {
        b.iter(|| check(black_box(&decisions[0]), &registry))
    });
    g.bench_function("check/retried", |b| b.iter(|| check(black_box(&retried), &registry)));
    g.finish();

    let mut g = c.benchmark_group("policy/batch");
    g.throughput(Throughput::Elements(1_200));
    g.bench_function("replay/1200", |b| b.iter(|| replay(black_box(&decisions), &registry)));
    g.bench_function("registry_next/1200", |b| b.iter(|| registry.next(black_box(&decisions))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
