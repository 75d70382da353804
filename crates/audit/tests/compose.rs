//! The production shape, checked without a Docker engine: docker-compose.yml parses and
//! validates with docker-compose's own parser (1.29.2, installed by
//! scripts/install-compose-checker.sh) and holds every service the stack needs, wired as the
//! README says; the routing node's configuration inside op-reth loads; the genesis merge
//! script's tests pass.

use std::{path::PathBuf, process::Command};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn compose(args: &[&str]) -> String {
    let bin = root().join(".tools/compose-venv/bin/docker-compose");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/install-compose-checker.sh (scripts/test.sh does)",
        bin.display()
    );
    let out = Command::new(bin)
        .current_dir(root())
        .args(["-f", "docker-compose.yml"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "docker-compose {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_compose_file_is_valid_and_complete() {
    let services: Vec<String> =
        compose(&["config", "--services"]).lines().map(str::to_string).collect();
    for s in ["l1", "op-deployer", "op-reth", "op-node", "op-batcher", "auditor"] {
        assert!(services.iter().any(|x| x == s), "service {s} missing from {services:?}");
    }
    let config = compose(&["config"]);
    for wiring in [
        "--routing.config=/etc/routing/routing-node.toml",
        "--authrpc.jwtsecret=/config/jwt.hex",
        "--l2.jwt-secret=/config/jwt.hex",
        "--sequencer.enabled",
        "--rollup-rpc=http://op-node:9545",
        "--node=http://op-reth:8547",
        "--auto-challenge",
        "dockerfile: docker/op-reth-routing.Dockerfile",
    ] {
        assert!(config.contains(wiring), "{wiring} not in the resolved compose file");
    }
}

#[test]
fn the_routing_node_configuration_in_op_reth_loads() {
    let config = routing_node::Config::load(root().join("docker/routing-node.toml")).unwrap();
    config.validate().unwrap();
    assert_eq!(config.chain.settlement, routing_contracts::devnet::SETTLEMENT);
    // A batch must fit op-reth's 128 KiB transaction pool limit.
    assert!(config.batcher.max_payload_bytes > 0);
    assert!(config.batcher.max_payload_bytes < 128 * 1024);
}

#[test]
fn the_genesis_merge_script_passes_its_tests() {
    let out = Command::new("python3")
        .current_dir(root().join("scripts/compose"))
        .args(["-m", "unittest", "-v", "test_merge_genesis"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
