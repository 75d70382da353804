//! The stake check of admission: `Staking.isActive(router)`, cached per block.

use crate::state::Shared;
use alloy::{
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
};
use alloy_primitives::Address;
use alloy_sol_types::SolCall;
use jsonrpsee::types::ErrorObjectOwned;
use routing_primitives::abi::sol::IStaking;
use routing_rpc_api::{codes, error};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// Asks the staking contract whether routers are active, once per router per block.
#[derive(Clone)]
pub(crate) struct StakingCheck {
    shared: Arc<Shared>,
    provider: DynProvider,
    cache: Arc<Mutex<HashMap<Address, (u64, bool)>>>,
}

impl StakingCheck {
    pub(crate) fn new(shared: Arc<Shared>, provider: DynProvider) -> Self {
        Self { shared, provider, cache: Arc::default() }
    }

    /// Whether `router` is actively staked at the latest block.
    pub(crate) async fn is_active(&self, router: Address) -> Result<bool, ErrorObjectOwned> {
        let block = self.shared.chain_tip();
        if let Some(&(at, active)) = self.cache.lock().expect("not poisoned").get(&router) {
            if at == block {
                return Ok(active);
            }
        }
        let call = IStaking::isActiveCall { router };
        let tx = TransactionRequest::default()
            .to(self.shared.config.chain.staking)
            .input(call.abi_encode().into());
        let out = self.provider.call(tx).await.map_err(|e| {
            error(codes::UNAVAILABLE, format!("cannot check router {router}'s stake: the execution client did not answer ({e})"))
        })?;
        let active = IStaking::isActiveCall::abi_decode_returns(&out).map_err(|e| {
            error(
                codes::UNAVAILABLE,
                format!(
                    "cannot check router {router}'s stake: unexpected answer from {} ({e})",
                    self.shared.config.chain.staking
                ),
            )
        })?;
        self.cache.lock().expect("not poisoned").insert(router, (block, active));
        Ok(active)
    }
}
