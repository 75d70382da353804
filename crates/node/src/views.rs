//! Store records as RPC views.

use routing_rpc_api::{BatchState, BatchView, U64};
use routing_store::{BatchRecord, BatchStatus};

/// A batch record as `routing_getBatch` shows it.
pub(crate) fn batch_view(record: &BatchRecord) -> BatchView {
    let h = &record.header;
    let (state, transaction_hash, block) = match record.status {
        BatchStatus::Sealed => (BatchState::Sealed, None, None),
        BatchStatus::Posted { tx_hash, .. } => (BatchState::Posted, Some(tx_hash), None),
        BatchStatus::Committed { block, tx_hash, .. } => {
            (BatchState::Committed, Some(tx_hash), Some(block))
        }
    };
    BatchView {
        batch_id: U64::from(h.batch_id),
        header_hash: h.hash(),
        prev_hash: h.prev_hash,
        decisions_root: h.decisions_root,
        registry_root: h.registry_root,
        count: U64::from(h.count),
        state,
        sealed_at: U64::from(record.sealed_at_ms),
        transaction_hash,
        l2_block_number: block.map(|b| U64::from(b.number)),
        l2_block_hash: block.map(|b| b.hash),
    }
}
