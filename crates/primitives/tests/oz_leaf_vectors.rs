//! `Decision::leaf_hash` against OpenZeppelin's `StandardMerkleTree` leaf hashes of the Solidity
//! `RoutingDecision` struct (vectors from `scripts/merkle-vectors/generate.mjs`).

use alloy_primitives::{Address, B256};
use routing_primitives::{Attempt, Decision, FallbackTrigger, OutcomeClass, Request, Resolution};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VectorFile {
    sort_leaves: bool,
    decisions: Vec<StoredDecision>,
    root: B256,
    proofs: Vec<StoredProof>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDecision {
    request_id: B256,
    model_class: u32,
    submit_ms: u64,
    deadline_ms: u64,
    retry_budget: u8,
    attempts: Vec<StoredAttempt>,
    final_provider: Address,
    final_tier: u8,
    retry_count: u8,
    trigger: u8,
    resolution: u8,
    registry_epoch: u64,
    budget_tokens: u32,
    router: Address,
    leaf_hash: B256,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredAttempt {
    provider: Address,
    tier: u8,
    outcome: u8,
    latency_ms: u32,
}

#[derive(Deserialize)]
struct StoredProof {
    index: usize,
    proof: Vec<B256>,
}

impl StoredDecision {
    fn to_decision(&self) -> Decision {
        Decision {
            request: Request {
                id: self.request_id,
                model_class: self.model_class,
                submit_ms: self.submit_ms,
                deadline_ms: self.deadline_ms,
                retry_budget: self.retry_budget,
            },
            attempts: self
                .attempts
                .iter()
                .map(|a| Attempt {
                    provider: a.provider,
                    tier: a.tier,
                    outcome: OutcomeClass::try_from(a.outcome).unwrap(),
                    latency_ms: a.latency_ms,
                })
                .collect(),
            final_provider: self.final_provider,
            final_tier: self.final_tier,
            retry_count: self.retry_count,
            trigger: FallbackTrigger::try_from(self.trigger).unwrap(),
            resolution: Resolution::try_from(self.resolution).unwrap(),
            registry_epoch: self.registry_epoch,
            budget_tokens: self.budget_tokens,
            router: self.router,
        }
    }
}

fn load() -> VectorFile {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../merkle/tests/vectors/decision_leaves.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn decision_leaf_hashes_match_openzeppelin() {
    let file = load();
    assert!(!file.sort_leaves, "batches use the unsorted layout");
    assert_eq!(file.decisions.len(), 7);
    // The vectors cover no attempts up to four.
    let counts: Vec<usize> = file.decisions.iter().map(|d| d.attempts.len()).collect();
    assert!(counts.contains(&0) && counts.contains(&4), "{counts:?}");

    let leaves: Vec<B256> = file
        .decisions
        .iter()
        .enumerate()
        .map(|(i, stored)| {
            let leaf = stored.to_decision().leaf_hash();
            assert_eq!(leaf, stored.leaf_hash, "leaf hash of decision {i}");
            leaf
        })
        .collect();

    assert_eq!(routing_merkle::root(&leaves), Ok(file.root));
    let tree = routing_merkle::MerkleTree::from_leaves(leaves.clone()).unwrap();
    for stored in &file.proofs {
        assert_eq!(tree.proof(stored.index).unwrap(), stored.proof);
        assert!(routing_merkle::verify(&stored.proof, file.root, leaves[stored.index]));
    }
}
