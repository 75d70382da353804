//! `RpcSource` against a scripted JSON-RPC node that, like op-geth and op-reth, keeps the blocks
//! a reorg removed (`eth_getBlockByHash` still finds them), which anvil does not: the walk back by
//! hash after a restart and beyond the window, its limit when the node has forgotten them, and a
//! node on another chain.

use alloy_primitives::{keccak256, Address, B256};
use routing_exex::{
    Backoff, Block, BlockRef, ChainEvent, EventSource, RpcSource, RpcSourceOptions, StartFrom,
};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

const SETTLEMENT: Address = Address::repeat_byte(0x5e);
const TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Clone, Debug)]
struct MockBlock {
    number: u64,
    hash: B256,
    parent: B256,
    timestamp: u64,
    /// The hash of the one settlement transaction in the block, if any.
    tx: Option<B256>,
}

impl MockBlock {
    fn block_ref(&self) -> BlockRef {
        BlockRef { number: self.number, hash: self.hash }
    }
}

/// The node's chain and every block it ever had, by hash.
#[derive(Default)]
struct Chain {
    canonical: Vec<MockBlock>,
    by_hash: HashMap<B256, MockBlock>,
    remember_side_blocks: bool,
}

impl Chain {
    fn new(length: u64, salt: u64) -> Self {
        let mut chain = Self { remember_side_blocks: true, ..Self::default() };
        chain.extend(length, salt);
        chain
    }

    /// Appends `n` blocks; every third carries a settlement log.
    fn extend(&mut self, n: u64, salt: u64) {
        for _ in 0..n {
            let number = self.canonical.len() as u64;
            let parent = self.canonical.last().map(|b| b.hash).unwrap_or_default();
            let hash = keccak256([number.to_be_bytes(), salt.to_be_bytes()].concat());
            let tx = (number % 3 == 1).then(|| keccak256(hash));
            let block = MockBlock { number, hash, parent, timestamp: 1_000 + number, tx };
            self.by_hash.insert(hash, block.clone());
            self.canonical.push(block);
        }
    }

    /// Replaces the newest `depth` blocks with `length` others.
    fn reorg(&mut self, depth: u64, length: u64, salt: u64) {
        let keep = self.canonical.len() - depth as usize;
        for gone in self.canonical.drain(keep..) {
            if !self.remember_side_blocks {
                self.by_hash.remove(&gone.hash);
            }
        }
        self.extend(length, salt);
    }

    fn tip(&self) -> BlockRef {
        self.canonical.last().unwrap().block_ref()
    }

    fn answer(&self, method: &str, params: &Value) -> Value {
        let quantity = |v: &Value| -> Option<u64> {
            u64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
        };
        match method {
            "eth_blockNumber" => json!(format!("0x{:x}", self.tip().number)),
            "eth_getBlockByNumber" => {
                let block = match params[0].as_str() {
                    Some("latest") => self.canonical.last(),
                    _ => quantity(&params[0]).and_then(|n| self.canonical.get(n as usize)),
                };
                block.map_or(Value::Null, block_json)
            }
            "eth_getBlockByHash" => {
                let hash: B256 = params[0].as_str().unwrap().parse().unwrap();
                self.by_hash.get(&hash).map_or(Value::Null, block_json)
            }
            "eth_getLogs" => {
                let filter = &params[0];
                assert_eq!(filter["address"], json!(SETTLEMENT));
                let from = quantity(&filter["fromBlock"]).unwrap();
                let to = quantity(&filter["toBlock"]).unwrap();
                let logs: Vec<Value> = self
                    .canonical
                    .iter()
                    .filter(|b| (from..=to).contains(&b.number))
                    .filter_map(|b| b.tx.map(|tx| log_json(b, tx)))
                    .collect();
                json!(logs)
            }
            other => panic!("unexpected method {other}"),
        }
    }
}

fn block_json(b: &MockBlock) -> Value {
    let zero = B256::ZERO;
    json!({
        "hash": b.hash, "parentHash": b.parent, "number": format!("0x{:x}", b.number),
        "timestamp": format!("0x{:x}", b.timestamp),
        "sha3Uncles": zero, "miner": Address::ZERO, "stateRoot": zero, "transactionsRoot": zero,
        "receiptsRoot": zero, "logsBloom": format!("0x{}", "00".repeat(256)), "difficulty": "0x0",
        "gasLimit": "0x1c9c380", "gasUsed": "0x0", "extraData": "0x", "mixHash": zero,
        "nonce": "0x0000000000000000", "baseFeePerGas": "0x1", "uncles": [],
        "transactions": b.tx.map(|tx| vec![tx]).unwrap_or_default(),
    })
}

fn log_json(b: &MockBlock, tx: B256) -> Value {
    json!({
        "address": SETTLEMENT, "topics": [keccak256("Settled()")], "data": "0x",
        "blockHash": b.hash, "blockNumber": format!("0x{:x}", b.number),
        "transactionHash": tx, "transactionIndex": "0x0", "logIndex": "0x0", "removed": false,
    })
}

/// Serves `chain` over HTTP/1.1 JSON-RPC on a loopback port; returns the URL.
async fn serve(chain: Arc<Mutex<Chain>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let chain = chain.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                loop {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        if let Some((name, value)) = line.split_once(':') {
                            if name.eq_ignore_ascii_case("content-length") {
                                length = value.trim().parse().unwrap();
                            }
                        }
                    }
                    let mut body = vec![0; length];
                    read.read_exact(&mut body).await.unwrap();
                    let request: Value = serde_json::from_slice(&body).unwrap();
                    let result = chain
                        .lock()
                        .unwrap()
                        .answer(request["method"].as_str().unwrap(), &request["params"]);
                    let reply = json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
                        .to_string();
                    let response = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{reply}",
                        reply.len()
                    );
                    if write.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn options(start: StartFrom, window: usize) -> RpcSourceOptions {
    RpcSourceOptions {
        poll_interval: Duration::from_millis(10),
        reconnect: Backoff { min: Duration::from_millis(10), max: Duration::from_millis(100) },
        window,
        ..RpcSourceOptions::new(SETTLEMENT, start)
    }
}

