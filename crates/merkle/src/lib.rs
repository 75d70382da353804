//! Merkle trees laid out exactly like OpenZeppelin's `StandardMerkleTree`
//! (`@openzeppelin/merkle-tree` 1.0.x), with single proofs and multiproofs that OpenZeppelin's
//! `MerkleProof.sol` verifies.
//!
//! # Layout
//!
//! A tree over `n` leaves is an array of `2n - 1` nodes. The leaves fill the end of the array in
//! reverse order (leaf `i` is node `2n - 2 - i`), node `k` has children `2k + 1` and `2k + 2`, and
//! the root is node `0`. Inner nodes use commutative hashing ([`hash_pair`]): the two children are
//! sorted before being concatenated and hashed, so a proof is just the list of sibling hashes and
//! carries no left/right bits.
//!
//! Leaves are expected to be hashed already, the `StandardMerkleTree` way:
//! `keccak256(bytes.concat(keccak256(abi.encode(value))))`. This crate never hashes leaves itself.
//!
//! # Which layout to use
//!
//! - **Batches use the unsorted layout**, [`MerkleTree::from_leaves`] and the allocation-light
//!   [`root`]: leaf order is batch order, so the root commits to the order decisions were made
//!   in, and a decision's proof index is simply its position in the batch. This is
//!   `StandardMerkleTree.of(values, types, { sortLeaves: false })`.
//! - [`MerkleTree::from_leaves_sorted`] reproduces `StandardMerkleTree`'s default
//!   (`sortLeaves: true`): leaf hashes are sorted ascending before the tree is built. Lookups
//!   ([`MerkleTree::leaf`], [`MerkleTree::proof`], [`MerkleTree::multi_proof`]) still take the
//!   *original* index, as `tree.getProof(i)` does in JavaScript.
//!
//! # Example
//!
//! ```
//! use alloy_primitives::{keccak256, B256};
//! use routing_merkle::{root, verify, verify_multi_proof, MerkleTree};
//!
//! // Leaves are already double-hashed: keccak256(keccak256(abi.encode(value))).
//! let leaves: Vec<B256> = (0u8..5).map(|i| keccak256(keccak256([i]))).collect();
//!
//! let tree = MerkleTree::from_leaves(leaves.clone()).unwrap();
//! assert_eq!(tree.root(), root(&leaves).unwrap());
//!
//! let proof = tree.proof(3).unwrap();
//! assert!(verify(&proof, tree.root(), leaves[3]));
//!
//! let multi = tree.multi_proof(&[0, 4]).unwrap();
//! assert!(verify_multi_proof(&multi, tree.root()));
//! ```
//!
//! ## Feature flags
//!
//! None. Hashing is `alloy_primitives::keccak256`; the workspace enables its `asm-keccak`
//! backend.

use alloy_primitives::{keccak256, B256};
use serde::{Deserialize, Serialize};

/// Errors building trees and proofs, and checking multiproofs.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    /// A tree needs at least one leaf.
    #[error("merkle tree has no leaves")]
    Empty,
    /// A leaf index is not in the tree.
    #[error("leaf index {index} out of range for {len} leaves")]
    IndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// Number of leaves in the tree.
        len: usize,
    },
    /// A multiproof was asked for the same leaf twice.
    #[error("duplicate leaf index {0} in multiproof")]
    DuplicateIndex(usize),
    /// A multiproof whose lengths or flags do not fit together (OpenZeppelin's
    /// `MerkleProofInvalidMultiproof`).
    #[error("invalid multiproof")]
    InvalidMultiProof,
}

/// A multiproof in OpenZeppelin's format, serialized like `getMultiProof`'s result
/// (`{ leaves, proof, proofFlags }`, hashes as `0x` hex).
///
/// `leaves` are the proven leaf hashes in tree order (descending tree index), which is the order
/// `MerkleProof.multiProofVerify` expects them in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MultiProof {
    /// The proven leaf hashes, in tree order.
    pub leaves: Vec<B256>,
    /// The sibling hashes the proven leaves do not supply themselves, in consumption order.
    pub proof: Vec<B256>,
    /// For each hashing step: `true` to take the second operand from the leaves/hashes queue,
    /// `false` to take it from `proof`.
    pub proof_flags: Vec<bool>,
}

