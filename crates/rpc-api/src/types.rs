//! Request and response types of the `routing_` namespace.

use alloy_primitives::{Bytes, B256, U64};
use jsonrpsee::types::ErrorObjectOwned;
use routing_policy::{RegistryData, Violation};
use routing_primitives::SignedDecision;
use serde::{Deserialize, Serialize};

/// A decision as submitted: its RLP encoding as `0x` data (compact, what routers built on the
/// Rust crates send), or the signed decision as a JSON object
/// (`{"decision": {...}, "signature": "0x..."}`, the field names of
/// `routing_primitives::SignedDecision`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DecisionInput {
    /// `rlp(SignedDecision)` as `0x` hex.
    Rlp(Bytes),
    /// The signed decision as JSON.
    Json(Box<SignedDecision>),
}

/// Where an admitted decision is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum DecisionStatus {
    /// Admitted, waiting for a batch.
    Pending,
    /// In a sealed batch not yet committed on the canonical chain.
    Sealed,
    /// In a batch committed on the canonical chain.
    Committed,
}

/// What an admitted decision's router gets back at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionReceipt {
    /// The request id.
    pub request_id: B256,
    /// The decision hash: its Merkle leaf, the key challenges use.
    pub decision_hash: B256,
    /// Its position in the order decisions are sequenced (admission order).
    pub sequence: U64,
    /// Where it is now.
    pub status: DecisionStatus,
    /// Its batch, once sealed.
    pub batch_id: Option<U64>,
    /// Its index in the batch (the Merkle leaf index), once sealed.
    pub index: Option<U64>,
}

/// One result of `routing_submitDecisions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubmitResult {
    /// Admitted (or admitted before): the receipt.
    Receipt(DecisionReceipt),
    /// Refused: the error, as a JSON-RPC error object.
    Error(ErrorObjectOwned),
}

/// An admitted decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionView {
    /// Its receipt, current.
    pub receipt: DecisionReceipt,
    /// The signed decision.
    pub decision: SignedDecision,
    /// When it was admitted (Unix milliseconds).
    pub admitted_at: U64,
}

/// Where a batch is on its way to the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BatchState {
    /// Sealed; its commit transaction not sent yet (or its block was reorged away).
    Sealed,
    /// Its commit transaction was sent.
    Posted,
    /// Committed on the canonical chain.
    Committed,
}

/// A sealed batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchView {
    /// Batch id (also the registry epoch its header commits).
    pub batch_id: U64,
    /// Header hash: how challenges name the batch.
    pub header_hash: B256,
    /// The previous header's hash.
    pub prev_hash: B256,
    /// Merkle root of the decisions.
    pub decisions_root: B256,
    /// Root of registry epoch `batchId`.
    pub registry_root: B256,
    /// Number of decisions.
    pub count: U64,
    /// Where it is.
    pub state: BatchState,
    /// When it was sealed (Unix milliseconds).
    pub sealed_at: U64,
    /// The commit transaction, once sent.
    pub transaction_hash: Option<B256>,
    /// The L2 block that committed it, once committed.
    pub l2_block_number: Option<U64>,
    /// That block's hash.
    pub l2_block_hash: Option<B256>,
}

/// One decision of a batch page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchDecision {
    /// Index in the batch.
    pub index: U64,
    /// Decision hash (leaf).
    pub decision_hash: B256,
    /// The signed decision.
    pub decision: SignedDecision,
}

/// A page of a batch's decisions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionsPage {
    /// The batch.
    pub batch_id: U64,
    /// Decisions in the batch.
    pub total: U64,
    /// The first index on this page.
    pub offset: U64,
    /// The decisions.
    pub decisions: Vec<BatchDecision>,
    /// The offset of the next page, if any.
    pub next_offset: Option<U64>,
}

/// A decision's Merkle proof and where its batch is committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofView {
    /// The request id.
    pub request_id: B256,
    /// The leaf (decision hash).
    pub leaf: B256,
    /// The batch.
    pub batch_id: U64,
    /// The leaf's index.
    pub index: U64,
    /// Sibling hashes from the leaf up, as `MerkleProof.verify(proof, root, leaf)` takes them.
    pub proof: Vec<B256>,
    /// The batch's decisions root.
    pub root: B256,
    /// The batch's header hash.
    pub header_hash: B256,
    /// Whether the batch is committed on the canonical chain.
    pub committed: bool,
    /// The L2 block that committed it.
    pub l2_block_number: Option<U64>,
    /// That block's hash.
    pub l2_block_hash: Option<B256>,
    /// The commit transaction.
    pub transaction_hash: Option<B256>,
}

/// A rule broken by a decision of a replayed batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingView {
    /// The decision's index.
    pub index: U64,
    /// Its leaf.
    pub leaf: B256,
    /// The rule and its details.
    pub violation: Violation,
}

/// A replayed batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplayView {
    /// The batch.
    pub batch_id: U64,
    /// The root recomputed from the stored decisions.
    pub decisions_root: B256,
    /// Whether it equals the header's (and so the on-chain) root.
    pub root_matches: bool,
    /// The root of the batch's registry.
    pub registry_root: B256,
    /// The root of the next registry, recomputed.
    pub next_registry_root: B256,
    /// Whether the next batch's stored registry root equals it (absent before that batch).
    pub next_registry_matches: Option<bool>,
    /// Whether no rule is broken.
    pub clean: bool,
    /// Every rule broken, in batch order.
    pub findings: Vec<FindingView>,
}

/// A registry snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryView {
    /// Its epoch (the batch id whose header commits it).
    pub epoch: U64,
    /// Its root.
    pub root: B256,
    /// Its content.
    pub registry: RegistryData,
}

/// A block by number and hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    /// Number.
    pub number: U64,
    /// Hash.
    pub hash: B256,
}

/// The node's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    /// The L2 chain id.
    pub chain_id: U64,
    /// The settlement contract.
    pub settlement: alloy_primitives::Address,
    /// The last block the extension applied.
    pub head: Option<BlockView>,
    /// The highest block the extension has finished (persisted).
    pub finished_height: Option<U64>,
    /// The execution client's latest block, as last seen.
    pub chain_tip: Option<U64>,
    /// Blocks the extension is behind the execution client.
    pub lag_blocks: U64,
    /// Decisions admitted.
    pub decisions: U64,
    /// Decisions waiting for a batch.
    pub pending: U64,
    /// Batches sealed.
    pub sealed_batches: U64,
    /// Batches committed on the canonical chain.
    pub committed_batches: U64,
    /// Sealed batches not committed yet.
    pub uncommitted_batches: U64,
    /// The id the next batch gets (and the registry epoch decisions are routed against now).
    pub next_batch_id: U64,
    /// Conflicting decisions refused and kept as evidence.
    pub conflicts: U64,
}

/// A batch event of `routing_subscribeBatches`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchEvent {
    /// What happened.
    pub kind: BatchEventKind,
    /// The batch, as it is now.
    pub batch: BatchView,
}

/// What happened to a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BatchEventKind {
    /// Sealed from pending decisions.
    Sealed,
    /// Committed in a canonical block.
    Committed,
    /// Its block left the canonical chain: it waits for a commit again.
    Reverted,
}
