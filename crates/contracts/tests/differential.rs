//! Differential test: the compiled Solidity against the Rust crates, verdict by verdict.
//!
//! The genesis deployment (token, staking, settlement) runs in an in-process EVM. Every batch has
//! its own random registry (epoch = batch id); decisions are routed by the policy against the
//! registry of their batch or of up to three batches before (as decisions that took a while), a
//! few claim a future epoch, half of them are mutated in one field, some are signed by the wrong
//! key, some challenged with tampered proofs or evidence. They are sealed into batches, committed
//! with `commitBatch` (the contract decodes the compact payload and recomputes every leaf and the
//! root), and each decision is challenged with `challengeMisrouting` on a throwaway copy of the
//! state. Every outcome must be what the Rust side predicts:
//!
//! - the payload decoder, leaf hashing and Merkle root: a commit succeeds exactly when Rust's
//!   root and count match, and a corrupted payload fails (or succeeds) exactly as Rust's decoder
//!   and root say;
//! - the EIP-712 digest: `decisionDigest` equals Rust's signing hash for every decision;
//! - inclusion proofs, signatures, registry epochs and registry multiproofs: rejected exactly when
//!   Rust rejects them;
//! - the on-chain check: the proven offence and attempt equal `check_evidence`'s verdict, or the
//!   contract says `NoViolation` exactly when Rust finds nothing
//!   (`routing_contracts::challenge::expected_misrouting_outcome` is the Rust model).

use alloy_primitives::{keccak256, Bytes, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolCall, SolEvent, SolInterface};
use proptest::{
    prelude::*,
    strategy::{Strategy, ValueTree},
    test_runner::TestRunner,
};
use routing_contracts::{
    artifacts::{default_out_dir, Contracts},
    batch::{misrouting_call, SealedBatch},
    challenge::{expected_misrouting_outcome, MisroutingChallenge, MisroutingOutcome, Rejection},
    devnet::{self, Params},
    evm::{EvmError, LocalEvm, Success},
    genesis::Deployment,
};
use routing_policy::{arb, route, Offence, Registry, Verdict};
use routing_primitives::{
    abi::sol::{IRoutingSettlement, IStakeToken, IStaking, RoutingDecision},
    domain, payload, Decision, OutcomeClass, Request, SignedDecision,
};
use std::collections::{BTreeMap, BTreeSet};

/// Batches of `PER_BATCH` decisions, each batch with its own random registry.
const BATCHES: usize = 2_000;
const PER_BATCH: usize = 5;
const ROUTERS: usize = 4;

/// One decision's random inputs: request, outcomes, starting tokens, router, mutation (field,
/// pick, value), evidence mask, tampering, and how many batches old its registry is (4: it claims
/// a future epoch).
type Raw =
    (Request, Vec<(OutcomeClass, u32)>, u32, usize, u8, prop::sample::Index, u64, u32, u8, u8);

struct Case {
    signed: SignedDecision,
    evidence_mask: u32,
    full_evidence: bool,
    tamper: u8,
}

fn devnet() -> (LocalEvm, Vec<PrivateKeySigner>) {
    let params = Params::default();
    let contracts = Contracts::load(&default_out_dir()).expect("forge artifacts");
    let deployment = Deployment::build(&contracts, &params).expect("constructors run");
    let mut evm = LocalEvm::new(params.chain_id);
    deployment.install(&mut evm, &params);
    let routers: Vec<PrivateKeySigner> = (1..=ROUTERS).map(devnet::dev_signer).collect();
    for r in &routers {
        let amount = U256::from(50_000u64) * devnet::TOKEN;
        evm.send(
            r.address(),
            devnet::STAKE_TOKEN,
            &IStakeToken::approveCall { spender: devnet::STAKING, value: amount },
        )
        .expect("approve");
        evm.send(r.address(), devnet::STAKING, &IStaking::stakeCall { amount }).expect("stake");
    }
    (evm, routers)
}

fn sign(d: Decision, key: &PrivateKeySigner) -> SignedDecision {
    let dom = domain(devnet::CHAIN_ID, devnet::SETTLEMENT);
    let sig = key.sign_hash_sync(&d.signing_hash(&dom)).expect("signs");
    SignedDecision { decision: d, signature: Bytes::from(sig.as_bytes().to_vec()) }
}

fn case_strategy() -> impl Strategy<Value = (Registry, Vec<Raw>)> {
    let one = (
        arb::routable_request(),
        arb::outcomes(),
        0u32..=20_000,
        0..ROUTERS,
        0u8..30,
        any::<prop::sample::Index>(),
        any::<u64>(),
        any::<u32>(),
        0u8..100,
        prop_oneof![12 => 0u8..4, 1 => Just(4u8)],
    );
    (arb::registry(), prop::collection::vec(one, PER_BATCH))
}

/// `registry` renumbered as epoch `epoch`.
fn at_epoch(registry: &Registry, epoch: u64) -> Registry {
    Registry::new(epoch, registry.params().clone(), registry.providers().to_vec(), vec![]).unwrap()
}

