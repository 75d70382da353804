//! An in-process EVM (revm, Prague rules) holding the project's contracts: the genesis builder runs
//! the constructors in it, and the differential test runs the settlement contract in it.

use alloy_primitives::{Address, Bytes, Log, TxKind, B256, U256};
use alloy_sol_types::{SolCall, SolInterface};
use revm::{
    context::{BlockEnv, CfgEnv, Context, Journal, TxEnv},
    context_interface::{
        result::{ExecutionResult, Output},
        JournalTr,
    },
    database::{CacheDB, EmptyDB},
    primitives::hardfork::SpecId,
    state::{AccountInfo, Bytecode},
    ExecuteCommitEvm, ExecuteEvm, MainBuilder, MainnetEvm,
};
use std::collections::BTreeMap;

type Db = CacheDB<EmptyDB>;
type Ctx = Context<BlockEnv, TxEnv, CfgEnv, Db, Journal<Db>, ()>;

/// Gas limit of every transaction the local EVM runs.
pub const TX_GAS_LIMIT: u64 = 200_000_000;

/// Why a transaction could not run or did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// revm refused the transaction (not a revert: an invalid transaction or a database error).
    #[error("evm: {0}")]
    Evm(String),
    /// The call reverted with this data.
    #[error("reverted with 0x{}", alloy_primitives::hex::encode(.0))]
    Revert(Bytes),
    /// The call halted (out of gas, invalid opcode, ...).
    #[error("halted: {0}")]
    Halt(String),
    /// A deployment returned no address.
    #[error("deployment returned no address")]
    NoAddress,
    /// The return data does not decode.
    #[error("cannot decode the return data: {0}")]
    Decode(#[from] alloy_sol_types::Error),
}

/// What a successful transaction gave back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Success {
    /// Return data.
    pub output: Bytes,
    /// Logs emitted.
    pub logs: Vec<Log>,
    /// Gas used, intrinsic gas included (Prague pricing, EIP-7623 floor applied).
    pub gas_used: u64,
}

/// An account's state, as a genesis allocation needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountDump {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Runtime code (empty for an externally owned account).
    pub code: Bytes,
    /// Non-zero storage slots.
    pub storage: BTreeMap<B256, B256>,
}

/// An in-process chain: one revm instance over an in-memory database.
pub struct LocalEvm {
    evm: MainnetEvm<Ctx>,
}

impl std::fmt::Debug for LocalEvm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEvm").field("chain_id", &self.evm.ctx.cfg.chain_id).finish()
    }
}

impl LocalEvm {
    /// A fresh chain with id `chain_id` at block 1, timestamp 1. The base fee and every gas price
    /// are zero and nonces are not checked: any address can send transactions.
    pub fn new(chain_id: u64) -> Self {
        let mut cfg = CfgEnv::new_with_spec(SpecId::PRAGUE);
        cfg.chain_id = chain_id;
        cfg.disable_nonce_check = true;
        cfg.tx_gas_limit_cap = Some(u64::MAX);
        let block = BlockEnv {
            number: U256::from(1),
            timestamp: U256::from(1),
            gas_limit: TX_GAS_LIMIT,
            basefee: 0,
            ..Default::default()
        };
        let ctx = Ctx::new(CacheDB::new(EmptyDB::default()), SpecId::PRAGUE)
            .with_cfg(cfg)
            .with_block(block);
        Self { evm: ctx.build_mainnet() }
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.evm.ctx.cfg.chain_id
    }

    /// The current block timestamp.
    pub fn timestamp(&self) -> u64 {
        self.evm.ctx.block.timestamp.saturating_to()
    }

    /// Moves to the next block, `seconds` later.
    pub fn advance(&mut self, seconds: u64) {
        let block = &mut self.evm.ctx.block;
        block.timestamp += U256::from(seconds);
        block.number += U256::from(1);
    }

    /// Sets `address`'s balance.
    pub fn set_balance(&mut self, address: Address, balance: U256) {
        let db = self.evm.ctx.journaled_state.db_mut();
        let mut info = db.load_account(address).map(|a| a.info.clone()).unwrap_or_default();
        info.balance = balance;
        db.insert_account_info(address, info);
    }

