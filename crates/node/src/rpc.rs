//! The `routing_` JSON-RPC server.

use crate::{
    admission::{receipt_view, Admitter},
    state::Shared,
    views::batch_view,
};
use alloy_primitives::B256;
use jsonrpsee::{
    core::{async_trait, SubscriptionResult},
    types::ErrorObjectOwned,
    PendingSubscriptionSink, SubscriptionMessage,
};
use routing_merkle::MerkleTree;
use routing_policy::replay_signed_epochs;
use routing_rpc_api::{
    codes, error, BatchDecision, BatchView, BlockView, DecisionInput, DecisionReceipt,
    DecisionView, DecisionsPage, FindingView, ProofView, RegistryView, ReplayView,
    RoutingApiServer, StatusView, SubmitResult, U64,
};
use routing_store::{BatchStatus, StoreError};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use tokio::sync::broadcast::error::RecvError;

/// Trees of recently proven batches (a proof of a 1,200-decision batch from a cached tree costs
/// microseconds; building the tree about half a millisecond).
const TREE_CACHE: usize = 32;

/// The server.
pub(crate) struct RpcServer {
    shared: Arc<Shared>,
    admitter: Admitter,
    trees: Mutex<HashMap<u64, Arc<MerkleTree>>>,
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    error(codes::INTERNAL, format!("storage failed: {e}"))
}

fn unknown_batch(id: u64) -> ErrorObjectOwned {
    error(codes::UNKNOWN_BATCH, format!("no batch {id}"))
}

impl RpcServer {
    pub(crate) fn new(shared: Arc<Shared>, admitter: Admitter) -> Self {
        Self { shared, admitter, trees: Mutex::new(HashMap::new()) }
    }

    fn tree(&self, batch_id: u64) -> Result<Arc<MerkleTree>, ErrorObjectOwned> {
        if let Some(t) = self.trees.lock().expect("not poisoned").get(&batch_id) {
            return Ok(t.clone());
        }
        let leaves = self.shared.store.batch_leaves(batch_id).map_err(internal)?;
        let tree = Arc::new(MerkleTree::from_leaves(leaves).map_err(|_| unknown_batch(batch_id))?);
        let mut trees = self.trees.lock().expect("not poisoned");
        if trees.len() >= TREE_CACHE {
            if let Some(&oldest) = trees.keys().min() {
                trees.remove(&oldest);
            }
        }
        trees.insert(batch_id, tree.clone());
        Ok(tree)
    }

    fn batch_record(&self, id: u64) -> Result<routing_store::BatchRecord, ErrorObjectOwned> {
        self.shared.store.batch(id).map_err(internal)?.ok_or_else(|| unknown_batch(id))
    }
}

#[async_trait]
impl RoutingApiServer for RpcServer {
    async fn submit_decision(
        &self,
        decision: DecisionInput,
    ) -> Result<DecisionReceipt, ErrorObjectOwned> {
        self.admitter.submit(vec![decision]).await.pop().expect("one result per decision")
    }

    async fn submit_decisions(
        &self,
        decisions: Vec<DecisionInput>,
    ) -> Result<Vec<SubmitResult>, ErrorObjectOwned> {
        let max = self.shared.config.rpc.max_decisions_per_call;
        if decisions.len() > max {
            return Err(error(
                codes::TOO_MANY_DECISIONS,
                format!("{} decisions in one call, at most {max} are allowed", decisions.len()),
            ));
        }
        Ok(self
            .admitter
            .submit(decisions)
            .await
            .into_iter()
            .map(|r| match r {
                Ok(receipt) => SubmitResult::Receipt(receipt),
                Err(e) => SubmitResult::Error(e),
            })
            .collect())
    }

    async fn get_decision(&self, request_id: B256) -> Result<DecisionView, ErrorObjectOwned> {
        let stored =
            self.shared.store.decision(request_id).map_err(internal)?.ok_or_else(|| {
                error(codes::UNKNOWN_DECISION, format!("no decision for request {request_id}"))
            })?;
        Ok(DecisionView {
            receipt: receipt_view(&stored.receipt, self.shared.committed_through()),
            admitted_at: U64::from(stored.receipt.admitted_at_ms),
            decision: stored.signed,
        })
    }

