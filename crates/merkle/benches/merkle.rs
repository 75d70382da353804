//! Benchmarks of tree building, root computation, proofs and verification.

use alloy_primitives::{keccak256, B256};
use criterion::{criterion_main, BatchSize, Criterion, Throughput};
use routing_merkle::{root, verify, MerkleTree};
use std::hint::black_box;

fn leaves(n: usize) -> Vec<B256> {
    (0..n as u64).map(|i| keccak256(keccak256(i.to_be_bytes()))).collect()
}

fn bench(c: &mut Criterion) {
    for n in [1_200usize, 100_000] {
        let leaves = leaves(n);
        let mut group = c.benchmark_group("merkle/root");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(n.to_string(), |b| b.iter(|| root(black_box(&leaves)).unwrap()));
        group.finish();
    }

    let leaves = leaves(1_200);

    let mut group = c.benchmark_group("merkle/tree");
    group.throughput(Throughput::Elements(leaves.len() as u64));
    group.bench_function("1200", |b| {
        b.iter_batched(
            || leaves.clone(),
            |l| MerkleTree::from_leaves(l).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let tree = MerkleTree::from_leaves(leaves.clone()).unwrap();
    let index = 777;

    let mut group = c.benchmark_group("merkle/proof");
    group.bench_function("1200", |b| b.iter(|| tree.proof(black_box(index)).unwrap()));
    group.finish();

    let proof = tree.proof(index).unwrap();
    let (r, leaf) = (tree.root(), leaves[index]);
    let mut group = c.benchmark_group("merkle/verify");
    group.bench_function("1200", |b| {
        b.iter(|| assert!(verify(black_box(&proof), black_box(r), black_box(leaf))))
    });
    group.finish();
}

// `criterion_group!` expands to an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
