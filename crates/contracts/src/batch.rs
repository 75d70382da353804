//! A sealed batch and the settlement calls made from it.

use alloy_primitives::{Bytes, B256};
use routing_merkle::{MerkleError, MerkleTree};
use routing_policy::Evidence;
use routing_primitives::{
    abi::sol::{self, IRoutingSettlement},
    parse_signature,
    payload::{self, PayloadError},
    BatchHeader, SignatureError, SignedDecision,
};

/// Why a batch cannot be sealed or an inclusion built.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The decisions do not fit the payload format.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The tree refused (no decisions, index out of range).
    #[error(transparent)]
    Merkle(#[from] MerkleError),
    /// A signature cannot be normalised.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// A batch ready to commit: its header, its decisions in batch order, the compact payload the
/// settlement contract decodes, and the Merkle tree its proofs come from.
#[derive(Clone, Debug)]
pub struct SealedBatch {
    /// The header (its L2 block range stays zero until the batch lands).
    pub header: BatchHeader,
    /// The decisions, in batch order.
    pub decisions: Vec<SignedDecision>,
    /// The compact payload (docs/batch-payload.md).
    pub payload: Bytes,
    tree: MerkleTree,
}

impl SealedBatch {
    /// Seals `decisions` as batch `batch_id`, chained to `prev_hash` and routed against the
    /// registry with root `registry_root`.
    pub fn seal(
        batch_id: u64,
        prev_hash: B256,
        registry_root: B256,
        decisions: Vec<SignedDecision>,
    ) -> Result<Self, SealError> {
        let payload = payload::encode(batch_id, &decisions)?;
        let tree =
            MerkleTree::from_leaves(decisions.iter().map(|d| d.decision.leaf_hash()).collect())?;
        let header = BatchHeader {
            batch_id,
            prev_hash,
            decisions_root: tree.root(),
            registry_root,
            count: u32::try_from(decisions.len()).expect("the payload caps a batch at 10,000"),
            l2_block_start: 0,
            l2_block_end: 0,
        };
        Ok(Self { header, decisions, payload: payload.into(), tree })
    }

    /// The header hash challenges name the batch by.
    pub fn hash(&self) -> B256 {
        self.header.hash()
    }

    /// The Merkle proof of decision `index`.
    pub fn proof(&self, index: usize) -> Result<Vec<B256>, SealError> {
        Ok(self.tree.proof(index)?)
    }

    /// `commitBatch(header, payload)`.
    pub fn commit_call(&self) -> IRoutingSettlement::commitBatchCall {
        IRoutingSettlement::commitBatchCall {
            header: (&self.header).into(),
            payload: self.payload.clone(),
        }
    }

    /// A gas limit for [`Self::commit_call`] computed from the calldata alone, so that a commit
    /// can be sent before the batch ahead of it has landed (estimating it then reverts: the
    /// contract wants batches in order). It is the larger of the standard cost and the
    /// EIP-7623 calldata floor, plus a fifth; unused gas is not charged.
    pub fn commit_gas_limit(&self) -> u64 {
        /// Execution other than the per-decision work: header checks, storage of the header.
        const EXEC_BASE: u64 = 80_000;
        /// Decoding, hashing and tree building per decision (about 2,400 measured at 100 and 1,200).
        const EXEC_PER_DECISION: u64 = 2_500;
        let data = alloy_sol_types::SolCall::abi_encode(&self.commit_call());
        let zeros = data.iter().filter(|b| **b == 0).count() as u64;
        let tokens = zeros + 4 * (data.len() as u64 - zeros);
        let floor = 21_000 + 10 * tokens;
        let standard =
            21_000 + 4 * tokens + EXEC_BASE + EXEC_PER_DECISION * u64::from(self.header.count);
        floor.max(standard) * 6 / 5
    }

    /// Decision `index` with its batch header, proof and signature, as challenges take it.
    pub fn inclusion(&self, index: usize) -> Result<sol::Inclusion, SealError> {
        let signed = self
            .decisions
            .get(index)
            .ok_or(MerkleError::IndexOutOfRange { index, len: self.decisions.len() })?;
        Ok(sol::Inclusion {
            header: (&self.header).into(),
            decision: (&signed.decision).into(),
            proof: self.proof(index)?,
            signature: onchain_signature(&signed.signature)?,
        })
    }
}

/// A 65-byte signature as OpenZeppelin's `ECDSA` takes it: `r || s || v` with `v` 27 or 28
/// (wallets and the wire also use 0 or 1).
pub fn onchain_signature(signature: &[u8]) -> Result<Bytes, SignatureError> {
    let sig = parse_signature(signature)?;
    let mut bytes = sig.as_bytes();
    bytes[64] = 27 + u8::from(sig.v());
    Ok(Bytes::from(bytes.to_vec()))
}

/// `challengeMisrouting(inclusion, evidence)`.
pub fn misrouting_call(
    inclusion: sol::Inclusion,
    evidence: &Evidence,
) -> IRoutingSettlement::challengeMisroutingCall {
    IRoutingSettlement::challengeMisroutingCall { inclusion, evidence: evidence.into() }
}

/// `challengeDuplicate(a, b)`.
pub fn duplicate_call(
    a: sol::Inclusion,
    b: sol::Inclusion,
) -> IRoutingSettlement::challengeDuplicateCall {
    IRoutingSettlement::challengeDuplicateCall { a, b }
}