    async fn get_batch(&self, batch_id: U64) -> Result<BatchView, ErrorObjectOwned> {
        Ok(batch_view(&self.batch_record(batch_id.to())?))
    }

    async fn get_batch_decisions(
        &self,
        batch_id: U64,
        offset: Option<U64>,
        limit: Option<U64>,
    ) -> Result<DecisionsPage, ErrorObjectOwned> {
        let id: u64 = batch_id.to();
        let record = self.batch_record(id)?;
        let total = u64::from(record.header.count);
        let offset: u64 = offset.map_or(0, |o| o.saturating_to());
        let limit = limit.map_or(1_000, |l| l.saturating_to::<u64>()).clamp(1, 1_000);
        if offset > total {
            return Err(error(
                codes::INVALID_PARAMS,
                format!("offset {offset} is past the batch's {total} decisions"),
            ));
        }
        let offset32 = u32::try_from(offset).expect("offset <= count, a u32");
        let members =
            self.shared.store.batch_members(id, offset32, limit as usize).map_err(internal)?;
        let mut decisions = Vec::with_capacity(members.len());
        for (i, request_id) in members.iter().enumerate() {
            let stored =
                self.shared.store.decision(*request_id).map_err(internal)?.ok_or_else(|| {
                    internal(StoreError::Corrupt {
                        table: "decisions",
                        reason: format!("{request_id} missing"),
                    })
                })?;
            decisions.push(BatchDecision {
                index: U64::from(offset + i as u64),
                decision_hash: stored.receipt.leaf,
                decision: stored.signed,
            });
        }
        let end = offset + decisions.len() as u64;
        Ok(DecisionsPage {
            batch_id,
            total: U64::from(total),
            offset: U64::from(offset),
            decisions,
            next_offset: (end < total).then(|| U64::from(end)),
        })
    }

    async fn get_proof(&self, request_id: B256) -> Result<ProofView, ErrorObjectOwned> {
        let stored =
            self.shared.store.decision(request_id).map_err(internal)?.ok_or_else(|| {
                error(codes::UNKNOWN_DECISION, format!("no decision for request {request_id}"))
            })?;
        let position = stored.receipt.position.ok_or_else(|| {
            error(codes::NOT_SEALED, format!("request {request_id}'s decision is pending: it has no batch, and no proof, yet"))
        })?;
        let record = self.batch_record(position.batch_id)?;
        let tree = self.tree(position.batch_id)?;
        let proof = tree.proof(position.index as usize).map_err(internal)?;
        let (committed, block, tx) = match record.status {
            BatchStatus::Committed { block, tx_hash, .. } => (true, Some(block), Some(tx_hash)),
            BatchStatus::Posted { tx_hash, .. } => (false, None, Some(tx_hash)),
            BatchStatus::Sealed => (false, None, None),
        };
        Ok(ProofView {
            request_id,
            leaf: stored.receipt.leaf,
            batch_id: U64::from(position.batch_id),
            index: U64::from(position.index),
            proof,
            root: record.header.decisions_root,
            header_hash: record.header.hash(),
            committed,
            l2_block_number: block.map(|b| U64::from(b.number)),
            l2_block_hash: block.map(|b| b.hash),
            transaction_hash: tx,
        })
    }

