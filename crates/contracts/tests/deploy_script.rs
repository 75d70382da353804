//! `contracts/script/Deploy.s.sol` against a live chain: `forge script --broadcast` on a fresh
//! anvil in OP Stack mode deploys token, staking and settlement wired to each other, as the
//! README says.

use alloy_primitives::{hex, Address};
use alloy_sol_types::SolCall;
use routing_contracts::{anvil::Anvil, artifacts::contracts_dir, devnet};
use routing_primitives::abi::sol::{IRoutingSettlement, IStaking};
use serde_json::json;
use std::process::Command;

fn call<C: SolCall>(anvil: &Anvil, to: Address, call: C) -> C::Return {
    let out = anvil
        .rpc()
        .call(
            "eth_call",
            json!([{"to": to, "data": format!("0x{}", hex::encode(call.abi_encode()))}, "latest"]),
        )
        .unwrap();
    C::abi_decode_returns(&hex::decode(out.as_str().unwrap()).unwrap()).unwrap()
}

#[test]
fn deploy_script_broadcasts_wired_contracts() {
    let anvil = Anvil::spawn(["--network", "optimism", "--chain-id", "902"]).unwrap();
    let forge = std::env::var_os("FORGE_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| contracts_dir().join("../.tools/bin/forge"));
    let out = Command::new(&forge)
        .current_dir(contracts_dir())
        .args(["script", "script/Deploy.s.sol", "--rpc-url", &anvil.url(), "--broadcast"])
        .args(["--private-key", &devnet::DEV_KEYS[0].to_string()])
        .env("ROUTING_CHALLENGE_WINDOW", "600")
        .env("ROUTING_UNSTAKE_DELAY", "1200")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", forge.display()));
    assert!(
        out.status.success(),
        "forge script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The deployer's nonces 0, 1, 2: token, staking, settlement.
    let deployer = devnet::dev_address(0);
    let (token, staking, settlement) = (deployer.create(0), deployer.create(1), deployer.create(2));
    assert_eq!(call(&anvil, settlement, IRoutingSettlement::stakingCall {}), staking);
    assert_eq!(call(&anvil, staking, IStaking::settlementCall {}), settlement);
    assert_eq!(call(&anvil, staking, IStaking::tokenCall {}), token);
    assert_eq!(call(&anvil, settlement, IRoutingSettlement::challengeWindowCall {}), 600);
    assert_eq!(call(&anvil, settlement, IRoutingSettlement::sequencerCall {}), deployer);
}