/// Commutative node hash, OpenZeppelin's `Hashes.commutativeKeccak256`:
/// `keccak256(min(a, b) || max(a, b))`.
#[inline]
pub fn hash_pair(a: &B256, b: &B256) -> B256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// Folds a single proof into the root it implies for `leaf` (`MerkleProof.processProof`).
pub fn process_proof(leaf: B256, proof: &[B256]) -> B256 {
    proof.iter().fold(leaf, |acc, sibling| hash_pair(&acc, sibling))
}

/// Whether `proof` proves `leaf` under `root` (`MerkleProof.verify`).
pub fn verify(proof: &[B256], root: B256, leaf: B256) -> bool {
    process_proof(leaf, proof) == root
}

/// Rebuilds the root a multiproof implies, exactly like `MerkleProof.processMultiProof`: the
/// same inputs are accepted and rejected and the same root is returned.
///
/// Every step takes its first operand from a queue that starts with `leaves` and continues with
/// the hashes computed so far, and its second operand from that queue too when the step's flag is
/// set, or from `proof` otherwise. Fails with [`MerkleError::InvalidMultiProof`] where the
/// Solidity version reverts: when `leaves.len() + proof.len() != proof_flags.len() + 1`, when
/// `proof` runs out, or when it is not used up.
///
/// As in OpenZeppelin, a multiproof of no leaves (`leaves` and `proof_flags` empty, `proof`
/// holding one hash) "proves" that hash: it is returned as the root.
pub fn process_multi_proof(mp: &MultiProof) -> Result<B256, MerkleError> {
    let MultiProof { leaves, proof, proof_flags } = mp;
    if leaves.len() + proof.len() != proof_flags.len() + 1 {
        return Err(MerkleError::InvalidMultiProof);
    }
    if proof_flags.is_empty() {
        // One of the two is empty and the other holds exactly one hash.
        return Ok(leaves.first().or(proof.first()).copied().expect("lengths checked above"));
    }

    let mut hashes: Vec<B256> = Vec::with_capacity(proof_flags.len());
    let (mut leaf_pos, mut hash_pos, mut proof_pos) = (0usize, 0usize, 0usize);
    // Pops the next queue element: leaves first, then computed hashes. Reading a hash that has
    // not been computed yet cannot happen for input Solidity accepts (it would leave proof
    // elements unused), so it is rejected right away.
    let mut pop = |hashes: &[B256]| -> Result<B256, MerkleError> {
        if leaf_pos < leaves.len() {
            leaf_pos += 1;
            Ok(leaves[leaf_pos - 1])
        } else {
            let h = hashes.get(hash_pos).copied().ok_or(MerkleError::InvalidMultiProof)?;
            hash_pos += 1;
            Ok(h)
        }
    };
    for &flag in proof_flags {
        let a = pop(&hashes)?;
        let b = if flag {
            pop(&hashes)?
        } else {
            let p = proof.get(proof_pos).copied().ok_or(MerkleError::InvalidMultiProof)?;
            proof_pos += 1;
            p
        };
        hashes.push(hash_pair(&a, &b));
    }
    if proof_pos != proof.len() {
        return Err(MerkleError::InvalidMultiProof);
    }
    Ok(*hashes.last().expect("proof_flags is not empty"))
}

/// Whether a multiproof proves its leaves under `root` (`MerkleProof.multiProofVerify`).
/// Malformed multiproofs verify as `false`.
pub fn verify_multi_proof(mp: &MultiProof, root: B256) -> bool {
    process_multi_proof(mp).is_ok_and(|computed| computed == root)
}

