//! The records the store keeps, and their byte encodings.

use crate::{Result, StoreError};
use alloy_primitives::B256;
use routing_exex::BlockRef;
use routing_primitives::{BatchHeader, RlpDecodeExact, SignedDecision};
use serde::{Deserialize, Serialize};

/// Where a sealed decision sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    /// The batch.
    pub batch_id: u64,
    /// The decision's index in it (its Merkle leaf index).
    pub index: u32,
}

/// What a router gets back for an admitted decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    /// The request id.
    pub request_id: B256,
    /// The decision's Merkle leaf (its "decision hash").
    pub leaf: B256,
    /// Its admission sequence number: its place in the order decisions are sealed in.
    pub seq: u64,
    /// Its batch and index once sealed.
    pub position: Option<Position>,
    /// When it was admitted (Unix milliseconds).
    pub admitted_at_ms: u64,
}

/// An admitted decision with its receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDecision {
    /// The receipt.
    pub receipt: Receipt,
    /// The signed decision.
    pub signed: SignedDecision,
}

/// Where a batch is on its way to the chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum BatchStatus {
    /// Sealed; its commit transaction has not been sent (or its block was reorged away).
    Sealed,
    /// Its commit transaction was sent.
    Posted {
        /// The transaction.
        tx_hash: B256,
        /// Its nonce.
        nonce: u64,
        /// When it was sent (Unix milliseconds).
        posted_at_ms: u64,
    },
    /// Committed on the canonical chain.
    Committed {
        /// The block.
        block: BlockRef,
        /// The transaction.
        tx_hash: B256,
        /// The `BatchCommitted` log's index in the block.
        log_index: u64,
    },
}

/// A sealed batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchRecord {
    /// The header (its L2 block range is set once committed).
    pub header: BatchHeader,
    /// Its status.
    pub status: BatchStatus,
    /// When it was sealed (Unix milliseconds).
    pub sealed_at_ms: u64,
}

/// A `BatchCommitted` log seen in a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The committed batch id.
    pub batch_id: u64,
    /// Its header hash.
    pub header_hash: B256,
    /// The transaction that committed it.
    pub tx_hash: B256,
    /// The log's index in the block.
    pub log_index: u64,
}

const DECISION_HEADER: usize = 8 + 32 + 8 + 4 + 8;

/// `seq ‖ leaf ‖ batch id (0 = pending) ‖ index ‖ admitted at ‖ rlp`.
pub(crate) fn encode_decision(receipt: &Receipt, rlp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DECISION_HEADER + rlp.len());
    out.extend_from_slice(&receipt.seq.to_be_bytes());
    out.extend_from_slice(receipt.leaf.as_slice());
    let (batch, index) = receipt.position.map_or((0, 0), |p| (p.batch_id, p.index));
    out.extend_from_slice(&batch.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&receipt.admitted_at_ms.to_be_bytes());
    out.extend_from_slice(rlp);
    out
}

fn corrupt(reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt { table: "decisions", reason: reason.into() }
}

pub(crate) fn decode_decision(request_id: B256, bytes: &[u8]) -> Result<StoredDecision> {
    if bytes.len() < DECISION_HEADER {
        return Err(corrupt(format!("record of {request_id} is {} bytes", bytes.len())));
    }
    let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let batch_id = u64_at(40);
    let index = u32::from_be_bytes(bytes[48..52].try_into().expect("4 bytes"));
    let receipt = Receipt {
        request_id,
        seq: u64_at(0),
        leaf: B256::from_slice(&bytes[8..40]),
        position: (batch_id != 0).then_some(Position { batch_id, index }),
        admitted_at_ms: u64_at(52),
    };
    let signed = SignedDecision::rlp_decode_exact(&bytes[DECISION_HEADER..])
        .map_err(|e| corrupt(format!("{request_id}: {e}")))?;
    Ok(StoredDecision { receipt, signed })
}

/// The leaf of a stored decision record.
pub(crate) fn leaf_of(bytes: &[u8]) -> Result<B256> {
    bytes.get(8..40).map(B256::from_slice).ok_or_else(|| corrupt("short record"))
}

/// The record with its batch position set.
pub(crate) fn set_position(bytes: &[u8], position: Position) -> Result<Vec<u8>> {
    if bytes.len() < DECISION_HEADER {
        return Err(corrupt("short record"));
    }
    let mut out = bytes.to_vec();
    out[40..48].copy_from_slice(&position.batch_id.to_be_bytes());
    out[48..52].copy_from_slice(&position.index.to_be_bytes());
    Ok(out)
}

pub(crate) fn decode_batch(bytes: &[u8]) -> Result<BatchRecord> {
    serde_json::from_slice(bytes)
        .map_err(|e| StoreError::Corrupt { table: "batches", reason: e.to_string() })
}

pub(crate) fn encode_block_ref(b: &BlockRef) -> [u8; 40] {
    let mut out = [0u8; 40];
    out[..8].copy_from_slice(&b.number.to_be_bytes());
    out[8..].copy_from_slice(b.hash.as_slice());
    out
}

pub(crate) fn decode_block_ref(bytes: &[u8]) -> Result<BlockRef> {
    if bytes.len() != 40 {
        return Err(StoreError::Corrupt { table: "meta", reason: "head is not 40 bytes".into() });
    }
    Ok(BlockRef {
        number: u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")),
        hash: B256::from_slice(&bytes[8..]),
    })
}
