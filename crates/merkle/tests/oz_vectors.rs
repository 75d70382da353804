//! Checks the tree against vectors produced by OpenZeppelin's `@openzeppelin/merkle-tree`
//! (`scripts/merkle-vectors/generate.mjs`).

use alloy_primitives::{hex, keccak256, Address, B256, U256};
use routing_merkle::{
    process_multi_proof, process_proof, root, verify, verify_multi_proof, MerkleError, MerkleTree,
    MultiProof,
};
use serde::Deserialize;
use std::path::PathBuf;

const SIZES: [usize; 6] = [1, 2, 3, 7, 1200, 5000];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VectorFile {
    generator: String,
    leaf_encoding: Vec<String>,
    n: usize,
    values: Option<Vec<(String, Address)>>,
    leaves: Option<Vec<B256>>,
    leaves_concat: Option<String>,
    sorted: Layout,
    unsorted: Layout,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Layout {
    root: B256,
    proofs: Vec<StoredProof>,
    multi_proofs: Vec<StoredMultiProof>,
}

#[derive(Deserialize)]
struct StoredProof {
    index: usize,
    proof: Vec<B256>,
}

#[derive(Deserialize)]
struct StoredMultiProof {
    indices: Vec<usize>,
    #[serde(flatten)]
    multi_proof: MultiProof,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DecisionFile {
    decisions: Vec<StoredDecisionLeaf>,
    root: B256,
    proofs: Vec<StoredProof>,
    multi_proof: StoredMultiProof,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredDecisionLeaf {
    leaf_hash: B256,
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = vectors_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The address of value `i`: `((i + 1) * 0x9e37…276b) mod 2^160`, as generate.mjs derives it.
fn address_of(i: usize) -> Address {
    let multiplier = U256::from_be_slice(&hex!("9e3779b97f4a7c15f39cc0605cedc8341082276b"));
    let word = (U256::from(i + 1) * multiplier).to_be_bytes::<32>();
    Address::from_slice(&word[12..])
}

/// `keccak256(keccak256(abi.encode(uint256 i, address a)))`.
fn leaf_hash(i: usize, address: Address) -> B256 {
    let mut encoded = [0u8; 64];
    encoded[..32].copy_from_slice(&U256::from(i).to_be_bytes::<32>());
    encoded[44..].copy_from_slice(address.as_slice());
    keccak256(keccak256(encoded))
}

fn stored_leaves(file: &VectorFile) -> Vec<B256> {
    match (&file.leaves, &file.leaves_concat) {
        (Some(leaves), None) => leaves.clone(),
        (None, Some(concat)) => {
            let bytes = hex::decode(concat).expect("leavesConcat is hex");
            assert_eq!(bytes.len() % 32, 0);
            bytes.chunks_exact(32).map(B256::from_slice).collect()
        }
        _ => panic!("expected exactly one of leaves / leavesConcat"),
    }
}

fn check_layout(tree: &MerkleTree, layout: &Layout, leaves: &[B256], what: &str) {
    assert_eq!(tree.root(), layout.root, "{what}: root");
    assert_eq!(tree.len(), leaves.len());
    for (i, leaf) in leaves.iter().enumerate() {
        assert_eq!(tree.leaf(i), Some(*leaf), "{what}: leaf {i}");
    }
    assert!(!layout.proofs.is_empty());
    for stored in &layout.proofs {
        let proof = tree.proof(stored.index).unwrap();
        assert_eq!(proof, stored.proof, "{what}: proof of {}", stored.index);
        assert!(
            verify(&proof, layout.root, leaves[stored.index]),
            "{what}: verify {}",
            stored.index
        );
        assert_eq!(process_proof(leaves[stored.index], &stored.proof), layout.root);
    }
    // Every proof of the tree verifies, not just the stored sample.
    for (i, leaf) in leaves.iter().enumerate() {
        assert!(verify(&tree.proof(i).unwrap(), layout.root, *leaf), "{what}: verify {i}");
    }
    for stored in &layout.multi_proofs {
        let mp = tree.multi_proof(&stored.indices).unwrap();
        assert_eq!(mp, stored.multi_proof, "{what}: multiproof of {:?}", stored.indices);
        assert_eq!(process_multi_proof(&stored.multi_proof), Ok(layout.root));
        assert!(verify_multi_proof(&stored.multi_proof, layout.root));
        let mut expected: Vec<usize> = stored.indices.clone();
        expected.sort_unstable_by_key(|&i| std::cmp::Reverse(tree.tree_index(i).unwrap()));
        let expected_leaves: Vec<B256> = expected.iter().map(|&i| leaves[i]).collect();
        assert_eq!(mp.leaves, expected_leaves, "{what}: multiproof leaves in tree order");
    }
}

#[test]
fn uint256_address_vectors() {
    for n in SIZES {
        let file: VectorFile = load(&format!("uint256_address_n{n}.json"));
        assert!(file.generator.starts_with("@openzeppelin/merkle-tree@1.0."), "{}", file.generator);
        assert_eq!(file.leaf_encoding, ["uint256", "address"]);
        assert_eq!(file.n, n);

        if let Some(values) = &file.values {
            assert_eq!(values.len(), n);
            for (i, (number, address)) in values.iter().enumerate() {
                assert_eq!(*number, i.to_string());
                assert_eq!(*address, address_of(i), "address of value {i}");
            }
        }

        let leaves: Vec<B256> = (0..n).map(|i| leaf_hash(i, address_of(i))).collect();
        assert_eq!(leaves, stored_leaves(&file), "n={n}: leaf hashes");

        let unsorted = MerkleTree::from_leaves(leaves.clone()).unwrap();
        check_layout(&unsorted, &file.unsorted, &leaves, &format!("n={n} unsorted"));
        assert_eq!(root(&leaves), Ok(file.unsorted.root), "n={n}: fast root");

        let sorted = MerkleTree::from_leaves_sorted(leaves.clone()).unwrap();
        check_layout(&sorted, &file.sorted, &leaves, &format!("n={n} sorted"));

        if n == 1 {
            assert_eq!(file.unsorted.root, leaves[0]);
            assert_eq!(file.sorted.root, leaves[0]);
            assert!(file.unsorted.proofs[0].proof.is_empty());
            assert!(file.sorted.proofs[0].proof.is_empty());
        }
    }
}

#[test]
fn decision_tree_vectors() {
    let file: DecisionFile = load("decision_leaves.json");
    let leaves: Vec<B256> = file.decisions.iter().map(|d| d.leaf_hash).collect();
    assert_eq!(leaves.len(), 7);
    assert_eq!(root(&leaves), Ok(file.root));
    let tree = MerkleTree::from_leaves(leaves.clone()).unwrap();
    assert_eq!(tree.root(), file.root);
    for stored in &file.proofs {
        assert_eq!(tree.proof(stored.index).unwrap(), stored.proof);
        assert!(verify(&stored.proof, file.root, leaves[stored.index]));
    }
    assert_eq!(tree.multi_proof(&file.multi_proof.indices).unwrap(), file.multi_proof.multi_proof);
    assert!(verify_multi_proof(&file.multi_proof.multi_proof, file.root));
}

#[test]
fn empty_and_out_of_range() {
    assert_eq!(root(&[]), Err(MerkleError::Empty));
    let tree = MerkleTree::from_leaves(vec![B256::repeat_byte(1); 3]).unwrap();
    assert_eq!(tree.proof(3), Err(MerkleError::IndexOutOfRange { index: 3, len: 3 }));
}
