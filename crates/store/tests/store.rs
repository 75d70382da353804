//! The store's behaviour: admission outcomes, sealing, block apply/revert, persistence across
//! reopening, and (property-tested) that any sequence of operations keeps every admitted decision
//! in exactly one place.

use alloy_primitives::{Address, Bytes, B256};
use proptest::prelude::*;
use routing_exex::BlockRef;
use routing_policy::{Registry, RegistryData};
use routing_primitives::{
    rlp, BatchHeader, Decision, FallbackTrigger, PolicyParams, Request, Resolution, SignedDecision,
};
use routing_store::{
    Admission, Admitted, BatchRecord, BatchStatus, Commit, Position, Store, StoreError,
};
use std::collections::HashSet;

fn decision(id: u64, variant: u8) -> Admission {
    let d = Decision {
        request: Request {
            id: B256::left_padding_from(&id.to_be_bytes()),
            model_class: 1,
            submit_ms: 1_000 + u64::from(variant),
            deadline_ms: 60_000,
            retry_budget: 2,
        },
        attempts: vec![],
        final_provider: Address::ZERO,
        final_tier: 0,
        retry_count: 0,
        trigger: FallbackTrigger::None,
        resolution: Resolution::Exhausted,
        registry_epoch: 1,
        budget_tokens: 10_000,
        router: Address::with_last_byte(0xaa),
    };
    let signed = SignedDecision { decision: d, signature: Bytes::from(vec![0x11; 65]) };
    Admission { leaf: signed.decision.leaf_hash(), rlp: rlp::encode(&signed), signed }
}

fn registry(epoch: u64) -> RegistryData {
    Registry::new(epoch, PolicyParams::default(), vec![], vec![]).unwrap().into()
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store.redb")).unwrap();
    (dir, store)
}

/// Seals the oldest `n` pending decisions as the next batch.
fn seal(store: &Store, n: usize) -> BatchRecord {
    let members: Vec<B256> =
        store.pending(n).unwrap().iter().map(|d| d.receipt.request_id).collect();
    let id = store.next_batch_id().unwrap();
    let record = BatchRecord {
        header: BatchHeader {
            batch_id: id,
            prev_hash: store.last_header_hash().unwrap(),
            decisions_root: B256::repeat_byte(id as u8),
            registry_root: B256::ZERO,
            count: members.len() as u32,
            l2_block_start: 0,
            l2_block_end: 0,
        },
        status: BatchStatus::Sealed,
        sealed_at_ms: 5,
    };
    store.seal(&record, &members, &registry(id + 1)).unwrap();
    record
}

fn block(n: u64, fork: u8) -> BlockRef {
    BlockRef { number: n, hash: B256::repeat_byte(fork.wrapping_mul(31).wrapping_add(n as u8)) }
}

fn commit_of(record: &BatchRecord) -> Commit {
    Commit {
        batch_id: record.header.batch_id,
        header_hash: record.header.hash(),
        tx_hash: B256::repeat_byte(0x77),
        log_index: 0,
    }
}

#[test]
fn admission_is_idempotent_and_keeps_conflicts_as_evidence() {
    let (_dir, store) = open();
    let a = decision(1, 0);
    let out = store.admit(&[a.clone(), decision(2, 0)], 100).unwrap();
    let Admitted::New(first) = out[0] else { panic!("{out:?}") };
    assert_eq!((first.seq, first.position), (1, None));
    assert!(matches!(out[1], Admitted::New(r) if r.seq == 2));

    // The same decision again: the same receipt, no new sequence number.
    assert_eq!(
        store.admit(std::slice::from_ref(&a), 200).unwrap(),
        vec![Admitted::Existing(first)]
    );
    // Another decision for request 1: refused, evidence kept.
    let other = decision(1, 9);
    assert_eq!(
        store.admit(std::slice::from_ref(&other), 300).unwrap(),
        vec![Admitted::Conflict { existing: first }]
    );
    assert_eq!(store.conflicts(a.signed.decision.request.id).unwrap(), vec![other.signed]);
    // Duplicates within one call are resolved in order.
    let c = decision(3, 0);
    let out = store.admit(&[c.clone(), c.clone(), decision(3, 1)], 400).unwrap();
    assert!(matches!(out[0], Admitted::New(r) if r.seq == 3));
    assert!(matches!(out[1], Admitted::Existing(r) if r.seq == 3));
    assert!(matches!(out[2], Admitted::Conflict { .. }));

    let counts = store.counts().unwrap();
    assert_eq!((counts.decisions, counts.pending, counts.conflicts), (3, 3, 2));
    let stored = store.decision(a.signed.decision.request.id).unwrap().unwrap();
    assert_eq!(stored.signed, a.signed);
    assert_eq!(stored.receipt, first);
    assert_eq!(store.decision(B256::repeat_byte(9)).unwrap(), None);
}

