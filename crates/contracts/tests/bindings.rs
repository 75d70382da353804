//! The Rust bindings (`routing_primitives::abi::sol`) against the compiled contracts: every
//! function, event and error the Rust side declares exists in the ABI with the same signature,
//! and every function of the contracts is declared (apart from inherited housekeeping).

use routing_contracts::artifacts::{default_out_dir, Artifact};
use routing_primitives::abi::sol::{IRoutingSettlement, IStakeToken, IStaking};
use serde_json::Value;
use std::collections::BTreeSet;

/// `name(type,...)` of an ABI entry, tuples expanded as solc does.
fn signature(entry: &Value) -> String {
    fn ty(param: &Value) -> String {
        let t = param["type"].as_str().unwrap();
        match t.strip_prefix("tuple") {
            Some(suffix) => {
                let inner: Vec<String> =
                    param["components"].as_array().unwrap().iter().map(ty).collect();
                format!("({}){suffix}", inner.join(","))
            }
            None => t.to_string(),
        }
    }
    let inputs: Vec<String> = entry["inputs"].as_array().unwrap().iter().map(ty).collect();
    format!("{}({})", entry["name"].as_str().unwrap(), inputs.join(","))
}

fn abi_signatures(artifact: &Artifact, kind: &str) -> BTreeSet<String> {
    artifact.abi.as_array().unwrap().iter().filter(|e| e["type"] == kind).map(signature).collect()
}

fn check(
    file: &str,
    name: &str,
    functions: &[&str],
    events: &[&str],
    errors: &[&str],
    inherited: &[&str],
) {
    let artifact = Artifact::load(&default_out_dir(), file, name).unwrap();
    for (kind, rust) in [("function", functions), ("event", events), ("error", errors)] {
        let abi = abi_signatures(&artifact, kind);
        for sig in rust {
            assert!(
                abi.contains(*sig),
                "{name}: Rust declares {kind} {sig}, the contract has no such {kind}"
            );
        }
        if kind == "function" {
            let declared: BTreeSet<&str> = rust.iter().copied().collect();
            for sig in &abi {
                let fname = sig.split('(').next().unwrap();
                assert!(
                    declared.contains(sig.as_str()) || inherited.contains(&fname),
                    "{name}: function {sig} has no Rust binding"
                );
            }
        }
    }
}

#[test]
fn bindings_match_the_compiled_contracts() {
    check(
        "RoutingSettlement.sol",
        "RoutingSettlement",
        IRoutingSettlement::IRoutingSettlementCalls::SIGNATURES,
        IRoutingSettlement::IRoutingSettlementEvents::SIGNATURES,
        IRoutingSettlement::IRoutingSettlementErrors::SIGNATURES,
        &["owner", "transferOwnership", "renounceOwnership", "eip712Domain", "MAX_REWARD_BPS"],
    );
    check(
        "Staking.sol",
        "Staking",
        IStaking::IStakingCalls::SIGNATURES,
        IStaking::IStakingEvents::SIGNATURES,
        IStaking::IStakingErrors::SIGNATURES,
        &["owner", "transferOwnership", "renounceOwnership"],
    );
    check(
        "RoutingStakeToken.sol",
        "RoutingStakeToken",
        IStakeToken::IStakeTokenCalls::SIGNATURES,
        IStakeToken::IStakeTokenEvents::SIGNATURES,
        &[],
        &["eip712Domain"],
    );
}