    /// Places an account (code and storage) at `address`, replacing what is there.
    pub fn put_account(&mut self, address: Address, account: &AccountDump) {
        let db = self.evm.ctx.journaled_state.db_mut();
        let code = Bytecode::new_raw(account.code.clone());
        db.insert_account_info(
            address,
            AccountInfo {
                balance: account.balance,
                nonce: account.nonce,
                code_hash: code.hash_slow(),
                code: Some(code),
                ..Default::default()
            },
        );
        for (slot, value) in &account.storage {
            db.insert_account_storage(address, (*slot).into(), (*value).into())
                .expect("the in-memory database never fails");
        }
    }

    /// The state of `address`.
    pub fn dump(&mut self, address: Address) -> AccountDump {
        let db = self.evm.ctx.journaled_state.db_mut();
        let Ok(account) = db.load_account(address);
        let info = account.info.clone();
        let storage = account
            .storage
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (B256::from(*k), B256::from(*v)))
            .collect();
        let code = match info.code {
            Some(code) => code.original_bytes(),
            None => db
                .cache
                .contracts
                .get(&info.code_hash)
                .map(|c| c.original_bytes())
                .unwrap_or_default(),
        };
        AccountDump { balance: info.balance, nonce: info.nonce, code, storage }
    }

    fn tx(&self, from: Address, kind: TxKind, data: Bytes) -> TxEnv {
        TxEnv::builder()
            .chain_id(Some(self.chain_id()))
            .caller(from)
            .kind(kind)
            .data(data)
            .gas_limit(TX_GAS_LIMIT)
            .gas_price(0)
            .build_fill()
    }

    fn outcome(result: ExecutionResult) -> Result<(Output, Vec<Log>, u64), EvmError> {
        match result {
            ExecutionResult::Success { gas, logs, output, .. } => {
                Ok((output, logs, gas.tx_gas_used()))
            }
            ExecutionResult::Revert { output, .. } => Err(EvmError::Revert(output)),
            ExecutionResult::Halt { reason, .. } => Err(EvmError::Halt(format!("{reason:?}"))),
        }
    }

    /// Deploys `initcode` (creation code with constructor arguments) from `from` and returns the
    /// new contract's address.
    pub fn deploy(&mut self, from: Address, initcode: Bytes) -> Result<Address, EvmError> {
        let result = self
            .evm
            .transact_commit(self.tx(from, TxKind::Create, initcode))
            .map_err(|e| EvmError::Evm(e.to_string()))?;
        match Self::outcome(result)?.0 {
            Output::Create(_, Some(address)) => Ok(address),
            _ => Err(EvmError::NoAddress),
        }
    }

    /// Runs a call from `from` to `to` and keeps its effects.
    pub fn transact(
        &mut self,
        from: Address,
        to: Address,
        data: Bytes,
    ) -> Result<Success, EvmError> {
        self.call(from, to, data, true)
    }

    /// Runs a call from `from` to `to` and throws its effects away.
    pub fn simulate(
        &mut self,
        from: Address,
        to: Address,
        data: Bytes,
    ) -> Result<Success, EvmError> {
        self.call(from, to, data, false)
    }

    fn call(
        &mut self,
        from: Address,
        to: Address,
        data: Bytes,
        commit: bool,
    ) -> Result<Success, EvmError> {
        let tx = self.tx(from, TxKind::Call(to), data);
        let result = if commit {
            self.evm.transact_commit(tx)
        } else {
            self.evm.transact(tx).map(|r| r.result)
        }
        .map_err(|e| EvmError::Evm(e.to_string()))?;
        let (output, logs, gas_used) = Self::outcome(result)?;
        Ok(Success { output: output.into_data(), logs, gas_used })
    }

    /// Sends `call` and keeps its effects; decodes the return value.
    pub fn send<C: SolCall>(
        &mut self,
        from: Address,
        to: Address,
        call: &C,
    ) -> Result<C::Return, EvmError> {
        let out = self.transact(from, to, call.abi_encode().into())?;
        Ok(C::abi_decode_returns(&out.output)?)
    }

    /// Evaluates `call` without keeping its effects; decodes the return value.
    pub fn view<C: SolCall>(&mut self, to: Address, call: &C) -> Result<C::Return, EvmError> {
        let out = self.simulate(Address::ZERO, to, call.abi_encode().into())?;
        Ok(C::abi_decode_returns(&out.output)?)
    }
}

/// Decodes revert data as one of the errors of interface `I`, if it is one.
pub fn decode_revert<I: SolInterface>(data: &[u8]) -> Option<I> {
    I::abi_decode(data).ok()
}