fn outcome(result: Result<Success, EvmError>) -> MisroutingOutcome {
    use IRoutingSettlement::IRoutingSettlementErrors as E;
    match result {
        Ok(ok) => {
            let log = ok
                .logs
                .iter()
                .find_map(|l| IRoutingSettlement::MisroutingProven::decode_log(l).ok())
                .expect("a successful challenge emits MisroutingProven");
            MisroutingOutcome::Proven(Verdict {
                offence: Offence::from_code(log.offence).expect("a known offence code"),
                attempt: log.attempt,
            })
        }
        Err(EvmError::Revert(data)) => MisroutingOutcome::Rejected(match E::abi_decode(&data) {
            Ok(E::InvalidInclusionProof(_)) => Rejection::InvalidInclusionProof,
            Ok(E::InvalidSignature(_)) => Rejection::InvalidSignature,
            Ok(E::UnknownRegistryEpoch(_)) => Rejection::UnknownRegistryEpoch,
            Ok(E::EntriesNotSorted(_)) => Rejection::EntriesNotSorted,
            Ok(E::InvalidRegistryProof(_)) => Rejection::InvalidRegistryProof,
            Ok(E::RegistryEpochMismatch(_)) => Rejection::RegistryEpochMismatch,
            Ok(E::NoViolation(_)) => Rejection::NoViolation,
            other => {
                panic!("unexpected revert {other:?} (0x{})", alloy_primitives::hex::encode(&data))
            }
        }),
        Err(e) => panic!("challenge did not run: {e}"),
    }
}

/// Commits a corrupted copy of `batch`'s payload in a throwaway state and checks that Solidity
/// ends as Rust's decoder and root say; returns the outcome.
fn corrupted_commit(evm: &mut LocalEvm, batch: &SealedBatch) -> &'static str {
    let batch_id = batch.header.batch_id;
    let mut corrupt = batch.payload.to_vec();
    let at = (keccak256(batch_id.to_be_bytes())[0] as usize * 7919) % corrupt.len();
    match batch_id % 3 {
        0 => corrupt[at] ^= 1 << (batch_id % 8),
        1 => corrupt.truncate(at),
        _ => corrupt.insert(at, batch_id as u8),
    }
    let expected = match payload::decode(batch_id, &corrupt) {
        Err(_) => "InvalidPayload",
        Ok(ds) if ds.len() != batch.decisions.len() => "CountMismatch",
        Ok(ds) => {
            let leaves: Vec<B256> = ds.iter().map(|s| s.decision.leaf_hash()).collect();
            if routing_merkle::root(&leaves).unwrap() == batch.header.decisions_root {
                "Committed"
            } else {
                "RootMismatch"
            }
        }
    };
    let mut call = batch.commit_call();
    call.payload = corrupt.into();
    use IRoutingSettlement::IRoutingSettlementErrors as E;
    let got =
        match evm.simulate(devnet::dev_address(0), devnet::SETTLEMENT, call.abi_encode().into()) {
            Ok(_) => "Committed",
            Err(EvmError::Revert(data)) => match E::abi_decode(&data) {
                Ok(E::InvalidPayload(_)) => "InvalidPayload",
                Ok(E::CountMismatch(_)) => "CountMismatch",
                Ok(E::RootMismatch(_)) => "RootMismatch",
                other => panic!("batch {batch_id}: unexpected commit revert {other:?}"),
            },
            Err(e) => panic!("batch {batch_id}: commit did not run: {e}"),
        };
    assert_eq!(got, expected, "batch {batch_id}: corrupted payload");
    expected
}

