//! Committed batches read from L2 chain data alone, through standard `eth_` calls: the
//! `BatchCommitted` log names the transaction, whose calldata is `commitBatch(header, payload)`;
//! the payload decodes to the signed decisions.

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::{Filter, TransactionRequest},
};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{SolCall, SolEvent};
use routing_primitives::{
    abi::sol::IRoutingSettlement::{self, BatchCommitted},
    payload, BatchHeader, SignedDecision,
};

/// Why chain data could not be read or does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The execution client failed or is unreachable.
    #[error("execution client: {0}")]
    Rpc(String),
    /// No `BatchCommitted` log for this batch id on the canonical chain.
    #[error("batch {0} is not committed on chain")]
    NotCommitted(u64),
    /// The chain data is there but does not decode or does not agree with itself.
    #[error("batch {batch}: {reason}")]
    Malformed {
        /// The batch.
        batch: u64,
        /// What is wrong.
        reason: String,
    },
}

fn rpc(e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(e.to_string())
}

/// A batch as committed on chain.
#[derive(Clone, Debug)]
pub struct ChainBatch {
    /// The header from the calldata, with the L2 block it landed in.
    pub header: BatchHeader,
    /// The header hash the `BatchCommitted` log carries.
    pub header_hash: B256,
    /// The commit transaction.
    pub tx_hash: B256,
    /// The L2 block of the commit.
    pub block_number: u64,
    /// The decisions decoded from the payload, in batch order.
    pub decisions: Vec<SignedDecision>,
}

/// Reads the settlement contract and its batches over JSON-RPC.
#[derive(Clone, Debug)]
pub struct ChainReader {
    provider: DynProvider,
    settlement: Address,
    chain_id: u64,
}

impl ChainReader {
    /// Connects to the execution client at `url` (http, https, ws or wss).
    pub async fn connect(url: &str, settlement: Address) -> Result<Self, ChainError> {
        let provider = ProviderBuilder::new().connect(url).await.map_err(rpc)?.erased();
        let chain_id = provider.get_chain_id().await.map_err(rpc)?;
        Ok(Self { provider, settlement, chain_id })
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The settlement contract.
    pub fn settlement(&self) -> Address {
        self.settlement
    }

    /// The provider (to send challenges through the same client).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    async fn view<C: SolCall>(&self, call: C) -> Result<C::Return, ChainError> {
        let tx = TransactionRequest::default().to(self.settlement).input(call.abi_encode().into());
        let out = self.provider.call(tx).await.map_err(rpc)?;
        C::abi_decode_returns(&out).map_err(rpc)
    }

    /// The id of the last committed batch (0 before the first).
    pub async fn last_batch_id(&self) -> Result<u64, ChainError> {
        self.view(IRoutingSettlement::lastBatchIdCall {}).await
    }

    /// The registry root committed with batch `batch_id` (zero if none is).
    pub async fn registry_root(&self, batch_id: u64) -> Result<B256, ChainError> {
        self.view(IRoutingSettlement::registryRootCall { batchId: batch_id }).await
    }

    /// Whether the misrouting offence of decision `leaf` was slashed already.
    pub async fn misrouting_slashed(&self, leaf: B256) -> Result<bool, ChainError> {
        self.view(IRoutingSettlement::misroutingSlashedCall { leaf }).await
    }

    /// Whether `router`'s duplicate decisions for `request_id` were slashed already.
    pub async fn duplicate_slashed(
        &self,
        router: Address,
        request_id: B256,
    ) -> Result<bool, ChainError> {
        self.view(IRoutingSettlement::duplicateSlashedCall { router, requestId: request_id }).await
    }

    /// Batch `batch_id` from its `BatchCommitted` log and its transaction's calldata; checks
    /// that the calldata's header hashes to the log's and that the payload decodes to as many
    /// decisions as the header counts.
    pub async fn batch(&self, batch_id: u64) -> Result<ChainBatch, ChainError> {
        let filter = Filter::new()
            .address(self.settlement)
            .event_signature(BatchCommitted::SIGNATURE_HASH)
            .topic1(B256::from(U256::from(batch_id)))
            .from_block(0u64);
        let logs = self.provider.get_logs(&filter).await.map_err(rpc)?;
        let log = logs.last().ok_or(ChainError::NotCommitted(batch_id))?;
        let malformed = |reason: String| ChainError::Malformed { batch: batch_id, reason };
        let header_hash =
            log.topics().get(2).copied().ok_or_else(|| {
                malformed("BatchCommitted log without a header hash topic".into())
            })?;
        let tx_hash = log.transaction_hash.ok_or_else(|| malformed("log without a tx".into()))?;
        let block_number =
            log.block_number.ok_or_else(|| malformed("log without a block".into()))?;
        // The raw transaction, so that OP deposit types elsewhere never matter.
        let tx: serde_json::Value = self
            .provider
            .raw_request("eth_getTransactionByHash".into(), (tx_hash,))
            .await
            .map_err(rpc)?;
        let input = tx
            .get("input")
            .and_then(|v| v.as_str())
            .ok_or_else(|| malformed(format!("transaction {tx_hash} not found")))?;
        let input = alloy_primitives::hex::decode(input)
            .map_err(|e| malformed(format!("transaction input is not hex: {e}")))?;
        let call = IRoutingSettlement::commitBatchCall::abi_decode(&input).map_err(|e| {
            malformed(format!("transaction {tx_hash} is not a commitBatch call: {e}"))
        })?;
        let h = &call.header;
        let header = BatchHeader {
            batch_id: h.batchId,
            prev_hash: h.prevHash,
            decisions_root: h.decisionsRoot,
            registry_root: h.registryRoot,
            count: h.count,
            l2_block_start: block_number,
            l2_block_end: block_number,
        };
        if header.batch_id != batch_id || header.hash() != header_hash {
            return Err(malformed(format!(
                "the calldata's header (batch {}, hash {}) is not the logged one ({header_hash})",
                header.batch_id,
                header.hash()
            )));
        }
        let decisions = payload::decode(batch_id, &call.payload)
            .map_err(|e| malformed(format!("the payload does not decode: {e}")))?;
        if decisions.len() != header.count as usize {
            return Err(malformed(format!(
                "the payload holds {} decisions, the header counts {}",
                decisions.len(),
                header.count
            )));
        }
        Ok(ChainBatch { header, header_hash, tx_hash, block_number, decisions })
    }
}
