//! The checked-in genesis: current with the compiled contracts, shaped like an OP Stack L2
//! genesis, and served by `anvil --init` with the contracts answering `eth_call`.

use alloy_primitives::{hex, Address, U256};
use alloy_sol_types::SolCall;
use routing_contracts::{
    anvil::Anvil,
    artifacts::{contracts_dir, default_out_dir, Contracts},
    devnet::{self, Params},
    gas::anvil_args,
    genesis,
};
use routing_primitives::{
    abi::sol::{IRoutingSettlement, IStakeToken, IStaking},
    domain,
};
use serde_json::{json, Value};

fn genesis_dir() -> std::path::PathBuf {
    contracts_dir().join("../genesis")
}

#[test]
fn checked_in_genesis_is_current() {
    let contracts = Contracts::load(&default_out_dir()).expect("forge artifacts");
    let (genesis_text, deployment_text) = genesis::render(&contracts, &Params::default()).unwrap();
    for (name, text) in [("genesis.json", genesis_text), ("deployment.json", deployment_text)] {
        let path = genesis_dir().join(name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == text,
            "{} is stale: regenerate it with `cargo run -p routing-contracts --bin routing-genesis`",
            path.display()
        );
    }
}

#[test]
fn genesis_is_an_op_stack_l2_genesis() {
    let text = std::fs::read_to_string(genesis_dir().join("genesis.json")).unwrap();
    let g: Value = serde_json::from_str(&text).unwrap();
    let config = &g["config"];
    assert_eq!(config["chainId"], json!(devnet::CHAIN_ID));
    // Hardfork fields sit directly under `config`; only the EIP-1559 parameters under `optimism`.
    for fork in [
        "bedrockBlock",
        "regolithTime",
        "canyonTime",
        "ecotoneTime",
        "fjordTime",
        "graniteTime",
        "holoceneTime",
        "isthmusTime",
        "pragueTime",
    ] {
        assert_eq!(config[fork], json!(0), "{fork}");
    }
    let optimism = config["optimism"].as_object().unwrap();
    assert_eq!(optimism.len(), 3);
    assert_eq!(optimism["eip1559Elasticity"], json!(6));
    assert_eq!(optimism["eip1559DenominatorCanyon"], json!(250));
    // Holocene extraData: version 0, denominator 250, elasticity 6.
    assert_eq!(g["extraData"], json!("0x00000000fa00000006"));

    let alloc = g["alloc"].as_object().unwrap();
    for contract in [devnet::STAKE_TOKEN, devnet::STAKING, devnet::SETTLEMENT] {
        let entry = &alloc[&format!("{contract:#x}")];
        assert!(entry["code"].as_str().unwrap().len() > 1_000, "{contract} has code");
    }
    for (address, entry) in alloc {
        let a: Address = address.parse().unwrap();
        let bytes = a.as_slice();
        let predeploy = bytes[0] == 0x42
            && bytes[1..18].iter().all(|b| *b == 0)
            && u16::from_be_bytes([bytes[18], bytes[19]]) <= 0x07ff;
        assert!(!predeploy, "{address} is in the OP Stack's reserved predeploy range");
        assert!(entry["balance"].is_string());
    }
    for i in 0..devnet::DEV_KEYS.len() {
        let entry = &alloc[&format!("{:#x}", devnet::dev_address(i))];
        assert_eq!(
            entry["balance"],
            json!(format!("{:#x}", U256::from(10_000u64) * devnet::TOKEN))
        );
    }
}

fn call<C: SolCall>(anvil: &Anvil, to: Address, call: C) -> C::Return {
    let out = anvil
        .rpc()
        .call(
            "eth_call",
            json!([{"to": to, "data": format!("0x{}", hex::encode(call.abi_encode()))}, "latest"]),
        )
        .unwrap_or_else(|e| panic!("eth_call to {to}: {e}"));
    C::abi_decode_returns(&hex::decode(out.as_str().unwrap()).unwrap()).unwrap()
}

#[test]
fn anvil_init_serves_the_predeployed_contracts() {
    let anvil =
        Anvil::spawn(anvil_args(&genesis_dir().join("genesis.json"))).expect("anvil starts");
    let params = Params::default();
    assert_eq!(
        anvil.rpc().call("eth_chainId", json!([])).unwrap(),
        json!(format!("{:#x}", devnet::CHAIN_ID))
    );

    let router = devnet::dev_address(1);
    assert_eq!(
        call(&anvil, devnet::STAKE_TOKEN, IStakeToken::balanceOfCall { account: router }),
        params.tokens_each
    );
    assert_eq!(call(&anvil, devnet::STAKE_TOKEN, IStakeToken::symbolCall {}), "RSTAKE");
    assert_eq!(call(&anvil, devnet::STAKING, IStaking::tokenCall {}), devnet::STAKE_TOKEN);
    assert_eq!(call(&anvil, devnet::STAKING, IStaking::settlementCall {}), devnet::SETTLEMENT);
    assert_eq!(call(&anvil, devnet::STAKING, IStaking::treasuryCall {}), devnet::TREASURY);
    assert_eq!(call(&anvil, devnet::STAKING, IStaking::minStakeCall {}), params.min_stake);
    assert_eq!(
        call(&anvil, devnet::STAKING, IStaking::challengeWindowCall {}),
        params.challenge_window
    );
    assert_eq!(call(&anvil, devnet::STAKING, IStaking::unstakeDelayCall {}), params.unstake_delay);
    assert!(!call(&anvil, devnet::STAKING, IStaking::isActiveCall { router }));
    assert_eq!(
        call(&anvil, devnet::SETTLEMENT, IRoutingSettlement::stakingCall {}),
        devnet::STAKING
    );
    assert_eq!(
        call(&anvil, devnet::SETTLEMENT, IRoutingSettlement::sequencerCall {}),
        params.sequencer
    );
    assert_eq!(call(&anvil, devnet::SETTLEMENT, IRoutingSettlement::lastBatchIdCall {}), 0);
    assert_eq!(
        call(&anvil, devnet::SETTLEMENT, IRoutingSettlement::slashBpsCall {}),
        params.slash_bps
    );
    // The contract moved to its genesis address still signs under its own domain.
    assert_eq!(
        call(&anvil, devnet::SETTLEMENT, IRoutingSettlement::domainSeparatorCall {}),
        domain(devnet::CHAIN_ID, devnet::SETTLEMENT).separator()
    );
}