async fn next(source: &mut RpcSource) -> ChainEvent {
    tokio::time::timeout(TIMEOUT, source.next_event())
        .await
        .expect("an event in time")
        .expect("no source error")
        .expect("the source has not ended")
}

/// Follows until the source's tip is the node's; returns the blocks committed on the way.
async fn follow(source: &mut RpcSource, chain: &Arc<Mutex<Chain>>) -> Vec<Block> {
    let mut blocks = Vec::new();
    while source.tip() != Some(chain.lock().unwrap().tip()) {
        let event = next(source).await;
        blocks.extend(event.committed().expect("a commit").blocks().iter().cloned());
    }
    blocks
}

fn refs(blocks: &[Block]) -> Vec<BlockRef> {
    blocks.iter().map(Block::block_ref).collect()
}

fn mock_refs(blocks: &[MockBlock]) -> Vec<BlockRef> {
    blocks.iter().map(MockBlock::block_ref).collect()
}

#[tokio::test]
async fn resuming_walks_back_by_hash_through_the_blocks_the_node_kept() {
    let chain = Arc::new(Mutex::new(Chain::new(11, 0)));
    let url = serve(chain.clone()).await;
    let head = chain.lock().unwrap().tip();
    let stale = chain.lock().unwrap().canonical[8..].to_vec();
    // While the source is down: blocks 8..=10 are replaced by 8'..=11'.
    chain.lock().unwrap().reorg(3, 4, 1);

    let mut source = RpcSource::connect(&url, options(StartFrom::Head(head), 256)).await.unwrap();
    let event = next(&mut source).await;
    let ChainEvent::Reverted { old } = &event else { panic!("a revert: {event:?}") };
    assert_eq!(refs(old.blocks()), mock_refs(&stale), "all three stale blocks, found by hash");
    assert_eq!(old.first().parent_hash, chain.lock().unwrap().canonical[7].hash);
    assert_eq!(old.tip().timestamp, 1_010, "real headers, not placeholders");
    assert!(old.blocks().iter().all(|b| b.logs.is_empty()));
    let new = follow(&mut source, &chain).await;
    assert_eq!(refs(&new), mock_refs(&chain.lock().unwrap().canonical[8..]));
    assert_eq!(new[0].logs.len(), 0);
    assert_eq!(new[2].logs.len(), 1, "block 10' carries a log");
}

#[tokio::test]
async fn a_reorg_deeper_than_the_window_is_followed_by_hash() {
    let chain = Arc::new(Mutex::new(Chain::new(11, 0)));
    let url = serve(chain.clone()).await;
    let mut source = RpcSource::connect(&url, options(StartFrom::Block(0), 2)).await.unwrap();
    let committed = follow(&mut source, &chain).await;
    assert_eq!(committed.len(), 11);

    // Blocks 6..=10 replaced by 6'..=10': deeper than the window of 2.
    chain.lock().unwrap().reorg(5, 5, 2);
    let event = next(&mut source).await;
    let ChainEvent::Reorged { old, new } = &event else { panic!("a reorg: {event:?}") };
    assert_eq!(old.blocks()[3..], committed[9..], "the window's blocks, with their logs");
    assert_eq!(refs(old.blocks()), refs(&committed[6..]), "the rest found by hash");
    assert!(old.blocks()[..3].iter().all(|b| b.logs.is_empty()));
    assert_eq!(refs(new.blocks()), mock_refs(&chain.lock().unwrap().canonical[6..]));
    assert_eq!(new.first().parent_hash, committed[5].hash);
}

#[tokio::test]
async fn a_node_that_forgot_the_stale_blocks_proves_only_what_it_has() {
    let chain = Arc::new(Mutex::new(Chain::new(11, 0)));
    chain.lock().unwrap().remember_side_blocks = false;
    let url = serve(chain.clone()).await;
    let mut source = RpcSource::connect(&url, options(StartFrom::Block(0), 2)).await.unwrap();
    let committed = follow(&mut source, &chain).await;

    chain.lock().unwrap().reorg(5, 5, 2);
    let event = next(&mut source).await;
    let ChainEvent::Reorged { old, new } = &event else { panic!("a reorg: {event:?}") };
    // The window (9, 10) and the parent it names (8), placed on the node's block 7'.
    assert_eq!(refs(old.blocks()), refs(&committed[8..]));
    let canonical = chain.lock().unwrap().canonical.clone();
    assert_eq!(old.first().parent_hash, canonical[7].hash);
    assert_eq!(old.first().timestamp, 0);
    assert_eq!(refs(new.blocks()), mock_refs(&canonical[8..]));
}

#[tokio::test]
async fn a_node_on_another_chain_is_an_error() {
    let chain = Arc::new(Mutex::new(Chain::new(4, 0)));
    let url = serve(chain.clone()).await;
    let mut source = RpcSource::connect(&url, options(StartFrom::Block(0), 256)).await.unwrap();
    follow(&mut source, &chain).await;
    *chain.lock().unwrap() = Chain::new(6, 9);
    let result = tokio::time::timeout(TIMEOUT, source.next_event()).await.expect("in time");
    let err = result.expect_err("another genesis is an error");
    assert!(err.0.contains("genesis"), "{err}");
}
