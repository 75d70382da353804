//! Differential test: the compiled Solidity against the Rust crates, verdict by verdict.
//!
//! The genesis deployment (token, staking, settlement) runs in an in-process EVM. Random
//! registries and decisions (routed by the policy, then half of them mutated in one field, some
//! signed by the wrong key, some with tampered proofs) are sealed into batches, committed with
//! `commitBatch` (the contract decodes the compact payload and recomputes every leaf and the
//! root) and each decision is challenged with `challengeMisrouting` on a throwaway copy of the
//! state. Every outcome must be what the Rust side predicts:
//!
//! - the payload decoder, leaf hashing and Merkle root: a commit succeeds exactly when Rust's
//!   root and count match, and a corrupted payload fails (or succeeds) exactly as Rust's decoder
//!   and root say;
//! - the EIP-712 digest: `decisionDigest` equals Rust's signing hash for every decision;
//! - inclusion proofs, signatures and registry multiproofs: rejected exactly when Rust rejects
//!   them;
//! - the on-chain check: the proven offence and attempt equal `check_evidence`'s verdict, or the
//!   contract says `NoViolation` exactly when Rust finds nothing.

use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{SolEvent, SolInterface};
use proptest::{
    prelude::*,
    strategy::{Strategy, ValueTree},
    test_runner::TestRunner,
};
use routing_contracts::{
    artifacts::{default_out_dir, Contracts},
    batch::{misrouting_call, SealedBatch},
    devnet::{self, Params},
    evm::{EvmError, LocalEvm},
    genesis::Deployment,
};
use routing_policy::{arb, check_evidence, route, Offence, Registry};
use routing_primitives::{
    abi::sol::{IRoutingSettlement, IStakeToken, IStaking, RoutingDecision},
    domain, payload, Decision, SignedDecision,
};
use std::collections::BTreeMap;

/// Batches of `PER_BATCH` decisions, each batch with its own random registry.
const BATCHES: usize = 2_000;
const PER_BATCH: usize = 5;
const ROUTERS: usize = 4;

/// What a challenge of one decision ends in.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Proven { offence: u8, attempt: u8 },
    Rejected(&'static str),
}

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

fn case_strategy() -> impl Strategy<Value = (Registry, Vec<(Decision, usize, u32, u8)>)> {
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
    );
    (arb::registry(), prop::collection::vec(one, PER_BATCH)).prop_map(|(registry, items)| {
        let decisions = items
            .into_iter()
            .map(|(req, outs, tokens, router, field, pick, value, mask, tamper)| {
                // The router address is filled in by the caller (it depends on the key).
                let d = route(&req, &registry, Address::ZERO, tokens, arb::script(outs));
                let d = arb::mutate(&d, &registry, field, pick, value);
                (d, router, mask, tamper)
            })
            .collect();
        (registry, decisions)
    })
}

/// What Rust predicts `challengeMisrouting` does, in the contract's order of checks.
fn predict(
    batch: &SealedBatch,
    index: usize,
    proof: &[B256],
    evidence: &routing_policy::Evidence,
) -> Outcome {
    let signed = &batch.decisions[index];
    let leaf = signed.decision.leaf_hash();
    if !routing_merkle::verify(proof, batch.header.decisions_root, leaf) {
        return Outcome::Rejected("InvalidInclusionProof");
    }
    if signed.verify(&domain(devnet::CHAIN_ID, devnet::SETTLEMENT)).is_err() {
        return Outcome::Rejected("InvalidSignature");
    }
    if evidence.entries.windows(2).any(|w| w[0].provider >= w[1].provider) {
        return Outcome::Rejected("EntriesNotSorted");
    }
    if !evidence.verify(batch.header.registry_root) {
        return Outcome::Rejected("InvalidRegistryProof");
    }
    match check_evidence(&signed.decision, &evidence.params, &evidence.entries) {
        Some(v) => Outcome::Proven { offence: v.offence.code(), attempt: v.attempt },
        None => Outcome::Rejected("NoViolation"),
    }
}

fn rejected(result: Result<routing_contracts::evm::Success, EvmError>) -> Outcome {
    use IRoutingSettlement::IRoutingSettlementErrors as E;
    match result {
        Ok(ok) => {
            let log = ok
                .logs
                .iter()
                .find_map(|l| IRoutingSettlement::MisroutingProven::decode_log(l).ok())
                .expect("a successful challenge emits MisroutingProven");
            Outcome::Proven { offence: log.offence, attempt: log.attempt }
        }
        Err(EvmError::Revert(data)) => Outcome::Rejected(match E::abi_decode(&data) {
            Ok(E::InvalidInclusionProof(_)) => "InvalidInclusionProof",
            Ok(E::InvalidSignature(_)) => "InvalidSignature",
            Ok(E::EntriesNotSorted(_)) => "EntriesNotSorted",
            Ok(E::InvalidRegistryProof(_)) => "InvalidRegistryProof",
            Ok(E::NoViolation(_)) => "NoViolation",
            other => {
                panic!("unexpected revert {other:?} (0x{})", alloy_primitives::hex::encode(&data))
            }
        }),
        Err(e) => panic!("challenge did not run: {e}"),
    }
}