/// Fills `inner`, the inner nodes `0..n-1` of a tree of `n = inner.len() + 1` leaves, bottom-up;
/// `leaf(k)` returns node `k` for the leaf nodes `k >= n - 1`.
#[inline]
fn fill_inner(inner: &mut [B256], leaf: impl Fn(usize) -> B256) {
    let first_leaf = inner.len();
    for k in (0..first_leaf).rev() {
        let (l, r) = (2 * k + 1, 2 * k + 2);
        // Children of an inner node are either both inner, both leaves, or (only for the one
        // node straddling the boundary) inner on the left and a leaf on the right.
        let left = if l < first_leaf { inner[l] } else { leaf(l) };
        let right = if r < first_leaf { inner[r] } else { leaf(r) };
        inner[k] = hash_pair(&left, &right);
    }
}

/// The root of the unsorted tree over `leaves` (batch order), without keeping the tree: equal to
/// `MerkleTree::from_leaves(leaves.to_vec())?.root()`, with one allocation for the inner nodes.
pub fn root(leaves: &[B256]) -> Result<B256, MerkleError> {
    let n = leaves.len();
    match n {
        0 => Err(MerkleError::Empty),
        1 => Ok(leaves[0]),
        _ => {
            let mut inner = vec![B256::ZERO; n - 1];
            // Node k >= n - 1 is leaf 2n - 2 - k.
            fill_inner(&mut inner, |k| leaves[2 * n - 2 - k]);
            Ok(inner[0])
        }
    }
}

/// A Merkle tree in `StandardMerkleTree`'s array layout, remembering where each original leaf
/// went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerkleTree {
    /// All `2n - 1` nodes; `nodes[0]` is the root.
    nodes: Vec<B256>,
    /// Number of leaves.
    len: usize,
    /// For the sorted layout, the tree position (`0..n`, tree order) of each original leaf;
    /// `None` when leaves are in their original order.
    positions: Option<Vec<usize>>,
}

impl MerkleTree {
    /// Builds the tree over already double-hashed leaf hashes in the given order (no sorting):
    /// leaf `i` becomes node `2n - 2 - i`. This is the layout batches use.
    pub fn from_leaves(leaves: Vec<B256>) -> Result<Self, MerkleError> {
        Self::build(leaves, None)
    }

    /// Builds the tree like `StandardMerkleTree.of` with its default `sortLeaves: true`: the leaf
    /// hashes are sorted ascending (stably) first. Lookups still take the original index.
    pub fn from_leaves_sorted(leaves: Vec<B256>) -> Result<Self, MerkleError> {
        let mut order: Vec<usize> = (0..leaves.len()).collect();
        // Stable, like JavaScript's `Array.prototype.sort`, so equal hashes keep their order.
        order.sort_by(|&a, &b| leaves[a].cmp(&leaves[b]));
        let sorted = order.iter().map(|&i| leaves[i]).collect();
        let mut positions = vec![0; leaves.len()];
        for (position, &original) in order.iter().enumerate() {
            positions[original] = position;
        }
        Self::build(sorted, Some(positions))
    }

    fn build(leaves: Vec<B256>, positions: Option<Vec<usize>>) -> Result<Self, MerkleError> {
        let n = leaves.len();
        if n == 0 {
            return Err(MerkleError::Empty);
        }
        let mut nodes = vec![B256::ZERO; 2 * n - 1];
        let (inner, leaf_nodes) = nodes.split_at_mut(n - 1);
        for (slot, leaf) in leaf_nodes.iter_mut().rev().zip(leaves) {
            *slot = leaf;
        }
        fill_inner(inner, |k| leaf_nodes[k - (n - 1)]);
        Ok(Self { nodes, len: n, positions })
    }

