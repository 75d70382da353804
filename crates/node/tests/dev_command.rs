//! `routing-node dev`: one command starts anvil in OP Stack mode with the genesis, the node and
//! its RPC and metrics; Ctrl-C stops the node and the chain.

mod common;

use common::*;
use serde_json::json;
use std::{
    io::Read,
    net::{SocketAddr, TcpStream},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn dev_starts_a_local_l2_and_ctrl_c_stops_it() {
    let (el, rpc, metrics) = (free_port(), free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_routing-node"))
        .args(["dev", "--block-time", "1"])
        .args(["--el-addr", &format!("127.0.0.1:{el}")])
        .args(["--rpc-addr", &format!("127.0.0.1:{rpc}")])
        .args(["--metrics-addr", &format!("127.0.0.1:{metrics}")])
        .arg("--datadir")
        .arg(dir.path())
        .env("ANVIL_BIN", routing_contracts::anvil::anvil_binary())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rpc_addr: SocketAddr = format!("127.0.0.1:{rpc}").parse().unwrap();
    let el_addr: SocketAddr = format!("127.0.0.1:{el}").parse().unwrap();
    wait_until("routing_status", Duration::from_secs(120), || {
        TcpStream::connect(rpc_addr).is_ok()
            && post_raw(
                rpc_addr,
                r#"{"jsonrpc":"2.0","id":1,"method":"routing_status","params":[]}"#,
            )["result"]["chainId"]
                == json!("0x385")
    });
    // The L2 answers on its own port, and the extension follows it.
    assert_eq!(
        post_raw(el_addr, r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#)
            ["result"],
        json!("0x385")
    );
    wait_until("the extension to follow blocks", Duration::from_secs(30), || {
        post_raw(rpc_addr, r#"{"jsonrpc":"2.0","id":1,"method":"routing_status","params":[]}"#)
            ["result"]["head"]["number"]
            .as_str()
            .is_some_and(|n| n != "0x0")
    });
    // Metrics on their own port.
    let mut stream = TcpStream::connect(("127.0.0.1", metrics)).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    assert!(page.contains("routing_head_block"), "{page}");

    // Ctrl-C: the node shuts down cleanly and stops anvil.
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "routing-node dev did not stop on Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("Dev accounts"), "{stderr}");
    assert!(
        stderr.contains(&routing_contracts::devnet::DEV_KEYS[1].to_string()),
        "the dev keys are printed"
    );
    assert!(stderr.contains("stopped"), "{stderr}");
    wait_until("anvil to stop", Duration::from_secs(10), || TcpStream::connect(el_addr).is_err());
}
