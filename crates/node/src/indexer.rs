//! The extension's block handler: `BatchCommitted` logs of the settlement contract mark batches
//! committed; reverted blocks send them back to the poster.

use crate::{metrics as m, now_ms, state::Shared, views::batch_view};
use alloy_sol_types::SolEvent;
use routing_exex::{Block, BlockHandler, BlockRef};
use routing_primitives::abi::sol::IRoutingSettlement::BatchCommitted;
use routing_rpc_api::{BatchEvent, BatchEventKind};
use routing_store::{Commit, StoreError};
use std::sync::Arc;

/// Applies blocks to the store.
#[derive(Debug)]
pub(crate) struct Indexer {
    shared: Arc<Shared>,
}

impl Indexer {
    pub(crate) const fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn commits(&self, block: &Block) -> Vec<Commit> {
        let settlement = self.shared.config.chain.settlement;
        block
            .logs
            .iter()
            .filter(|l| {
                l.address == settlement && l.topics.first() == Some(&BatchCommitted::SIGNATURE_HASH)
            })
            .filter_map(|l| {
                let batch_id = l.topics.get(1)?;
                let header_hash = *l.topics.get(2)?;
                Some(Commit {
                    batch_id: u64::try_from(alloy_primitives::U256::from_be_bytes(batch_id.0))
                        .ok()?,
                    header_hash,
                    tx_hash: l.transaction_hash,
                    log_index: l.log_index,
                })
            })
            .collect()
    }

    fn after_change(
        &self,
        head: BlockRef,
        batches: &[u64],
        kind: BatchEventKind,
    ) -> Result<(), StoreError> {
        self.shared.set_head(Some(head));
        let committed = self.shared.store.counts()?.committed;
        self.shared.set_committed_through(committed);
        metrics::gauge!(m::HEAD).set(head.number as f64);
        metrics::gauge!(m::COMMITTED_THROUGH).set(committed as f64);
        for &id in batches {
            if let Some(record) = self.shared.store.batch(id)? {
                if kind == BatchEventKind::Committed {
                    let waited = now_ms().saturating_sub(record.sealed_at_ms) as f64 / 1_000.0;
                    metrics::histogram!(m::SEQUENCED_SECONDS).record(waited);
                    tracing::info!(target: "routing::exex", batch = id, block = head.number, "committed");
                } else {
                    metrics::counter!(m::REVERTED).increment(1);
                    tracing::warn!(target: "routing::exex", batch = id, block = head.number, "commit reorged away; posting again");
                }
                let _ = self.shared.events.send(BatchEvent { kind, batch: batch_view(&record) });
            }
        }
        Ok(())
    }
}

impl BlockHandler for Indexer {
    type Error = StoreError;

    fn head(&self) -> Result<Option<BlockRef>, StoreError> {
        self.shared.store.head()
    }

    fn commit_block(&mut self, block: &Block) -> Result<(), StoreError> {
        let commits = self.commits(block);
        let foreign = self.shared.store.apply_block(block.block_ref(), &commits)?;
        for id in &foreign {
            tracing::error!(
                target: "routing::exex",
                batch = id,
                block = block.number,
                "a batch this node did not seal was committed (another sequencer?); it is not indexed"
            );
        }
        let ours: Vec<u64> =
            commits.iter().map(|c| c.batch_id).filter(|id| !foreign.contains(id)).collect();
        self.after_change(block.block_ref(), &ours, BatchEventKind::Committed)?;
        if !ours.is_empty() {
            self.shared.wake_poster();
        }
        Ok(())
    }

    fn revert_block(&mut self, block: &Block) -> Result<(), StoreError> {
        let reverted = self.shared.store.revert_block(block.block_ref(), block.parent_ref())?;
        self.after_change(block.parent_ref(), &reverted, BatchEventKind::Reverted)?;
        if !reverted.is_empty() {
            self.shared.wake_poster();
        }
        Ok(())
    }
}