#[test]
fn sealing_takes_the_oldest_pending_in_order() {
    let (_dir, store) = open();
    let items: Vec<Admission> = (1..=5).map(|i| decision(i, 0)).collect();
    store.admit(&items, 0).unwrap();
    let b1 = seal(&store, 3);
    assert_eq!(store.pending(10).unwrap().len(), 2);
    let members = store.batch_members(1, 0, 10).unwrap();
    let ids: Vec<B256> = items.iter().map(|a| a.signed.decision.request.id).collect();
    assert_eq!(members, ids[..3]);
    assert_eq!(store.batch_members(1, 1, 1).unwrap(), ids[1..2]);
    let d = store.decision(ids[2]).unwrap().unwrap();
    assert_eq!(d.receipt.position, Some(Position { batch_id: 1, index: 2 }));
    assert_eq!(store.batch_decisions(1).unwrap().len(), 3);
    let leaves: Vec<B256> = items[..3].iter().map(|a| a.leaf).collect();
    assert_eq!(store.batch_leaves(1).unwrap(), leaves);
    assert_eq!(store.next_batch_id().unwrap(), 2);
    assert_eq!(store.last_header_hash().unwrap(), b1.header.hash());
    assert_eq!(store.registry(2).unwrap(), Some(registry(2)));

    // Wrong members, wrong id, wrong chain, wrong count: refused, nothing changes.
    let mut bad = b1.clone();
    bad.header.batch_id = 2;
    bad.header.prev_hash = b1.header.hash();
    bad.header.count = 1;
    let err = store.seal(&bad, &[ids[4]], &registry(3)).unwrap_err();
    assert!(matches!(err, StoreError::Inconsistent(_)), "{err}");
    bad.header.batch_id = 3;
    assert!(store.seal(&bad, &[ids[3]], &registry(3)).is_err());
    bad.header.batch_id = 2;
    bad.header.prev_hash = B256::ZERO;
    assert!(store.seal(&bad, &[ids[3]], &registry(3)).is_err());
    bad.header.prev_hash = b1.header.hash();
    bad.header.count = 2;
    assert!(store.seal(&bad, &[ids[3]], &registry(3)).is_err());
    assert_eq!(store.pending(10).unwrap().len(), 2);
    seal(&store, 2);
    assert_eq!(store.pending(10).unwrap().len(), 0);
}

#[test]
fn blocks_commit_and_revert_batches_with_the_head() {
    let (_dir, store) = open();
    store.admit(&(1..=4).map(|i| decision(i, 0)).collect::<Vec<_>>(), 0).unwrap();
    let b1 = seal(&store, 2);
    let b2 = seal(&store, 2);
    assert_eq!(store.uncommitted_batches().unwrap().len(), 2);
    store.mark_posted(1, B256::repeat_byte(1), 0, 10).unwrap();
    assert!(matches!(
        store.batch(1).unwrap().unwrap().status,
        BatchStatus::Posted { nonce: 0, .. }
    ));

    assert_eq!(store.apply_block(block(1, 0), &[commit_of(&b1)]).unwrap(), Vec::<u64>::new());
    assert_eq!(store.head().unwrap(), Some(block(1, 0)));
    let r1 = store.batch(1).unwrap().unwrap();
    assert!(matches!(r1.status, BatchStatus::Committed { block: b, .. } if b == block(1, 0)));
    assert_eq!(r1.header.l2_block_start, 1);
    assert_eq!(store.counts().unwrap().committed, 1);
    // A block at or below the head is already applied.
    assert_eq!(store.apply_block(block(1, 0), &[commit_of(&b2)]).unwrap(), Vec::<u64>::new());
    assert_eq!(store.counts().unwrap().committed, 1);
    // A commit of a header this store did not seal is reported, not applied.
    let mut forged = commit_of(&b2);
    forged.header_hash = B256::repeat_byte(0xee);
    assert_eq!(store.apply_block(block(2, 0), &[forged]).unwrap(), vec![2]);
    assert_eq!(store.counts().unwrap().committed, 1);
    store.apply_block(block(3, 0), &[commit_of(&b2)]).unwrap();
    assert_eq!(store.counts().unwrap().committed, 2);
    assert!(store.uncommitted_batches().unwrap().is_empty());

    // Block 3 is reorged away: batch 2 waits for a commit again; block 2 had none.
    assert_eq!(store.revert_block(block(3, 0), block(2, 0)).unwrap(), vec![2]);
    assert_eq!(store.revert_block(block(2, 0), block(1, 0)).unwrap(), Vec::<u64>::new());
    assert_eq!(store.head().unwrap(), Some(block(1, 0)));
    // A block above the head was never applied: nothing moves.
    assert_eq!(store.revert_block(block(5, 0), block(4, 0)).unwrap(), Vec::<u64>::new());
    assert_eq!(store.head().unwrap(), Some(block(1, 0)));
    assert_eq!(store.counts().unwrap().committed, 1);
    let r2 = store.batch(2).unwrap().unwrap();
    assert_eq!(r2.status, BatchStatus::Sealed);
    assert_eq!(r2.header.l2_block_start, 0);
    assert_eq!(
        store.uncommitted_batches().unwrap().iter().map(|b| b.header.batch_id).collect::<Vec<_>>(),
        vec![2]
    );
    // It lands again on the new fork.
    store.apply_block(block(2, 1), &[commit_of(&b2)]).unwrap();
    assert_eq!(store.counts().unwrap().committed, 2);
}

