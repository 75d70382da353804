//! The batcher: the sealer turns pending decisions into batches (at `max_decisions`, or when
//! the oldest has waited `max_age_ms`), the poster sends each sealed batch to the settlement
//! contract and sends it again when its block is reorged away or its transaction is lost.

use crate::{metrics as m, now_ms, state::Shared, views::batch_view};
use alloy::{
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
};
use alloy_primitives::{Address, B256};
use alloy_sol_types::SolCall;
use routing_contracts::batch::SealedBatch;
use routing_primitives::{Decision, SignedDecision};
use routing_rpc_api::{BatchEvent, BatchEventKind};
use routing_store::{BatchRecord, BatchStatus};
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// What one look at the pending queue found.
enum Sealing {
    /// A batch was sealed (there may be more to seal).
    Sealed,
    /// Nothing is due; look again after this long (or when woken).
    Wait(Duration),
}

/// Seals the oldest pending decisions into the next batch if a batch is due.
fn seal_once(shared: &Shared) -> eyre::Result<Sealing> {
    let config = &shared.config.batcher;
    let idle = Duration::from_millis(config.max_age_ms.max(50));
    let pending = shared.store.pending(config.max_decisions)?;
    metrics::gauge!(m::PENDING).set(shared.store.counts()?.pending as f64);
    let Some(oldest) = pending.first() else { return Ok(Sealing::Wait(idle)) };
    let age = now_ms().saturating_sub(oldest.receipt.admitted_at_ms);
    if pending.len() < config.max_decisions && age < config.max_age_ms {
        return Ok(Sealing::Wait(Duration::from_millis(config.max_age_ms - age)));
    }
    let batch_id = shared.store.next_batch_id()?;
    let registry = shared.registry(batch_id)?.ok_or_else(|| {
        eyre::eyre!("no registry of epoch {batch_id} to seal batch {batch_id} with")
    })?;
    let prev = shared.store.last_header_hash()?;
    let mut signed: Vec<SignedDecision> = pending.into_iter().map(|d| d.signed).collect();
    let mut sealed = SealedBatch::seal(batch_id, prev, registry.root(), signed.clone())?;
    if config.max_payload_bytes > 0 {
        while sealed.payload.len() > config.max_payload_bytes && signed.len() > 1 {
            let keep = (signed.len() * config.max_payload_bytes / sealed.payload.len())
                .clamp(1, signed.len() - 1);
            signed.truncate(keep);
            sealed = SealedBatch::seal(batch_id, prev, registry.root(), signed.clone())?;
        }
    }
    let decisions: Vec<Decision> = signed.iter().map(|s| s.decision.clone()).collect();
    let next = registry.next(&decisions);
    let members: Vec<B256> = decisions.iter().map(|d| d.request.id).collect();
    let record = BatchRecord {
        header: sealed.header.clone(),
        status: BatchStatus::Sealed,
        sealed_at_ms: now_ms(),
    };
    shared.store.seal(&record, &members, &next.clone().into())?;
    shared.cache_registry(Arc::new(next));
    shared.set_open_epoch(batch_id + 1);
    metrics::counter!(m::SEALED).increment(1);
    tracing::info!(
        target: "routing::batcher",
        batch = batch_id,
        decisions = members.len(),
        payload_bytes = sealed.payload.len(),
        root = %sealed.header.decisions_root,
        "sealed"
    );
    let _ =
        shared.events.send(BatchEvent { kind: BatchEventKind::Sealed, batch: batch_view(&record) });
    shared.wake_poster();
    Ok(Sealing::Sealed)
}