#[test]
fn solidity_agrees_with_rust_verdict_by_verdict() {
    let (mut evm, routers) = devnet();
    let challenger = devnet::dev_address(5);
    let dom = domain(devnet::CHAIN_ID, devnet::SETTLEMENT);
    let mut runner = TestRunner::deterministic();
    let strategy = case_strategy();
    let mut prev = B256::ZERO;
    let mut tally: BTreeMap<Outcome, usize> = BTreeMap::new();
    let mut payload_tally: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut decisions = 0usize;

    for batch_id in 1..=BATCHES as u64 {
        let (registry, items) = strategy.new_tree(&mut runner).unwrap().current();
        let registry = Registry::new(
            batch_id,
            registry.params().clone(),
            registry.providers().to_vec(),
            vec![],
        )
        .unwrap();
        let mut cases = Vec::with_capacity(items.len());
        for (mut d, router, mask, tamper) in items {
            let key = &routers[router];
            // Route decisions belong to the key's router unless the mutation changed the router
            // (field 18), which makes the signature fail.
            if d.router == Address::ZERO {
                d.router = key.address();
            }
            if d.registry_epoch == 1 {
                d.registry_epoch = batch_id;
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
            registry.root(),
            cases.iter().map(|c| c.signed.clone()).collect(),
        )
        .unwrap();

        // A corrupted payload: Solidity must agree with Rust's decoder and root.
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
        let got = match evm.simulate(
            devnet::dev_address(0),
            devnet::SETTLEMENT,
            alloy_sol_types::SolCall::abi_encode(&call).into(),
        ) {
            Ok(_) => "Committed",
            Err(EvmError::Revert(data)) => {
                match IRoutingSettlement::IRoutingSettlementErrors::abi_decode(&data) {
                    Ok(IRoutingSettlement::IRoutingSettlementErrors::InvalidPayload(_)) => {
                        "InvalidPayload"
                    }
                    Ok(IRoutingSettlement::IRoutingSettlementErrors::CountMismatch(_)) => {
                        "CountMismatch"
                    }
                    Ok(IRoutingSettlement::IRoutingSettlementErrors::RootMismatch(_)) => {
                        "RootMismatch"
                    }
                    other => panic!("batch {batch_id}: unexpected commit revert {other:?}"),
                }
            }
            Err(e) => panic!("batch {batch_id}: commit did not run: {e}"),
        };
        assert_eq!(got, expected, "batch {batch_id}: corrupted payload");
        *payload_tally.entry(expected).or_default() += 1;

        // The real commit.
        let ok = evm
            .transact(
                devnet::dev_address(0),
                devnet::SETTLEMENT,
                alloy_sol_types::SolCall::abi_encode(&batch.commit_call()).into(),
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

            let mut evidence = if case.full_evidence {
                registry.full_evidence()
            } else {
                registry
                    .evidence(&arb::providers_by_mask(&registry, case.evidence_mask >> 1))
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
            let expected = predict(&batch, index, &inclusion.proof, &evidence);
            let call = misrouting_call(inclusion, &evidence);
            let got = rejected(evm.simulate(
                challenger,
                devnet::SETTLEMENT,
                alloy_sol_types::SolCall::abi_encode(&call).into(),
            ));
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
            Outcome::Proven { offence, attempt } => {
                format!("{:?} at {attempt}", Offence::from_code(*offence).unwrap())
            }
            Outcome::Rejected(r) => (*r).to_string(),
        };
        println!("{n:>6}  {name}");
    }
    println!("corrupted payloads: {payload_tally:?}");
    assert!(decisions >= 10_000);
    let proven: std::collections::BTreeSet<u8> = tally
        .keys()
        .filter_map(|o| match o {
            Outcome::Proven { offence, .. } => Some(*offence),
            _ => None,
        })
        .collect();
    let missing: Vec<_> = Offence::ALL.iter().filter(|o| !proven.contains(&o.code())).collect();
    assert!(missing.is_empty(), "offences never proven on-chain: {missing:?}");
    for r in [
        "NoViolation",
        "InvalidSignature",
        "InvalidInclusionProof",
        "InvalidRegistryProof",
        "EntriesNotSorted",
    ] {
        assert!(tally.contains_key(&Outcome::Rejected(r)), "no case ended in {r}");
    }
    for r in ["InvalidPayload", "RootMismatch"] {
        assert!(payload_tally.contains_key(r), "no corrupted payload ended in {r}");
    }
}