#[test]
fn everything_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let b1 = {
        let store = Store::open(&path).unwrap();
        store.admit(&(1..=3).map(|i| decision(i, 0)).collect::<Vec<_>>(), 0).unwrap();
        store.init_registry(&registry(1)).unwrap();
        let b1 = seal(&store, 2);
        store.apply_block(block(7, 0), &[commit_of(&b1)]).unwrap();
        b1
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.head().unwrap(), Some(block(7, 0)));
    assert_eq!(store.next_batch_id().unwrap(), 2);
    assert_eq!(store.last_header_hash().unwrap(), b1.header.hash());
    assert_eq!(store.pending(10).unwrap().len(), 1);
    assert_eq!(store.counts().unwrap().committed, 1);
    assert_eq!(store.registry(1).unwrap(), Some(registry(1)));
    // init_registry keeps what is stored.
    let mut other = registry(1);
    other.params.max_attempts = 5;
    assert_eq!(store.init_registry(&other).unwrap(), registry(1));
    // Sequence numbers continue.
    let out = store.admit(&[decision(9, 0)], 0).unwrap();
    assert!(matches!(out[0], Admitted::New(r) if r.seq == 4));
}

#[derive(Clone, Debug)]
enum Op {
    Admit(Vec<(u64, u8)>),
    Seal(usize),
    Commit,
    Revert,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => prop::collection::vec((0u64..40, 0u8..2), 1..8).prop_map(Op::Admit),
        2 => (1usize..6).prop_map(Op::Seal),
        2 => Just(Op::Commit),
        1 => Just(Op::Revert),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Whatever the sequence of admissions, seals, commits and reverts: every admitted request id
    /// is in exactly one place (pending, or one batch position), batch positions are dense, and
    /// the committed batches are a prefix.
    #[test]
    fn every_decision_is_in_exactly_one_place(ops in prop::collection::vec(op(), 1..40)) {
        let (_dir, store) = open();
        let mut admitted: HashSet<B256> = HashSet::new();
        let mut chain: Vec<(BlockRef, Option<u64>)> = Vec::new();
        let mut fork = 0u8;
        for op in ops {
            match op {
                Op::Admit(items) => {
                    let items: Vec<Admission> = items.iter().map(|&(i, v)| decision(i, v)).collect();
                    for (item, out) in items.iter().zip(store.admit(&items, 0).unwrap()) {
                        if let Admitted::New(_) = out {
                            prop_assert!(admitted.insert(item.signed.decision.request.id));
                        }
                    }
                }
                Op::Seal(n) => {
                    if !store.pending(1).unwrap().is_empty() {
                        seal(&store, n);
                    }
                }
                Op::Commit => {
                    let next = store.counts().unwrap().committed + 1;
                    let commit = store.batch(next).unwrap().map(|b| commit_of(&b));
                    let n = chain.last().map_or(1, |(b, _)| b.number + 1);
                    let b = block(n, fork);
                    store.apply_block(b, commit.as_slice()).unwrap();
                    chain.push((b, commit.map(|c| c.batch_id)));
                }
                Op::Revert => {
                    if let Some((b, _)) = chain.pop() {
                        let parent = chain.last().map_or(BlockRef::default(), |(p, _)| *p);
                        store.revert_block(b, parent).unwrap();
                        fork = fork.wrapping_add(1);
                    }
                }
            }
        }
        let mut seen: HashSet<B256> = HashSet::new();
        for d in store.pending(usize::MAX).unwrap() {
            prop_assert!(d.receipt.position.is_none());
            prop_assert!(seen.insert(d.receipt.request_id));
        }
        let batches = store.batches_from(1, usize::MAX).unwrap();
        for b in &batches {
            let members = store.batch_members(b.header.batch_id, 0, usize::MAX).unwrap();
            prop_assert_eq!(members.len(), b.header.count as usize);
            for (i, id) in members.iter().enumerate() {
                prop_assert!(seen.insert(*id), "{} in two places", id);
                let d = store.decision(*id).unwrap().unwrap();
                prop_assert_eq!(d.receipt.position, Some(Position { batch_id: b.header.batch_id, index: i as u32 }));
            }
        }
        prop_assert_eq!(seen, admitted);
        let committed = store.counts().unwrap().committed;
        for b in &batches {
            let is_committed = matches!(b.status, BatchStatus::Committed { .. });
            prop_assert_eq!(is_committed, b.header.batch_id <= committed);
        }
        let expected: Vec<u64> = chain.iter().filter_map(|(_, c)| *c).collect();
        prop_assert_eq!(expected, (1..=committed).collect::<Vec<_>>());
        prop_assert_eq!(store.head().unwrap(), chain.last().map(|(b, _)| *b).or(if fork > 0 { Some(BlockRef::default()) } else { None }));
    }
}
