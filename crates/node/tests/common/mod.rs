//! Shared test helpers: a devnet (anvil in OP mode with the genesis) on a free port, the node on
//! top, staking, signing and waiting.
#![allow(dead_code, unreachable_pub)]

use alloy_primitives::{hex, Address, B256, U256};
use alloy_sol_types::SolCall;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use routing_contracts::{
    anvil::{Anvil, RpcClient},
    artifacts::contracts_dir,
    devnet, gas,
};
use routing_node::{Config, RunningNode};
use routing_primitives::abi::sol::{IRoutingSettlement, IStakeToken, IStaking};
use serde_json::{json, Value};
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

/// The genesis file.
pub fn genesis() -> PathBuf {
    contracts_dir().join("../genesis/genesis.json")
}

/// Anvil with the devnet genesis; `block_time` 0 mines a block per transaction.
pub fn anvil(block_time: u64) -> Anvil {
    let mut args = gas::anvil_args(&genesis());
    if block_time > 0 {
        args.extend(["--block-time".to_string(), block_time.to_string()]);
    }
    Anvil::spawn(args).expect("anvil starts")
}

/// A node configuration for `anvil`, with its store in `dir`.
pub fn config(anvil: &Anvil, dir: &std::path::Path) -> Config {
    let mut config = Config { datadir: dir.to_path_buf(), ..Config::default() };
    config.chain.el_rpc = anvil.url();
    config.chain.poll_interval_ms = 50;
    config.sequencer.key = Some(devnet::DEV_KEYS[devnet::OWNER_INDEX]);
    config.rpc.addr = "127.0.0.1:0".parse().unwrap();
    config.metrics.addr = None;
    config.batcher.max_age_ms = 300;
    config.batcher.repost_after_ms = 5_000;
    config
}

/// A typed client for the node's JSON-RPC.
pub fn client(node: &RunningNode) -> HttpClient {
    HttpClientBuilder::default()
        .max_request_size(64 * 1024 * 1024)
        .max_response_size(64 * 1024 * 1024)
        .request_timeout(Duration::from_secs(120))
        .build(node.rpc_url())
        .unwrap()
}

/// Sends a transaction from an unlocked dev account and waits for its successful receipt.
pub fn send(rpc: &RpcClient, from: Address, to: Address, data: Vec<u8>) -> Value {
    let hash = rpc
        .call("eth_sendTransaction", json!([{ "from": from, "to": to, "data": format!("0x{}", hex::encode(data)), "gas": "0x1000000" }]))
        .unwrap();
    let receipt = rpc.receipt(&hash, Duration::from_secs(60)).unwrap();
    assert_eq!(receipt["status"], json!("0x1"), "transaction failed: {receipt}");
    receipt
}

/// `eth_call` of `call` on `to`.
pub fn view<C: SolCall>(rpc: &RpcClient, to: Address, call: C) -> C::Return {
    let out = rpc
        .call("eth_call", json!([{ "to": to, "data": format!("0x{}", hex::encode(call.abi_encode())) }, "latest"]))
        .unwrap();
    C::abi_decode_returns(&hex::decode(out.as_str().unwrap()).unwrap()).unwrap()
}

/// Dev account `i` stakes `tokens` whole stake tokens.
pub fn stake(rpc: &RpcClient, i: usize, tokens: u64) {
    let who = devnet::dev_address(i);
    let amount = U256::from(tokens) * devnet::TOKEN;
    send(
        rpc,
        who,
        devnet::STAKE_TOKEN,
        IStakeToken::approveCall { spender: devnet::STAKING, value: amount }.abi_encode(),
    );
    send(rpc, who, devnet::STAKING, IStaking::stakeCall { amount }.abi_encode());
}

/// Whether batch `header_hash` is committed on-chain (the settlement contract knows it).
pub fn committed_on_chain(rpc: &RpcClient, header_hash: B256) -> bool {
    view(rpc, devnet::SETTLEMENT, IRoutingSettlement::batchCall { headerHash: header_hash }).batchId
        != 0
}

/// Polls `f` until it returns `Some` (every 20 ms, at most `timeout`).
pub async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut f: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A free loopback port (bound and released; the kernel does not hand it out again at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A raw JSON-RPC POST: the reply body parsed as JSON.
pub fn post_raw(addr: std::net::SocketAddr, body: &str) -> Value {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let json = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|_| json!({ "raw": text }))
}

/// A signed decision of dev router `i` for request `id`, routed against `registry`.
pub fn decision(
    registry: &routing_policy::Registry,
    i: usize,
    id: u8,
) -> routing_primitives::SignedDecision {
    let key = devnet::dev_signer(i);
    let mut d = gas::routed_batch(registry, std::slice::from_ref(&key), 1, u64::from(id)).remove(0);
    d.decision.request.id = B256::repeat_byte(id);
    let dom = routing_primitives::domain(devnet::CHAIN_ID, devnet::SETTLEMENT);
    d.decision.sign(&key, &dom).unwrap()
}

/// Checks that batches `1..=batches` are all committed (in the node and on the chain), that the
/// chain's `lastBatchId` is `batches`, and that no decision is in two of them; returns the
/// request ids they hold.
pub async fn committed_decisions(
    client: &impl routing_rpc_api::RoutingApiClient,
    rpc: &RpcClient,
    batches: u64,
) -> std::collections::HashSet<B256> {
    use routing_rpc_api::{BatchState, U64};
    assert_eq!(
        view(rpc, devnet::SETTLEMENT, IRoutingSettlement::lastBatchIdCall {}),
        batches,
        "the chain holds every sealed batch, once"
    );
    let mut seen = std::collections::HashSet::new();
    for id in 1..=batches {
        let batch = client.get_batch(U64::from(id)).await.unwrap();
        assert_eq!(batch.state, BatchState::Committed, "batch {id}");
        assert!(
            committed_on_chain(rpc, batch.header_hash),
            "batch {id} is not on the canonical chain"
        );
        let mut offset = Some(U64::ZERO);
        while let Some(o) = offset {
            let page = client.get_batch_decisions(U64::from(id), Some(o), None).await.unwrap();
            for d in &page.decisions {
                assert!(seen.insert(d.decision.decision.request.id), "a decision in two batches");
            }
            offset = page.next_offset;
        }
    }
    seen
}
