//! The local devnet: chain id, where the contracts live, the dev accounts and the parameters the
//! genesis deploys the contracts with.

use alloy_primitives::{address, b256, Address, B256, U256};
use alloy_signer_local::PrivateKeySigner;

/// Chain id of the local L2 (the OP Stack devnet convention).
pub const CHAIN_ID: u64 = 901;

/// `RoutingStakeToken`, pre-deployed. All project contracts sit outside the OP Stack's reserved
/// predeploy range `0x4200…0000`–`0x4200…07FF`.
pub const STAKE_TOKEN: Address = address!("5e77000000000000000000000000000000000001");
/// `Staking`, pre-deployed.
pub const STAKING: Address = address!("5e77000000000000000000000000000000000002");
/// `RoutingSettlement`, pre-deployed.
pub const SETTLEMENT: Address = address!("5e77000000000000000000000000000000000003");
/// Receiver of the part of every slash not paid to the challenger (no key exists for it).
pub const TREASURY: Address = address!("5e770000000000000000000000000000000007ea");

/// The private keys of anvil's default mnemonic (`test test … junk`), accounts 0 to 9. They are
/// public: never use them outside a devnet.
pub const DEV_KEYS: [B256; 10] = [
    b256!("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
    b256!("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    b256!("5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"),
    b256!("7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"),
    b256!("47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"),
    b256!("8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"),
    b256!("92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e"),
    b256!("4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356"),
    b256!("dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97"),
    b256!("2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6"),
];

/// Dev account `i` (0 to 9) as a signer.
pub fn dev_signer(i: usize) -> PrivateKeySigner {
    PrivateKeySigner::from_bytes(&DEV_KEYS[i]).expect("the dev keys are valid secp256k1 keys")
}

/// Dev account `i`'s address.
pub fn dev_address(i: usize) -> Address {
    dev_signer(i).address()
}

/// Dev account 0: owner of the contracts (governance) and the sequencer.
pub const OWNER_INDEX: usize = 0;

/// One token with 18 decimals.
pub const TOKEN: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// What the genesis deploys and funds. [`Params::default`] is the devnet; a production genesis
/// would lengthen the windows (days, not hours).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// Chain id.
    pub chain_id: u64,
    /// Governance of staking and settlement.
    pub owner: Address,
    /// The address allowed to commit batches.
    pub sequencer: Address,
    /// Accounts funded with ETH and stake tokens.
    pub funded: Vec<Address>,
    /// ETH (wei) per funded account.
    pub eth_each: U256,
    /// Stake tokens (base units) per funded account.
    pub tokens_each: U256,
    /// Minimum active stake of an active router.
    pub min_stake: U256,
    /// Seconds a committed batch can be challenged.
    pub challenge_window: u64,
    /// Seconds between an unstake request and the withdrawal; must exceed the window.
    pub unstake_delay: u64,
    /// Basis points of a router's stake a proven offence slashes.
    pub slash_bps: u16,
    /// Basis points of a slash paid to the challenger (at most 5,000).
    pub reward_bps: u16,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            chain_id: CHAIN_ID,
            owner: dev_address(OWNER_INDEX),
            sequencer: dev_address(OWNER_INDEX),
            funded: (0..DEV_KEYS.len()).map(dev_address).collect(),
            eth_each: U256::from(10_000u64) * TOKEN,
            tokens_each: U256::from(1_000_000u64) * TOKEN,
            min_stake: U256::from(1_000u64) * TOKEN,
            challenge_window: 3_600,
            unstake_delay: 7_200,
            slash_bps: 1_000,
            reward_bps: 5_000,
        }
    }
}