/// Seals batches as they come due, until cancelled.
pub(crate) async fn run_sealer(shared: Arc<Shared>, cancel: CancellationToken) {
    loop {
        let worker = shared.clone();
        let wait = match tokio::task::spawn_blocking(move || seal_once(&worker)).await {
            Ok(Ok(Sealing::Sealed)) => continue,
            Ok(Ok(Sealing::Wait(wait))) => wait,
            Ok(Err(e)) => {
                tracing::error!(target: "routing::batcher", error = %e, "sealing failed; retrying");
                Duration::from_secs(1)
            }
            Err(e) => {
                tracing::error!(target: "routing::batcher", error = %e, "sealing task panicked; retrying");
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = shared.sealer_woken() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Sends commit transactions for sealed batches.
pub(crate) struct Poster {
    shared: Arc<Shared>,
    provider: DynProvider,
    sequencer: Address,
}

impl Poster {
    pub(crate) fn new(shared: Arc<Shared>, provider: DynProvider, sequencer: Address) -> Self {
        Self { shared, provider, sequencer }
    }

    /// Posts until cancelled: after every seal, commit and revert, and once a second.
    pub(crate) async fn run(self, cancel: CancellationToken) {
        loop {
            if let Err(e) = self.round().await {
                tracing::warn!(target: "routing::poster", error = %e, "posting round failed; retrying");
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = self.shared.poster_woken() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// One pass over the uncommitted batches, in id order: a batch whose transaction reverted
    /// or was lost (not mined within `repost_after_ms`), or whose block was reorged away, is
    /// sent again; a sealed one is sent while fewer than `max_in_flight` are in flight.
    async fn round(&self) -> eyre::Result<()> {
        let config = &self.shared.config.batcher;
        let store = &self.shared.store;
        let mut in_flight = 0usize;
        let mut nonce: Option<u64> = None;
        for record in store.uncommitted_batches()? {
            let id = record.header.batch_id;
            if let BatchStatus::Posted { tx_hash, posted_at_ms, .. } = record.status {
                match self.provider.get_transaction_receipt(tx_hash).await? {
                    Some(receipt) if receipt.status() => {
                        // Mined: the extension marks it committed when it applies the block.
                        in_flight += 1;
                        continue;
                    }
                    Some(_) => tracing::warn!(
                        target: "routing::poster",
                        batch = id,
                        tx = %tx_hash,
                        "commit transaction reverted (an earlier batch had not landed); sending again"
                    ),
                    None if now_ms().saturating_sub(posted_at_ms) < config.repost_after_ms => {
                        in_flight += 1;
                        continue;
                    }
                    None => tracing::warn!(
                        target: "routing::poster",
                        batch = id,
                        tx = %tx_hash,
                        "commit transaction not mined in time; sending again"
                    ),
                }
            } else if matches!(record.status, BatchStatus::Committed { .. }) {
                continue;
            }
            if in_flight >= config.max_in_flight {
                break;
            }
            let n = match nonce {
                Some(n) => n,
                None => self.provider.get_transaction_count(self.sequencer).pending().await?,
            };
            let tx_hash = self.post(&record, n).await?;
            store.mark_posted(id, tx_hash, n, now_ms())?;
            nonce = Some(n + 1);
            in_flight += 1;
        }
        Ok(())
    }

    /// Sends `commitBatch` for `record` with nonce `nonce`.
    async fn post(&self, record: &BatchRecord, nonce: u64) -> eyre::Result<B256> {
        let id = record.header.batch_id;
        let worker = self.shared.clone();
        let header = record.header.clone();
        let call = tokio::task::spawn_blocking(move || -> eyre::Result<_> {
            let signed: Vec<SignedDecision> =
                worker.store.batch_decisions(id)?.into_iter().map(|d| d.signed).collect();
            let sealed = SealedBatch::seal(id, header.prev_hash, header.registry_root, signed)?;
            eyre::ensure!(
                sealed.header.hash() == header.hash(),
                "batch {id}'s stored decisions no longer give its header"
            );
            Ok((sealed.commit_call(), sealed.commit_gas_limit()))
        })
        .await??;
        let (call, gas_limit) = call;
        // The gas limit is set, not estimated: a commit sent behind one still in flight would
        // fail estimation (the contract takes batches in order) although it lands fine after it.
        let tx = TransactionRequest::default()
            .from(self.sequencer)
            .to(self.shared.config.chain.settlement)
            .nonce(nonce)
            .gas_limit(gas_limit)
            .input(call.abi_encode().into());
        let pending = self.provider.send_transaction(tx).await?;
        let hash = *pending.tx_hash();
        metrics::counter!(m::POSTED).increment(1);
        tracing::info!(target: "routing::poster", batch = id, nonce, tx = %hash, "posted");
        Ok(hash)
    }
}