    async fn replay_batch(&self, batch_id: U64) -> Result<ReplayView, ErrorObjectOwned> {
        let id: u64 = batch_id.to();
        let record = self.batch_record(id)?;
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let batch: Vec<_> = shared
                .store
                .batch_decisions(id)
                .map_err(internal)?
                .into_iter()
                .map(|d| d.signed)
                .collect();
            let registry = shared.registry(id).map_err(internal)?.ok_or_else(|| {
                error(codes::UNKNOWN_REGISTRY, format!("no registry of epoch {id}"))
            })?;
            // Registries of the epochs the decisions name, loaded once each.
            let mut registries = HashMap::new();
            for d in &batch {
                let e = d.decision.registry_epoch;
                if e <= id && !registries.contains_key(&e) {
                    if let Some(r) = shared.registry(e).map_err(internal)? {
                        registries.insert(e, r);
                    }
                }
            }
            let domain =
                routing_primitives::domain(shared.chain_id, shared.config.chain.settlement);
            let replay = replay_signed_epochs(
                &batch,
                &registry,
                |e| registries.get(&e).map(|r| &**r),
                &domain,
            );
            let next_stored = shared.store.registry(id + 1).map_err(internal)?;
            let next_registry_matches = next_stored
                .map(|data| {
                    routing_policy::Registry::try_from(data)
                        .map(|r| r.root() == replay.next_registry_root)
                })
                .transpose()
                .map_err(internal)?;
            Ok(ReplayView {
                batch_id,
                decisions_root: replay.decisions_root,
                root_matches: replay.decisions_root == record.header.decisions_root,
                registry_root: replay.registry_root,
                next_registry_root: replay.next_registry_root,
                next_registry_matches,
                clean: replay.is_clean(),
                findings: replay
                    .findings
                    .into_iter()
                    .map(|f| FindingView {
                        index: U64::from(f.index),
                        leaf: f.leaf,
                        violation: f.violation,
                    })
                    .collect(),
            })
        })
        .await
        .map_err(|e| error(codes::INTERNAL, format!("replay task failed: {e}")))?
    }

    async fn get_registry(&self, epoch: Option<U64>) -> Result<RegistryView, ErrorObjectOwned> {
        let epoch: u64 = epoch.map_or_else(|| self.shared.open_epoch(), |e| e.saturating_to());
        let registry = self.shared.registry(epoch).map_err(internal)?.ok_or_else(|| {
            error(codes::UNKNOWN_REGISTRY, format!("no registry of epoch {epoch}"))
        })?;
        Ok(RegistryView {
            epoch: U64::from(epoch),
            root: registry.root(),
            registry: (*registry).clone().into(),
        })
    }

    async fn status(&self) -> Result<StatusView, ErrorObjectOwned> {
        let counts = self.shared.store.counts().map_err(internal)?;
        let head = self.shared.head();
        let tip = self.shared.chain_tip();
        let head_number = head.map_or(0, |h| h.number);
        Ok(StatusView {
            chain_id: U64::from(self.shared.chain_id),
            settlement: self.shared.config.chain.settlement,
            head: head.map(|h| BlockView { number: U64::from(h.number), hash: h.hash }),
            finished_height: head.map(|h| U64::from(h.number)),
            chain_tip: (tip > 0).then(|| U64::from(tip)),
            lag_blocks: U64::from(tip.saturating_sub(head_number)),
            decisions: U64::from(counts.decisions),
            pending: U64::from(counts.pending),
            sealed_batches: U64::from(counts.batches),
            committed_batches: U64::from(counts.committed),
            uncommitted_batches: U64::from(counts.batches - counts.committed.min(counts.batches)),
            next_batch_id: U64::from(self.shared.open_epoch()),
            conflicts: U64::from(counts.conflicts),
        })
    }

    async fn subscribe_batches(&self, pending: PendingSubscriptionSink) -> SubscriptionResult {
        let mut events = self.shared.events.subscribe();
        let sink = pending.accept().await?;
        loop {
            tokio::select! {
                () = sink.closed() => return Ok(()),
                event = events.recv() => match event {
                    Ok(event) => {
                        let msg = SubscriptionMessage::from(serde_json::value::to_raw_value(&event)?);
                        if sink.send(msg).await.is_err() {
                            return Ok(());
                        }
                    }
                    // A slow subscriber skips what it missed; it never holds the node up.
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(target: "routing::rpc", missed, "subscriber lagged");
                    }
                    Err(RecvError::Closed) => return Ok(()),
                },
            }
        }
    }
}
