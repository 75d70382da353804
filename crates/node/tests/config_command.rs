//! `routing-node config > node.toml` prints a configuration that `--config node.toml` loads back
//! unchanged, and a configuration with an unknown field is refused with the field named.

use std::process::Command;

#[test]
fn the_printed_configuration_loads_back() {
    let out = Command::new(env!("CARGO_BIN_EXE_routing-node")).arg("config").output().unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let loaded = routing_node::Config::load(&path).unwrap();
    assert_eq!(loaded, routing_node::Config::default());

    std::fs::write(&path, "[batcher]\nmax_decisoins = 5\n").unwrap();
    let err = routing_node::Config::load(&path).unwrap_err().to_string();
    assert!(err.contains("max_decisoins"), "{err}");
}
