//! Admission: decode, verify the router's signature, check the registry epoch and the router's
//! stake, store durably, answer with a receipt.
//!
//! Signatures are verified in parallel (rayon, off the async runtime). Stored writes go through
//! one writer thread that commits whatever has queued up as one redb transaction (group
//! commit), so durability costs one fsync per group, not per decision; a caller hears back only
//! after its decisions are on disk.

use crate::{metrics as m, staking::StakingCheck, state::Shared};
use alloy_primitives::{Address, B256};
use jsonrpsee::types::ErrorObjectOwned;
use rayon::prelude::*;
use routing_primitives::{rlp, RlpDecodeExact, SignedDecision};
use routing_rpc_api::{codes, error, error_with, DecisionInput, DecisionReceipt};
use routing_store::{Admission, Admitted, Receipt};
use std::{collections::HashMap, sync::Arc, time::Instant};
use tokio::sync::oneshot;

/// One group of admissions waiting for the writer.
struct WriteJob {
    items: Vec<Admission>,
    reply: oneshot::Sender<Result<Vec<Admitted>, String>>,
}

/// Admits decisions.
#[derive(Clone)]
pub(crate) struct Admitter {
    shared: Arc<Shared>,
    staking: StakingCheck,
    writer: std::sync::mpsc::Sender<WriteJob>,
}

impl std::fmt::Debug for Admitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admitter").finish_non_exhaustive()
    }
}