    /// The root, `nodes[0]`.
    pub fn root(&self) -> B256 {
        self.nodes[0]
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every node in the array layout (`2n - 1` of them, root first), as
    /// `StandardMerkleTree.dump().tree` lists them.
    pub fn nodes(&self) -> &[B256] {
        &self.nodes
    }

    /// The tree index (position in [`nodes`](Self::nodes)) of the leaf with original index
    /// `index`.
    pub fn tree_index(&self, index: usize) -> Result<usize, MerkleError> {
        if index >= self.len {
            return Err(MerkleError::IndexOutOfRange { index, len: self.len });
        }
        let position = self.positions.as_ref().map_or(index, |p| p[index]);
        Ok(self.nodes.len() - 1 - position)
    }

    /// The leaf hash with original index `index`.
    pub fn leaf(&self, index: usize) -> Option<B256> {
        self.tree_index(index).ok().map(|k| self.nodes[k])
    }

    /// The single proof of the leaf with original index `index`: sibling hashes from the leaf up
    /// to (not including) the root, as `tree.getProof(index)` returns it. Empty for a one-leaf
    /// tree, whose root is its leaf.
    pub fn proof(&self, index: usize) -> Result<Vec<B256>, MerkleError> {
        let mut k = self.tree_index(index)?;
        let mut proof =
            Vec::with_capacity(usize::BITS as usize - self.nodes.len().leading_zeros() as usize);
        while k > 0 {
            // Sibling of an odd (left) node is the next one, of an even (right) node the previous.
            let sibling = if k % 2 == 1 { k + 1 } else { k - 1 };
            proof.push(self.nodes[sibling]);
            k = (k - 1) / 2;
        }
        Ok(proof)
    }

    /// A multiproof of the leaves with the given original indices, exactly as OpenZeppelin's
    /// `getMultiProof` builds it: the leaves come out in tree order, whatever the order of
    /// `indices`. Fails on an out-of-range or repeated index.
    ///
    /// As in OpenZeppelin, no indices gives the trivial multiproof `{ leaves: [], proof: [root],
    /// proofFlags: [] }`.
    pub fn multi_proof(&self, indices: &[usize]) -> Result<MultiProof, MerkleError> {
        let mut tree_indices = indices
            .iter()
            .map(|&i| self.tree_index(i).map(|k| (k, i)))
            .collect::<Result<Vec<_>, _>>()?;
        // Descending tree index: the deepest, right-most leaves first.
        tree_indices.sort_unstable_by_key(|&(k, _)| std::cmp::Reverse(k));
        if let Some(w) = tree_indices.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(MerkleError::DuplicateIndex(w[0].1));
        }
        let leaves: Vec<B256> = tree_indices.iter().map(|&(k, _)| self.nodes[k]).collect();
        if tree_indices.is_empty() {
            return Ok(MultiProof { leaves, proof: vec![self.root()], proof_flags: Vec::new() });
        }

        // A FIFO queue of node indices: proven leaves first, then the parents as they are
        // reached. Indices in it only ever decrease, so a sibling can only be the next element.
        let mut queue: std::collections::VecDeque<usize> =
            tree_indices.iter().map(|&(k, _)| k).collect();
        let mut proof = Vec::new();
        let mut proof_flags = Vec::new();
        while let Some(&k) = queue.front() {
            if k == 0 {
                break;
            }
            queue.pop_front();
            let sibling = if k % 2 == 1 { k + 1 } else { k - 1 };
            if queue.front() == Some(&sibling) {
                proof_flags.push(true);
                queue.pop_front();
            } else {
                proof_flags.push(false);
                proof.push(self.nodes[sibling]);
            }
            queue.push_back((k - 1) / 2);
        }
        Ok(MultiProof { leaves, proof, proof_flags })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaf(i: u64) -> B256 {
        keccak256(keccak256(i.to_be_bytes()))
    }

    fn flip(h: B256, bit: usize) -> B256 {
        let mut bytes = h.0;
        bytes[bit / 8 % 32] ^= 1 << (bit % 8);
        B256::from(bytes)
    }

    #[test]
    fn hash_pair_is_commutative_and_sorted() {
        let (a, b) = (leaf(1), leaf(2));
        assert_eq!(hash_pair(&a, &b), hash_pair(&b, &a));
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        assert_eq!(hash_pair(&a, &b), keccak256([lo.as_slice(), hi.as_slice()].concat()));
    }

    #[test]
    fn empty_is_rejected() {
        assert_eq!(MerkleTree::from_leaves(vec![]), Err(MerkleError::Empty));
        assert_eq!(MerkleTree::from_leaves_sorted(vec![]), Err(MerkleError::Empty));
        assert_eq!(root(&[]), Err(MerkleError::Empty));
    }

    #[test]
    fn single_leaf_is_its_own_root() {
        let tree = MerkleTree::from_leaves(vec![leaf(7)]).unwrap();
        assert_eq!(tree.root(), leaf(7));
        assert_eq!(tree.proof(0).unwrap(), Vec::<B256>::new());
        assert!(verify(&[], tree.root(), leaf(7)));
        let mp = tree.multi_proof(&[0]).unwrap();
        assert_eq!(mp, MultiProof { leaves: vec![leaf(7)], proof: vec![], proof_flags: vec![] });
        assert!(verify_multi_proof(&mp, tree.root()));
    }

    #[test]
    fn layout_matches_the_array_definition() {
        let leaves: Vec<B256> = (0..5).map(leaf).collect();
        let tree = MerkleTree::from_leaves(leaves.clone()).unwrap();
        let nodes = tree.nodes();
        assert_eq!(nodes.len(), 9);
        for (i, l) in leaves.iter().enumerate() {
            assert_eq!(nodes[8 - i], *l);
        }
        for k in 0..4 {
            assert_eq!(nodes[k], hash_pair(&nodes[2 * k + 1], &nodes[2 * k + 2]));
        }
    }

    #[test]
    fn sorted_layout_keeps_original_indices() {
        let leaves: Vec<B256> = (0..9).map(leaf).collect();
        let tree = MerkleTree::from_leaves_sorted(leaves.clone()).unwrap();
        let mut sorted = leaves.clone();
        sorted.sort();
        assert_eq!(tree.root(), root(&sorted).unwrap());
        for (i, l) in leaves.iter().enumerate() {
            assert_eq!(tree.leaf(i), Some(*l));
            assert!(verify(&tree.proof(i).unwrap(), tree.root(), *l));
        }
        assert_eq!(tree.leaf(9), None);
    }

    #[test]
    fn errors() {
        let tree = MerkleTree::from_leaves((0..4).map(leaf).collect()).unwrap();
        assert_eq!(tree.proof(4), Err(MerkleError::IndexOutOfRange { index: 4, len: 4 }));
        assert_eq!(
            tree.multi_proof(&[1, 9]),
            Err(MerkleError::IndexOutOfRange { index: 9, len: 4 })
        );
        assert_eq!(tree.multi_proof(&[2, 0, 2]), Err(MerkleError::DuplicateIndex(2)));
        assert_eq!(MerkleError::InvalidMultiProof.to_string(), "invalid multiproof");
    }

    #[test]
    fn empty_multi_proof_is_the_root() {
        let tree = MerkleTree::from_leaves((0..4).map(leaf).collect()).unwrap();
        let mp = tree.multi_proof(&[]).unwrap();
        assert_eq!(mp.proof, vec![tree.root()]);
        assert!(verify_multi_proof(&mp, tree.root()));
    }

    #[test]
    fn malformed_multi_proofs_are_rejected() {
        let tree = MerkleTree::from_leaves((0..8).map(leaf).collect()).unwrap();
        let good = tree.multi_proof(&[1, 5, 6]).unwrap();
        assert_eq!(process_multi_proof(&good), Ok(tree.root()));

        let mut extra_flag = good.clone();
        extra_flag.proof_flags.push(false);
        assert_eq!(process_multi_proof(&extra_flag), Err(MerkleError::InvalidMultiProof));

        // Same lengths, but flags that consume more of `proof` than it holds, or leave part of
        // it unused.
        let falses = good.proof_flags.iter().filter(|f| !**f).count();
        assert!(falses > 0 && falses < good.proof_flags.len());
        let mut all_false = good.clone();
        all_false.proof_flags.iter_mut().for_each(|f| *f = false);
        assert_eq!(process_multi_proof(&all_false), Err(MerkleError::InvalidMultiProof));
        let mut all_true = good.clone();
        all_true.proof_flags.iter_mut().for_each(|f| *f = true);
        assert_eq!(process_multi_proof(&all_true), Err(MerkleError::InvalidMultiProof));

        let none = MultiProof::default();
        assert_eq!(process_multi_proof(&none), Err(MerkleError::InvalidMultiProof));
    }

    #[test]
    fn multi_proof_serde_is_camel_case_hex() {
        let tree = MerkleTree::from_leaves((0..3).map(leaf).collect()).unwrap();
        let mp = tree.multi_proof(&[0, 2]).unwrap();
        let json = serde_json::to_value(&mp).unwrap();
        assert!(json.get("proofFlags").is_some());
        assert!(json["leaves"][0].as_str().unwrap().starts_with("0x"));
        assert_eq!(serde_json::from_value::<MultiProof>(json).unwrap(), mp);
    }

    fn leaves_strategy() -> impl Strategy<Value = Vec<B256>> {
        prop::collection::vec(any::<[u8; 32]>().prop_map(B256::from), 1..300)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn proofs_verify_and_bit_flips_fail(
            leaves in leaves_strategy(),
            pick in any::<prop::sample::Index>(),
            bit in 0usize..256,
            sorted in any::<bool>(),
        ) {
            let tree = if sorted {
                MerkleTree::from_leaves_sorted(leaves.clone()).unwrap()
            } else {
                MerkleTree::from_leaves(leaves.clone()).unwrap()
            };
            if !sorted {
                prop_assert_eq!(root(&leaves).unwrap(), tree.root());
            }
            let r = tree.root();
            for (i, l) in leaves.iter().enumerate() {
                prop_assert!(verify(&tree.proof(i).unwrap(), r, *l));
            }
            let i = pick.index(leaves.len());
            let proof = tree.proof(i).unwrap();
            prop_assert!(!verify(&proof, r, flip(leaves[i], bit)));
            prop_assert!(!verify(&proof, flip(r, bit), leaves[i]));
            for j in 0..proof.len() {
                let mut bad = proof.clone();
                bad[j] = flip(bad[j], bit);
                prop_assert!(!verify(&bad, r, leaves[i]));
            }
        }

        #[test]
        fn multi_proofs_verify_and_bit_flips_fail(
            leaves in leaves_strategy(),
            picks in prop::collection::vec(any::<prop::sample::Index>(), 1..20),
            bit in 0usize..256,
            which in any::<prop::sample::Index>(),
            sorted in any::<bool>(),
        ) {
            let tree = if sorted {
                MerkleTree::from_leaves_sorted(leaves.clone()).unwrap()
            } else {
                MerkleTree::from_leaves(leaves.clone()).unwrap()
            };
            let mut indices: Vec<usize> = picks.iter().map(|p| p.index(leaves.len())).collect();
            indices.sort_unstable();
            indices.dedup();
            let mp = tree.multi_proof(&indices).unwrap();
            let r = tree.root();
            prop_assert_eq!(process_multi_proof(&mp), Ok(r));
            prop_assert_eq!(mp.leaves.len(), indices.len());
            prop_assert!(!verify_multi_proof(&mp, flip(r, bit)));
            // Flip one bit in one hash among the leaves and the proof.
            let total = mp.leaves.len() + mp.proof.len();
            let k = which.index(total);
            let mut bad = mp.clone();
            if k < bad.leaves.len() {
                bad.leaves[k] = flip(bad.leaves[k], bit);
            } else {
                let j = k - bad.leaves.len();
                bad.proof[j] = flip(bad.proof[j], bit);
            }
            prop_assert!(!verify_multi_proof(&bad, r));
        }
    }
}
