//! Sending a challenge with a wallet key.

use crate::ChallengeTx;
use alloy::{
    network::EthereumWallet,
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
};
use alloy_primitives::{Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::SolEvent;
use routing_primitives::abi::sol::IRoutingSettlement::{DuplicateProven, MisroutingProven};
use serde::Serialize;

/// What a mined challenge did.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeReceipt {
    /// The transaction.
    pub tx_hash: B256,
    /// Gas used.
    pub gas_used: u64,
    /// The slashed router.
    pub router: Address,
    /// Stake slashed (wei of the stake token).
    pub slashed: U256,
    /// The challenger's reward.
    pub reward: U256,
}

/// Sends `tx` from `key` through the execution client at `url` and waits for its receipt.
pub async fn send_challenge(
    url: &str,
    key: &PrivateKeySigner,
    tx: &ChallengeTx,
) -> eyre::Result<ChallengeReceipt> {
    send_challenges(url, key, std::slice::from_ref(tx))
        .await?
        .pop()
        .expect("one result per transaction")
}

/// Sends every transaction of `txs` from `key` (one after the other, without waiting for the
/// previous one to be mined, so that they land in as few blocks as possible), then waits for
/// their receipts; one result per transaction, in order.
pub async fn send_challenges(
    url: &str,
    key: &PrivateKeySigner,
    txs: &[ChallengeTx],
) -> eyre::Result<Vec<eyre::Result<ChallengeReceipt>>> {
    let provider =
        ProviderBuilder::new().wallet(EthereumWallet::from(key.clone())).connect(url).await?;
    let mut pending = Vec::with_capacity(txs.len());
    for tx in txs {
        let request = TransactionRequest::default()
            .from(key.address())
            .to(tx.to)
            .input(tx.data.clone().into());
        pending.push(provider.send_transaction(request).await.map_err(|e| {
            eyre::eyre!("{} for batch {} index {}: {e}", tx.function, tx.batch_id, tx.index)
        }));
    }
    let mut out = Vec::with_capacity(txs.len());
    for p in pending {
        out.push(match p {
            Ok(p) => match p.get_receipt().await {
                Ok(receipt) => proven(&receipt),
                Err(e) => Err(e.into()),
            },
            Err(e) => Err(e),
        });
    }
    Ok(out)
}

/// What a mined challenge's receipt proves.
fn proven(receipt: &alloy::rpc::types::TransactionReceipt) -> eyre::Result<ChallengeReceipt> {
    eyre::ensure!(receipt.status(), "challenge transaction {} reverted", receipt.transaction_hash);
    let proven = receipt.inner.logs().iter().find_map(|log| {
        if let Ok(e) = MisroutingProven::decode_log_data(log.data()) {
            return Some((e.router, e.slashed, e.reward));
        }
        DuplicateProven::decode_log_data(log.data()).ok().map(|e| (e.router, e.slashed, e.reward))
    });
    if let Some((router, slashed, reward)) = proven {
        return Ok(ChallengeReceipt {
            tx_hash: receipt.transaction_hash,
            gas_used: receipt.gas_used,
            router,
            slashed,
            reward,
        });
    }
    eyre::bail!("challenge transaction {} proved nothing (no event)", receipt.transaction_hash)
}
