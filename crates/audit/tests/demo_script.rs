//! `scripts/demo.sh`, the newcomer's end-to-end demo, runs green: it starts `routing-node dev`,
//! stakes two routers with `cast` (one with a permit), submits the fleet load, finds the lazy
//! router's violations with `routing-audit replay`, challenges them with `routing-audit watch
//! --auto-challenge`, and checks with `cast` that the lazy router is slashed and jailed, the
//! challenger paid and the honest router untouched. It uses this build's binaries (the
//! workspace's `cargo test --all-targets` builds `routing-node` next to them).

#[path = "../../node/tests/common/mod.rs"]
mod common;

use std::{path::Path, process::Command};

#[test]
fn the_demo_script_passes() {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_routing-audit")).parent().unwrap();
    for bin in ["routing-node", "routing-load", "routing-audit"] {
        assert!(
            bin_dir.join(bin).exists(),
            "{bin} is not built in {}: run `cargo test --workspace --all-targets`",
            bin_dir.display()
        );
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/demo.sh"))
        .env("BIN_DIR", bin_dir)
        .env("EL_PORT", common::free_port().to_string())
        .env("RPC_PORT", common::free_port().to_string())
        .env("METRICS_PORT", common::free_port().to_string())
        .env("REQUESTS", "1200")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("demo passed"), "{stdout}");
    assert!(stdout.contains("challengeMisrouting (UnjustifiedFallback)"), "{stdout}");
    assert!(stdout.contains("challengeMisrouting (AttemptAfterServed)"), "{stdout}");
}
