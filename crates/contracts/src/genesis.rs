//! The OP Stack L2 genesis of the local devnet, with the project's contracts pre-deployed.
//!
//! The constructors run in the in-process EVM ([`crate::evm::LocalEvm`]) with the genesis chain
//! id; the resulting runtime code and storage are placed at the fixed addresses of
//! [`crate::devnet`]. The constructors make no external calls, so they can be run anywhere and
//! moved: constructor arguments already name the final addresses. (OpenZeppelin's `EIP712`
//! caches its domain separator for the address it was constructed at; at the final address it
//! recomputes it on each use, which costs a few hundred gas and gives the right separator.)
//!
//! The `config` section follows op-reth's and op-geth's genesis format: Ethereum forks up to
//! Prague and OP forks up to Isthmus active at genesis, hardfork fields directly under `config`,
//! the EIP-1559 parameters under `config.optimism`, and Holocene's `extraData`
//! (`0x00 ‖ denominator ‖ elasticity`). It carries no OP Stack predeploys (`L1Block`, the
//! message passers, …): anvil needs none, and a production chain takes its genesis from
//! `op-deployer` and adds this file's `alloc` entries for the project's contracts.

use crate::{
    artifacts::{ArtifactError, Contracts},
    devnet::{self, Params},
    evm::{AccountDump, EvmError, LocalEvm},
};
use alloy_primitives::{address, hex, Address, Bytes, U256};
use alloy_sol_types::SolValue;
use serde_json::{json, Map, Value};

/// Why the genesis cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum GenesisError {
    /// An artifact is missing or malformed.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// A constructor failed.
    #[error("deploying {contract}: {source}")]
    Deploy {
        /// The contract.
        contract: &'static str,
        /// The failure.
        source: EvmError,
    },
    /// The parameters are inconsistent.
    #[error("invalid genesis parameters: {0}")]
    Params(String),
}

/// Runs the constructors; nobody holds this address's key and it is not in the genesis.
const DEPLOYER: Address = address!("00000000000000000000000000000000de9107e5");

/// Gas limit of the genesis block (and what anvil must be given with `--gas-limit`, as it
/// ignores the genesis value).
pub const GAS_LIMIT: u64 = 60_000_000;

/// The three contracts, constructed and ready to be placed at their fixed addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// `RoutingStakeToken` at [`devnet::STAKE_TOKEN`].
    pub stake_token: AccountDump,
    /// `Staking` at [`devnet::STAKING`].
    pub staking: AccountDump,
    /// `RoutingSettlement` at [`devnet::SETTLEMENT`].
    pub settlement: AccountDump,
}

impl Deployment {
    /// Runs the constructors of `contracts` with `params`.
    pub fn build(contracts: &Contracts, params: &Params) -> Result<Self, GenesisError> {
        if params.unstake_delay <= params.challenge_window {
            return Err(GenesisError::Params(format!(
                "unstake delay {} s must exceed the challenge window {} s",
                params.unstake_delay, params.challenge_window
            )));
        }
        let mut evm = LocalEvm::new(params.chain_id);
        let mut deploy = |contract: &'static str, code: &Bytes, args: Vec<u8>| {
            let initcode: Bytes = [code.as_ref(), &args].concat().into();
            let at = evm
                .deploy(DEPLOYER, initcode)
                .map_err(|source| GenesisError::Deploy { contract, source })?;
            Ok::<_, GenesisError>(evm.dump(at))
        };
        let amounts = vec![params.tokens_each; params.funded.len()];
        let stake_token = deploy(
            "RoutingStakeToken",
            &contracts.stake_token.bytecode,
            (params.funded.clone(), amounts).abi_encode_params(),
        )?;
        let staking = deploy(
            "Staking",
            &contracts.staking.bytecode,
            (
                devnet::STAKE_TOKEN,
                devnet::SETTLEMENT,
                devnet::TREASURY,
                params.min_stake,
                params.unstake_delay,
                params.challenge_window,
                params.owner,
            )
                .abi_encode_params(),
        )?;
        let settlement = deploy(
            "RoutingSettlement",
            &contracts.settlement.bytecode,
            (devnet::STAKING, params.sequencer, params.owner, params.slash_bps, params.reward_bps)
                .abi_encode_params(),
        )?;
        Ok(Self { stake_token, staking, settlement })
    }

    /// The genesis accounts: the contracts at their fixed addresses, the funded accounts with
    /// their ETH.
    pub fn alloc(&self, params: &Params) -> Vec<(Address, AccountDump)> {
        let mut alloc = vec![
            (devnet::STAKE_TOKEN, self.stake_token.clone()),
            (devnet::STAKING, self.staking.clone()),
            (devnet::SETTLEMENT, self.settlement.clone()),
        ];
        for a in &params.funded {
            alloc.push((
                *a,
                AccountDump {
                    balance: params.eth_each,
                    nonce: 0,
                    code: Bytes::new(),
                    storage: Default::default(),
                },
            ));
        }
        alloc.sort_by_key(|(a, _)| *a);
        alloc
    }

    /// Places the genesis accounts into `evm`.
    pub fn install(&self, evm: &mut LocalEvm, params: &Params) {
        for (address, account) in self.alloc(params) {
            evm.put_account(address, &account);
        }
    }
}