/// The writer thread: commits queued admissions in groups until every sender is gone.
fn writer_loop(shared: &Shared, rx: &std::sync::mpsc::Receiver<WriteJob>) {
    const MAX_GROUP: usize = 16_384;
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let mut n = jobs[0].items.len();
        while n < MAX_GROUP {
            let Ok(job) = rx.try_recv() else { break };
            n += job.items.len();
            jobs.push(job);
        }
        let counts: Vec<usize> = jobs.iter().map(|j| j.items.len()).collect();
        let items: Vec<Admission> =
            jobs.iter_mut().flat_map(|j| std::mem::take(&mut j.items)).collect();
        let started = Instant::now();
        let result = shared.store.admit(&items, crate::now_ms());
        metrics::histogram!(m::STORE_COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
        match result {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                for (job, count) in jobs.into_iter().zip(counts) {
                    let _ = job.reply.send(Ok(outcomes.by_ref().take(count).collect()));
                }
                shared.wake_sealer();
            }
            Err(e) => {
                tracing::error!(target: "routing::admission", error = %e, "store write failed");
                for job in jobs {
                    let _ = job.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

/// A decision that decoded and whose signature verifies.
struct Verified {
    signed: SignedDecision,
    leaf: B256,
    rlp: Vec<u8>,
}

fn decode_and_verify(input: DecisionInput, separator: &B256) -> Result<Verified, ErrorObjectOwned> {
    let (signed, rlp) = match input {
        DecisionInput::Rlp(bytes) => {
            let signed = SignedDecision::rlp_decode_exact(&bytes).map_err(|e| {
                error(codes::INVALID_DECISION, format!("decision does not decode: {e}"))
            })?;
            (signed, bytes.to_vec())
        }
        DecisionInput::Json(signed) => {
            if signed.decision.attempts.len() > routing_primitives::MAX_ATTEMPTS {
                return Err(error(
                    codes::INVALID_DECISION,
                    format!(
                        "decision has {} attempts, at most {} are allowed",
                        signed.decision.attempts.len(),
                        routing_primitives::MAX_ATTEMPTS
                    ),
                ));
            }
            let rlp = rlp::encode(&*signed);
            (*signed, rlp)
        }
    };
    let leaf = signed.verify_with_separator(separator).map_err(|e| {
        error(
            codes::INVALID_SIGNATURE,
            format!("invalid signature for request {}: {e}", signed.decision.request.id),
        )
    })?;
    Ok(Verified { signed, leaf, rlp })
}

/// The receipt of a stored decision.
pub(crate) fn receipt_view(r: &Receipt, committed_through: u64) -> DecisionReceipt {
    use routing_rpc_api::{DecisionStatus, U64};
    let status = match r.position {
        None => DecisionStatus::Pending,
        Some(p) if p.batch_id <= committed_through => DecisionStatus::Committed,
        Some(_) => DecisionStatus::Sealed,
    };
    DecisionReceipt {
        request_id: r.request_id,
        decision_hash: r.leaf,
        sequence: U64::from(r.seq),
        status,
        batch_id: r.position.map(|p| U64::from(p.batch_id)),
        index: r.position.map(|p| U64::from(p.index)),
    }
}

impl Admitter {
    /// Starts the writer thread.
    pub(crate) fn new(shared: Arc<Shared>, staking: StakingCheck) -> std::io::Result<Self> {
        let (writer, rx) = std::sync::mpsc::channel();
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("routing-store-writer".into())
            .spawn(move || writer_loop(&thread_shared, &rx))?;
        Ok(Self { shared, staking, writer })
    }

    /// Admits `inputs` in order; one result per input.
    pub(crate) async fn submit(
        &self,
        inputs: Vec<DecisionInput>,
    ) -> Vec<Result<DecisionReceipt, ErrorObjectOwned>> {
        let started = Instant::now();
        let n = inputs.len();
        let separator = self.shared.separator;
        let verified: Vec<Result<Verified, ErrorObjectOwned>> = if n <= 4 {
            inputs.into_iter().map(|i| decode_and_verify(i, &separator)).collect()
        } else {
            match tokio::task::spawn_blocking(move || {
                inputs.into_par_iter().map(|i| decode_and_verify(i, &separator)).collect()
            })
            .await
            {
                Ok(v) => v,
                Err(e) => {
                    return vec![
                        Err(error(
                            codes::INTERNAL,
                            format!("verification task failed: {e}")
                        ));
                        n
                    ]
                }
            }
        };

        // Registry epochs and stake, per distinct router.
        let current = self.shared.open_epoch();
        let lag = self.shared.config.admission.max_epoch_lag;
        let mut active: HashMap<Address, Result<bool, ErrorObjectOwned>> = HashMap::new();
        if self.shared.config.admission.require_stake {
            for v in verified.iter().flatten() {
                let router = v.signed.decision.router;
                if let std::collections::hash_map::Entry::Vacant(slot) = active.entry(router) {
                    slot.insert(self.staking.is_active(router).await);
                }
            }
        }
        let mut results: Vec<Result<DecisionReceipt, ErrorObjectOwned>> = Vec::with_capacity(n);
        let mut to_store = Vec::with_capacity(n);
        let mut slots = Vec::with_capacity(n);
        for v in verified {
            let checked = v.and_then(|v| {
                let d = &v.signed.decision;
                let epoch = d.registry_epoch;
                if epoch > current || epoch == 0 {
                    return Err(error_with(
                        codes::REGISTRY_EPOCH,
                        format!("decision names registry epoch {epoch}, which is not open (the current epoch is {current})"),
                        serde_json::json!({ "currentEpoch": current }),
                    ));
                }
                if current - epoch > lag {
                    return Err(error_with(
                        codes::REGISTRY_EPOCH,
                        format!("decision names registry epoch {epoch}, older than the {lag} epochs the node accepts (the current epoch is {current})"),
                        serde_json::json!({ "currentEpoch": current, "maxEpochLag": lag }),
                    ));
                }
                match active.get(&d.router) {
                    None | Some(Ok(true)) => Ok(v),
                    Some(Ok(false)) => Err(error(
                        codes::ROUTER_NOT_ACTIVE,
                        format!("router {} is not actively staked (stake below the minimum, or jailed)", d.router),
                    )),
                    Some(Err(e)) => Err(e.clone()),
                }
            });
            match checked {
                Ok(v) => {
                    slots.push(Some(to_store.len()));
                    to_store.push(Admission { signed: v.signed, leaf: v.leaf, rlp: v.rlp });
                }
                Err(e) => {
                    metrics::counter!(m::REJECTED, "code" => e.code().to_string()).increment(1);
                    slots.push(None);
                    results.push(Err(e));
                }
            }
        }

        let stored = if to_store.is_empty() {
            Ok(Vec::new())
        } else {
            let (reply, rx) = oneshot::channel();
            if self.writer.send(WriteJob { items: to_store, reply }).is_err() {
                Err("the store writer has stopped".to_string())
            } else {
                rx.await.unwrap_or_else(|_| Err("the store writer has stopped".into()))
            }
        };
        let committed_through = self.shared.committed_through();
        let mut stored_iter = match stored {
            Ok(outcomes) => outcomes.into_iter().map(Ok).collect::<Vec<_>>().into_iter(),
            Err(e) => {
                let count = slots.iter().flatten().count();
                vec![Err(e); count].into_iter()
            }
        };
        let mut errors = results.into_iter();
        let mut out = Vec::with_capacity(n);
        for slot in slots {
            match slot {
                None => out.push(errors.next().expect("one error per refused slot")),
                Some(_) => out.push(match stored_iter.next().expect("one outcome per stored slot") {
                    Ok(Admitted::New(r)) => {
                        metrics::counter!(m::ADMITTED).increment(1);
                        Ok(receipt_view(&r, committed_through))
                    }
                    Ok(Admitted::Existing(r)) => {
                        metrics::counter!(m::DUPLICATES).increment(1);
                        Ok(receipt_view(&r, committed_through))
                    }
                    Ok(Admitted::Conflict { existing }) => {
                        metrics::counter!(m::REJECTED, "code" => codes::CONFLICTING_DECISION.to_string()).increment(1);
                        Err(error_with(
                            codes::CONFLICTING_DECISION,
                            format!(
                                "request {} already has a different decision (admitted as #{}); this one is refused and kept as evidence",
                                existing.request_id, existing.seq
                            ),
                            receipt_view(&existing, committed_through),
                        ))
                    }
                    Err(e) => Err(error(codes::INTERNAL, format!("storage failed: {e}"))),
                }),
            }
        }
        metrics::histogram!(m::SUBMIT_SECONDS).record(started.elapsed().as_secs_f64());
        out
    }
}