#[test]
fn solidity_agrees_with_rust_verdict_by_verdict() {
    let (mut evm, routers) = devnet();
    let challenger = devnet::dev_address(5);
    let dom = domain(devnet::CHAIN_ID, devnet::SETTLEMENT);
    let mut runner = TestRunner::deterministic();
    let strategy = case_strategy();
    let mut prev = B256::ZERO;
    // registries[e] is registry epoch e; index 0 is never committed (epochs start at 1).
    let mut registries =
        vec![at_epoch(&arb::registry().new_tree(&mut runner).unwrap().current(), 0)];
    let mut tally: BTreeMap<MisroutingOutcome, usize> = BTreeMap::new();
    let mut payload_tally: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut decisions = 0usize;

    for batch_id in 1..=BATCHES as u64 {
        let (drawn, items) = strategy.new_tree(&mut runner).unwrap().current();
        registries.push(at_epoch(&drawn, batch_id));
        let mut cases = Vec::with_capacity(items.len());
        for (req, outs, tokens, router, field, pick, value, mask, tamper, lag) in items {
            let key = &routers[router];
            // Routed against the registry of its batch or of an earlier one; a decision that
            // claims a future epoch is routed against the current registry.
            let epoch = batch_id.saturating_sub(u64::from(lag.min(3))).max(1);
            let routed_with = &registries[epoch as usize];
            let d = route(&req, routed_with, key.address(), tokens, arb::script(outs));
            let mut d = arb::mutate(&d, routed_with, field, pick, value);
            if lag == 4 {
                d.registry_epoch = batch_id + 1;
            }
            let mut signed = sign(d, key);
            if tamper < 3 {
                // A bit flipped in r: another signer (or none).
                let mut sig = signed.signature.to_vec();
                sig[5] ^= 0x10;
                signed.signature = sig.into();
            }
            cases.push(Case { signed, evidence_mask: mask, full_evidence: mask % 3 == 0, tamper });
        }

        let batch = SealedBatch::seal(
            batch_id,
            prev,
            registries[batch_id as usize].root(),
            cases.iter().map(|c| c.signed.clone()).collect(),
        )
        .unwrap();
        *payload_tally.entry(corrupted_commit(&mut evm, &batch)).or_default() += 1;

        // The real commit.
        let ok = evm
            .transact(
                devnet::dev_address(0),
                devnet::SETTLEMENT,
                batch.commit_call().abi_encode().into(),
            )
            .unwrap_or_else(|e| panic!("batch {batch_id} does not commit: {e}"));
        let committed = ok
            .logs
            .iter()
            .find_map(|l| IRoutingSettlement::BatchCommitted::decode_log(l).ok())
            .expect("BatchCommitted");
        assert_eq!(committed.headerHash, batch.hash());
        assert_eq!(committed.decisionsRoot, batch.header.decisions_root);
        prev = batch.hash();

        for (index, case) in cases.iter().enumerate() {
            decisions += 1;
            let d = &case.signed.decision;
            let digest = evm
                .view(
                    devnet::SETTLEMENT,
                    &IRoutingSettlement::decisionDigestCall { decision: RoutingDecision::from(d) },
                )
                .unwrap();
            assert_eq!(digest, d.signing_hash(&dom), "batch {batch_id} decision {index}: digest");

            // The challenger proves entries of the registry the decision names (the one it was
            // routed with, unless a mutation changed its epoch).
            let named = usize::try_from(d.registry_epoch)
                .ok()
                .filter(|e| (1..registries.len()).contains(e));
            let registry = &registries[named.unwrap_or(batch_id as usize)];
            let mut evidence = if case.full_evidence {
                registry.full_evidence()
            } else {
                registry
                    .evidence(&arb::providers_by_mask(registry, case.evidence_mask >> 1))
                    .unwrap()
            };
            let mut inclusion = batch.inclusion(index).unwrap();
            match case.tamper {
                3..=5 => inclusion.proof[0].0[31] ^= 1,
                6..=8 => match evidence.entries.first_mut() {
                    Some(e) => e.reliability_ppm ^= 1,
                    None => evidence.params.tokenRatio ^= 1,
                },
                9 if evidence.entries.len() >= 2 => evidence.entries.swap(0, 1),
                // Multiproofs of the wrong shape: one flag too many, or a sibling missing.
                10 => evidence.proof_flags.push(false),
                11 if !evidence.proof.is_empty() => {
                    evidence.proof.pop();
                }
                _ => {}
            }
            let expected = expected_misrouting_outcome(
                &MisroutingChallenge {
                    signed: &case.signed,
                    batch_id,
                    decisions_root: batch.header.decisions_root,
                    proof: &inclusion.proof,
                    evidence: &evidence,
                },
                &dom,
                |e| (1..=batch_id).contains(&e).then(|| registries[e as usize].root()),
            );
            let call = misrouting_call(inclusion, &evidence);
            let got =
                outcome(evm.simulate(challenger, devnet::SETTLEMENT, call.abi_encode().into()));
            assert_eq!(
                got, expected,
                "batch {batch_id} decision {index}: {d:?}\nevidence {evidence:?}"
            );
            *tally.entry(got).or_default() += 1;
        }
    }

    println!("{decisions} decisions in {BATCHES} batches, each with its own registry");
    for (outcome, n) in &tally {
        let name = match outcome {
            MisroutingOutcome::Proven(v) => format!("{:?} at {}", v.offence, v.attempt),
            MisroutingOutcome::Rejected(r) => format!("{r:?}"),
        };
        println!("{n:>6}  {name}");
    }
    println!("corrupted payloads: {payload_tally:?}");
    assert!(decisions >= 10_000);
    let proven: BTreeSet<Offence> = tally
        .keys()
        .filter_map(|o| match o {
            MisroutingOutcome::Proven(v) => Some(v.offence),
            MisroutingOutcome::Rejected(_) => None,
        })
        .collect();
    let missing: Vec<_> = Offence::ALL.iter().filter(|o| !proven.contains(o)).collect();
    assert!(missing.is_empty(), "offences never proven on-chain: {missing:?}");
    for r in [
        Rejection::NoViolation,
        Rejection::InvalidSignature,
        Rejection::InvalidInclusionProof,
        Rejection::InvalidRegistryProof,
        Rejection::EntriesNotSorted,
        Rejection::UnknownRegistryEpoch,
    ] {
        assert!(tally.contains_key(&MisroutingOutcome::Rejected(r)), "no case ended in {r:?}");
    }
    for r in ["InvalidPayload", "RootMismatch"] {
        assert!(payload_tally.contains_key(r), "no corrupted payload ended in {r}");
    }
}