fn quantity(v: U256) -> String {
    format!("{v:#x}")
}

/// The genesis file for `params` and an already built deployment.
pub fn genesis_json(params: &Params, deployment: &Deployment) -> Value {
    let mut alloc = Map::new();
    for (address, account) in deployment.alloc(params) {
        let mut entry = Map::new();
        entry.insert("balance".into(), json!(quantity(account.balance)));
        if !account.code.is_empty() {
            entry.insert("code".into(), json!(format!("0x{}", hex::encode(&account.code))));
        }
        if account.nonce != 0 {
            entry.insert("nonce".into(), json!(format!("{:#x}", account.nonce)));
        }
        if !account.storage.is_empty() {
            let storage: Map<String, Value> = account
                .storage
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v.to_string())))
                .collect();
            entry.insert("storage".into(), Value::Object(storage));
        }
        alloc.insert(format!("{address:#x}"), Value::Object(entry));
    }
    // Holocene extraData: version 0, then the EIP-1559 denominator and elasticity (u32 BE).
    let (denominator, elasticity) = (250u32, 6u32);
    let mut extra = vec![0u8];
    extra.extend_from_slice(&denominator.to_be_bytes());
    extra.extend_from_slice(&elasticity.to_be_bytes());
    json!({
        "config": {
            "chainId": params.chain_id,
            "homesteadBlock": 0,
            "eip150Block": 0,
            "eip155Block": 0,
            "eip158Block": 0,
            "byzantiumBlock": 0,
            "constantinopleBlock": 0,
            "petersburgBlock": 0,
            "istanbulBlock": 0,
            "muirGlacierBlock": 0,
            "berlinBlock": 0,
            "londonBlock": 0,
            "arrowGlacierBlock": 0,
            "grayGlacierBlock": 0,
            "mergeNetsplitBlock": 0,
            "shanghaiTime": 0,
            "cancunTime": 0,
            "pragueTime": 0,
            "bedrockBlock": 0,
            "regolithTime": 0,
            "canyonTime": 0,
            "deltaTime": 0,
            "ecotoneTime": 0,
            "fjordTime": 0,
            "graniteTime": 0,
            "holoceneTime": 0,
            "isthmusTime": 0,
            "terminalTotalDifficulty": 0,
            "terminalTotalDifficultyPassed": true,
            "depositContractAddress": "0x0000000000000000000000000000000000000000",
            "optimism": {
                "eip1559Elasticity": elasticity,
                "eip1559Denominator": 50,
                "eip1559DenominatorCanyon": denominator,
            },
        },
        "nonce": "0x0",
        "timestamp": "0x0",
        "extraData": format!("0x{}", hex::encode(extra)),
        "gasLimit": format!("{GAS_LIMIT:#x}"),
        "difficulty": "0x0",
        "mixHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "coinbase": "0x4200000000000000000000000000000000000011",
        "baseFeePerGas": "0x3b9aca00",
        "number": "0x0",
        "gasUsed": "0x0",
        "parentHash": "0x0000000000000000000000000000000000000000000000000000000000000000",
        "alloc": alloc,
    })
}

/// What the devnet's users and the node need to know about the deployment (written next to the
/// genesis as `deployment.json`).
pub fn deployment_json(params: &Params) -> Value {
    json!({
        "chainId": params.chain_id,
        "contracts": {
            "stakeToken": devnet::STAKE_TOKEN.to_checksum(None),
            "staking": devnet::STAKING.to_checksum(None),
            "settlement": devnet::SETTLEMENT.to_checksum(None),
            "treasury": devnet::TREASURY.to_checksum(None),
        },
        "owner": params.owner.to_checksum(None),
        "sequencer": params.sequencer.to_checksum(None),
        "minStake": params.min_stake.to_string(),
        "challengeWindowSeconds": params.challenge_window,
        "unstakeDelaySeconds": params.unstake_delay,
        "slashBps": params.slash_bps,
        "rewardBps": params.reward_bps,
        "gasLimit": GAS_LIMIT,
        "fundedAccounts": params.funded.iter().map(|a| a.to_checksum(None)).collect::<Vec<_>>(),
    })
}

/// The genesis and deployment files' text for `params`, from the artifacts in `contracts`.
pub fn render(contracts: &Contracts, params: &Params) -> Result<(String, String), GenesisError> {
    let deployment = Deployment::build(contracts, params)?;
    let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("json serializes") + "\n";
    Ok((pretty(&genesis_json(params, &deployment)), pretty(&deployment_json(params))))
}
