//! `RpcSource` against anvil (`--network optimism`, the devnet genesis): backfill, following
//! over HTTP and WebSocket, reorgs (`anvil_reorg`), rollbacks (`anvil_rollback`), resuming from a
//! persisted head (canonical or reorged away), an unreachable node, and the whole extension loop.
//!
//! The "settlement" address filter is the stake token's, whose `approve` emits `Approval`.

use alloy_primitives::{b256, Address, B256, U256};
use routing_contracts::{
    anvil::Anvil,
    devnet::{dev_address, STAKE_TOKEN},
    gas::anvil_args,
};
use routing_exex::{
    Backoff, Block, BlockHandler, BlockRef, ChainEvent, EventSource, RoutingExEx, RpcSource,
    RpcSourceOptions, SourceError, StartFrom,
};
use serde_json::{json, Value};
use std::{
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// `Approval(address,address,uint256)`.
const APPROVAL: B256 = b256!("8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925");

/// How long any one wait may take before the test fails.
const TIMEOUT: Duration = Duration::from_secs(30);

fn anvil() -> Anvil {
    let genesis = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../genesis/genesis.json");
    Anvil::spawn(anvil_args(&genesis)).expect("anvil starts")
}

fn ws_url(anvil: &Anvil) -> String {
    anvil.url().replacen("http://", "ws://", 1)
}

fn options(start: StartFrom) -> RpcSourceOptions {
    RpcSourceOptions {
        poll_interval: Duration::from_millis(20),
        reconnect: Backoff { min: Duration::from_millis(20), max: Duration::from_millis(200) },
        request_timeout: Duration::from_secs(10),
        ..RpcSourceOptions::new(STAKE_TOKEN, start)
    }
}

fn quantity(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("a quantity").trim_start_matches("0x"), 16).unwrap()
}

fn hash(v: &Value) -> B256 {
    v.as_str().expect("a hash").parse().unwrap()
}

/// The approve calldata for `spender` and `amount`.
fn approve_data(spender: u64, amount: u64) -> String {
    let spender = Address::left_padding_from(&spender.to_be_bytes());
    format!(
        "0x095ea7b3{}{}",
        hex(B256::left_padding_from(spender.as_slice())),
        hex(B256::from(U256::from(amount)))
    )
}

fn hex(b: B256) -> String {
    b.to_string().trim_start_matches("0x").to_string()
}

fn approve_tx(spender: u64, amount: u64) -> Value {
    json!({"from": dev_address(0), "to": STAKE_TOKEN, "data": approve_data(spender, amount)})
}

/// Sends an `approve` (anvil mines it in its own block); returns (block number, tx hash).
fn approve(anvil: &Anvil, spender: u64, amount: u64) -> (u64, B256) {
    let tx = anvil.rpc().call("eth_sendTransaction", json!([approve_tx(spender, amount)])).unwrap();
    let receipt = anvil.rpc().receipt(&tx, TIMEOUT).unwrap();
    assert_eq!(receipt["status"], json!("0x1"));
    (quantity(&receipt["blockNumber"]), hash(&tx))
}

fn mine(anvil: &Anvil, blocks: u64) {
    anvil.rpc().call("anvil_mine", json!([format!("0x{blocks:x}")])).unwrap();
}

fn latest(anvil: &Anvil) -> BlockRef {
    let b = anvil.rpc().call("eth_getBlockByNumber", json!(["latest", false])).unwrap();
    BlockRef { number: quantity(&b["number"]), hash: hash(&b["hash"]) }
}

fn canonical(anvil: &Anvil, number: u64) -> Value {
    anvil.rpc().call("eth_getBlockByNumber", json!([format!("0x{number:x}"), false])).unwrap()
}

async fn next(source: &mut RpcSource) -> ChainEvent {
    tokio::time::timeout(TIMEOUT, source.next_event())
        .await
        .expect("an event in time")
        .expect("no source error")
        .expect("the source has not ended")
}

/// The chain as a handler sees it: events applied with the handler's checks.
#[derive(Debug, Default)]
struct Mirror {
    blocks: Vec<Block>,
}

impl Mirror {
    fn tip(&self) -> Option<BlockRef> {
        self.blocks.last().map(Block::block_ref)
    }

    fn apply(&mut self, event: &ChainEvent) {
        if let Some(old) = event.reverted() {
            for block in old.blocks().iter().rev() {
                assert_eq!(self.tip(), Some(block.block_ref()), "reverts the tip");
                self.blocks.pop();
            }
        }
        if let Some(new) = event.committed() {
            for block in new.blocks() {
                if let Some(tip) = self.tip() {
                    assert_eq!(block.number, tip.number + 1, "commits on top of the tip");
                    assert_eq!(block.parent_hash, tip.hash, "commits on top of the tip");
                }
                self.blocks.push(block.clone());
            }
        }
    }

    /// Applies events until the mirror's tip is the node's latest block; returns the events.
    async fn sync(&mut self, source: &mut RpcSource, anvil: &Anvil) -> Vec<ChainEvent> {
        let mut events = Vec::new();
        let start = Instant::now();
        while self.tip() != Some(latest(anvil)) {
            assert!(start.elapsed() < TIMEOUT, "the source catches up in time");
            let event = next(source).await;
            self.apply(&event);
            events.push(event);
        }
        events
    }

    /// Every block is the node's canonical block, with the node's settlement logs.
    fn assert_canonical(&self, anvil: &Anvil) {
        for block in &self.blocks {
            let node = canonical(anvil, block.number);
            assert_eq!(block.hash, hash(&node["hash"]), "block {} is canonical", block.number);
            assert_eq!(block.parent_hash, hash(&node["parentHash"]));
            assert_eq!(block.timestamp, quantity(&node["timestamp"]));
            let logs = anvil
                .rpc()
                .call("eth_getLogs", json!([{"blockHash": node["hash"], "address": STAKE_TOKEN}]))
                .unwrap();
            let logs = logs.as_array().unwrap();
            assert_eq!(block.logs.len(), logs.len(), "logs of block {}", block.number);
            for (ours, theirs) in block.logs.iter().zip(logs) {
                assert_eq!(ours.transaction_hash, hash(&theirs["transactionHash"]));
                assert_eq!(ours.transaction_index, quantity(&theirs["transactionIndex"]));
                assert_eq!(ours.log_index, quantity(&theirs["logIndex"]));
                assert_eq!(ours.topics[0], APPROVAL);
            }
        }
    }
}

fn assert_approval(block: &Block, tx: B256, spender: u64, amount: u64) {
    assert_eq!(block.logs.len(), 1, "one Approval in block {}", block.number);
    let log = &block.logs[0];
    assert_eq!(log.address, STAKE_TOKEN);
    assert_eq!(log.transaction_hash, tx);
    assert_eq!(log.transaction_index, 0);
    assert_eq!(log.log_index, 0);
    assert_eq!(
        log.topics,
        vec![
            APPROVAL,
            B256::left_padding_from(dev_address(0).as_slice()),
            B256::left_padding_from(&spender.to_be_bytes())
        ]
    );
    assert_eq!(log.data.as_ref(), B256::from(U256::from(amount)).as_slice());
}

/// A source following `anvil` from block 0 and a mirror synced to its current tip.
async fn synced(anvil: &Anvil) -> (RpcSource, Mirror) {
    let mut source = RpcSource::connect(&anvil.url(), options(StartFrom::Block(0))).await.unwrap();
    let mut mirror = Mirror::default();
    mirror.sync(&mut source, anvil).await;
    (source, mirror)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfills_from_genesis_and_follows_over_http() {
    let anvil = anvil();
    let (b1, tx1) = approve(&anvil, 1, 10);
    mine(&anvil, 120);
    let (b2, tx2) = approve(&anvil, 2, 20);
    mine(&anvil, 130);
    let tip = latest(&anvil);

    let mut source = RpcSource::connect(
        &anvil.url(),
        RpcSourceOptions { max_range: 100, ..options(StartFrom::Block(0)) },
    )
    .await
    .unwrap();
    let mut mirror = Mirror::default();
    let events = mirror.sync(&mut source, &anvil).await;
    // 0..=tip in committed chunks of at most 100 blocks.
    assert_eq!(events.len() as u64, (tip.number + 1).div_ceil(100));
    assert!(events
        .iter()
        .all(|e| matches!(e, ChainEvent::Committed { new } if new.blocks().len() <= 100)));
    assert_eq!(mirror.blocks[0].number, 0);
    assert_eq!(mirror.blocks.len() as u64, tip.number + 1);
    assert_approval(&mirror.blocks[b1 as usize], tx1, 1, 10);
    assert_approval(&mirror.blocks[b2 as usize], tx2, 2, 20);
    assert_eq!(mirror.blocks.iter().map(|b| b.logs.len()).sum::<usize>(), 2);
    mirror.assert_canonical(&anvil);

    // Following: each new block arrives as it is mined.
    let (b3, tx3) = approve(&anvil, 3, 30);
    let ChainEvent::Committed { new } = next(&mut source).await else { panic!("a commit") };
    assert_eq!(new.first().number, tip.number + 1);
    assert_eq!(new.tip().number, b3);
    mirror.apply(&ChainEvent::Committed { new: new.clone() });
    assert_approval(new.tip(), tx3, 3, 30);
    mine(&anvil, 2);
    mirror.sync(&mut source, &anvil).await;
    mirror.assert_canonical(&anvil);
    assert_eq!(source.tip(), Some(latest(&anvil)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_over_websocket_notifications() {
    let anvil = anvil();
    mine(&anvil, 3);
    // A poll fallback of a minute: only newHeads notifications can make it follow in time.
    let opts =
        RpcSourceOptions { poll_interval: Duration::from_secs(60), ..options(StartFrom::Block(1)) };
    let mut source = RpcSource::connect(&ws_url(&anvil), opts).await.unwrap();
    let mut mirror = Mirror::default();
    mirror.sync(&mut source, &anvil).await;
    assert_eq!(mirror.blocks[0].number, 1);

    for round in 0..3 {
        let started = Instant::now();
        let (number, tx) = approve(&anvil, 7, round);
        let ChainEvent::Committed { new } = next(&mut source).await else { panic!("a commit") };
        assert!(started.elapsed() < Duration::from_secs(20), "woken by a notification");
        assert_eq!(new.tip().number, number);
        assert_approval(new.tip(), tx, 7, round);
        mirror.apply(&ChainEvent::Committed { new });
    }
    // A same-height reorg arrives as a notification too.
    anvil.rpc().call("anvil_reorg", json!([2, []])).unwrap();
    let event = next(&mut source).await;
    assert!(matches!(event, ChainEvent::Reorged { .. }), "{event:?}");
    mirror.apply(&event);
    mirror.sync(&mut source, &anvil).await;
    mirror.assert_canonical(&anvil);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_is_one_reorged_event_with_the_remined_logs() {
    let anvil = anvil();
    mine(&anvil, 8);
    let (mut source, mut mirror) = synced(&anvil).await;

    for depth in 1..=5u64 {
        // The newest block carries a log that the reorg drops.
        mine(&anvil, 2);
        let (dropped_block, dropped_tx) = approve(&anvil, 100 + depth, depth);
        mirror.sync(&mut source, &anvil).await;
        let tip = mirror.tip().unwrap();
        assert_eq!(tip.number, dropped_block);

        // Re-mine `depth` blocks; the new approve goes into the first of them (offset 0).
        let remined = approve_tx(200 + depth, depth);
        anvil.rpc().call("anvil_reorg", json!([depth, [[remined, 0]]])).unwrap();
        let event = next(&mut source).await;
        let ChainEvent::Reorged { old, new } = &event else { panic!("one Reorged: {event:?}") };
        let fork = tip.number - depth;
        let expected_old = &mirror.blocks[mirror.blocks.len() - depth as usize..];
        assert_eq!(old.blocks(), expected_old, "old = the blocks after the fork point, with logs");
        assert_eq!(old.tip().logs[0].transaction_hash, dropped_tx);
        // anvil re-mines the same heights: the new chain is as long as the old one.
        assert_eq!(new.first().number, fork + 1);
        assert_eq!(new.tip().number, tip.number);
        assert_eq!(new.first().parent_hash, mirror.blocks[fork as usize].hash);
        assert_eq!(new.tip().block_ref(), latest(&anvil));
        let logs: Vec<_> = new.blocks().iter().map(|b| b.logs.len()).collect();
        let mut expected = vec![0; depth as usize];
        expected[0] = 1;
        assert_eq!(logs, expected, "the re-mined approve only; the dropped one does not come back");
        assert_eq!(
            new.first().logs[0].topics[2],
            B256::left_padding_from(&(200 + depth).to_be_bytes())
        );
        mirror.apply(&event);
        mirror.assert_canonical(&anvil);
        assert_eq!(source.tip(), Some(latest(&anvil)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollbacks_leave_the_source_on_the_canonical_chain() {
    let anvil = anvil();
    mine(&anvil, 10);
    let (mut source, mut mirror) = synced(&anvil).await;

    // A rollback alone: the blocks above the new tip are reverted.
    approve(&anvil, 1, 1);
    mirror.sync(&mut source, &anvil).await;
    let before = mirror.blocks.clone();
    anvil.rpc().call("anvil_rollback", json!([2])).unwrap();
    let event = next(&mut source).await;
    let ChainEvent::Reverted { old } = &event else { panic!("a revert: {event:?}") };
    assert_eq!(old.blocks(), &before[before.len() - 2..]);
    assert_eq!(old.tip().logs.len(), 1, "reverted with the logs it was committed with");
    mirror.apply(&event);
    assert_eq!(source.tip(), Some(latest(&anvil)));

    // New blocks after it.
    mine(&anvil, 3);
    let events = mirror.sync(&mut source, &anvil).await;
    assert!(events.iter().all(|e| matches!(e, ChainEvent::Committed { .. })));

    // A rollback followed at once by fewer, then more, new blocks.
    for (depth, then) in [(3u64, 1u64), (2, 4)] {
        anvil.rpc().call("anvil_rollback", json!([depth])).unwrap();
        approve(&anvil, 9, depth);
        if then > 1 {
            mine(&anvil, then - 1);
        }
        let events = mirror.sync(&mut source, &anvil).await;
        assert!(events.iter().any(|e| e.reverted().is_some()), "{events:?}");
        mirror.assert_canonical(&anvil);
    }
    assert_eq!(source.tip(), Some(latest(&anvil)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_a_persisted_head() {
    let anvil = anvil();
    mine(&anvil, 5);
    let (source, mut mirror) = synced(&anvil).await;
    let head = mirror.tip().unwrap();
    drop(source);

    mine(&anvil, 2);
    let (number, tx) = approve(&anvil, 5, 55);
    let mut source =
        RpcSource::connect(&anvil.url(), options(StartFrom::Head(head))).await.unwrap();
    assert_eq!(source.tip(), Some(head));
    let event = next(&mut source).await;
    let ChainEvent::Committed { new } = &event else { panic!("a commit: {event:?}") };
    assert_eq!(new.first().number, head.number + 1);
    assert_eq!(new.first().parent_hash, head.hash);
    mirror.apply(&event);
    mirror.sync(&mut source, &anvil).await;
    assert_approval(&mirror.blocks[number as usize], tx, 5, 55);
    mirror.assert_canonical(&anvil);

    // Resuming at the node's tip waits for the next block.
    let head = mirror.tip().unwrap();
    drop(source);
    let mut source =
        RpcSource::connect(&anvil.url(), options(StartFrom::Head(head))).await.unwrap();
    assert!(tokio::time::timeout(Duration::from_millis(300), source.next_event()).await.is_err());
    mine(&anvil, 1);
    let event = next(&mut source).await;
    assert_eq!(event.committed().unwrap().first().parent_hash, head.hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resuming_from_a_head_reorged_away_reverts_it() {
    let anvil = anvil();
    mine(&anvil, 6);
    approve(&anvil, 1, 1);
    let (source, mut mirror) = synced(&anvil).await;
    let head = mirror.tip().unwrap();
    drop(source);

    // While the source is down, the head is re-mined (depth 1) and the chain grows.
    anvil.rpc().call("anvil_reorg", json!([1, []])).unwrap();
    mine(&anvil, 2);
    let mut source =
        RpcSource::connect(&anvil.url(), options(StartFrom::Head(head))).await.unwrap();
    let event = next(&mut source).await;
    let ChainEvent::Reverted { old } = &event else { panic!("a revert: {event:?}") };
    assert_eq!(old.blocks().len(), 1);
    assert_eq!(old.first().block_ref(), head);
    assert!(old.first().logs.is_empty(), "after a restart the source has no logs of it");
    assert_eq!(old.first().parent_hash, mirror.blocks[head.number as usize - 1].hash);
    mirror.apply(&event);
    let events = mirror.sync(&mut source, &anvil).await;
    assert_eq!(events[0].committed().unwrap().first().number, head.number);
    mirror.assert_canonical(&anvil);

    // Deeper than the head, after a restart, against a node that drops reorged-away blocks
    // (anvil does): the documented limit. Only the head is proven stale; its parent is taken to
    // be the node's canonical block below it.
    let head = mirror.tip().unwrap();
    drop(source);
    anvil.rpc().call("anvil_reorg", json!([3, []])).unwrap();
    let mut source =
        RpcSource::connect(&anvil.url(), options(StartFrom::Head(head))).await.unwrap();
    let event = next(&mut source).await;
    let ChainEvent::Reverted { old } = &event else { panic!("a revert: {event:?}") };
    assert_eq!(old.blocks().len(), 1);
    assert_eq!(old.first().block_ref(), head);
    assert_eq!(old.first().parent_hash, hash(&canonical(&anvil, head.number - 1)["hash"]));
    let event = next(&mut source).await;
    let ChainEvent::Committed { new } = &event else { panic!("a commit: {event:?}") };
    assert_eq!(new.first().block_ref(), latest(&anvil));
    assert_eq!(source.tip(), Some(latest(&anvil)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configuration_errors_fail_and_an_unreachable_node_is_retried_until_shutdown() {
    let err = RpcSource::connect("ftp://127.0.0.1:1", options(StartFrom::Block(0))).await;
    assert!(matches!(err, Err(SourceError(ref m)) if m.contains("scheme")), "{err:?}");
    let err = RpcSource::connect("not a url", options(StartFrom::Block(0))).await;
    assert!(err.is_err());
    let zero = RpcSourceOptions { max_range: 0, ..options(StartFrom::Block(0)) };
    assert!(RpcSource::connect("http://127.0.0.1:1", zero).await.is_err());

    // A port nothing listens on: connecting succeeds, next_event keeps retrying.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for scheme in ["http", "ws", "https", "wss"] {
        let opts = options(StartFrom::Block(0));
        let shutdown = opts.shutdown.clone();
        let mut source =
            RpcSource::connect(&format!("{scheme}://127.0.0.1:{port}"), opts).await.unwrap();
        assert!(tokio::time::timeout(Duration::from_millis(500), source.next_event())
            .await
            .is_err());
        shutdown.cancel();
        let ended = tokio::time::timeout(TIMEOUT, source.next_event()).await.expect("ends in time");
        assert!(matches!(ended, Ok(None)), "{ended:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_going_away_is_not_an_error() {
    let anvil = anvil();
    mine(&anvil, 3);
    for url in [anvil.url(), ws_url(&anvil)] {
        let opts = options(StartFrom::Block(0));
        let shutdown = opts.shutdown.clone();
        let mut source = RpcSource::connect(&url, opts).await.unwrap();
        let mut mirror = Mirror::default();
        mirror.sync(&mut source, &anvil).await;
        let task = tokio::spawn(async move { source.next_event().await.map(|e| e.is_none()) });
        // Give the source time to be waiting on the node; then stop it from outside.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!task.is_finished());
        shutdown.cancel();
        let ended = tokio::time::timeout(TIMEOUT, task).await.expect("ends in time").unwrap();
        assert!(matches!(ended, Ok(true)), "{ended:?}");
    }
    // The node dies under a following source: it retries, and stops on shutdown.
    let opts = options(StartFrom::Block(0));
    let shutdown = opts.shutdown.clone();
    let mut source = RpcSource::connect(&ws_url(&anvil), opts).await.unwrap();
    let mut mirror = Mirror::default();
    mirror.sync(&mut source, &anvil).await;
    drop(anvil);
    let task = tokio::spawn(async move { source.next_event().await.map(|e| e.is_none()) });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!task.is_finished(), "no error while the node is gone");
    shutdown.cancel();
    let ended = tokio::time::timeout(TIMEOUT, task).await.expect("ends in time").unwrap();
    assert!(matches!(ended, Ok(true)), "{ended:?}");
}

/// What the extension did, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Op {
    Commit(BlockRef),
    Revert(BlockRef),
    Finished(BlockRef),
}

/// Records `finished_height` calls into the shared log.
struct Recording {
    inner: RpcSource,
    log: Arc<Mutex<Vec<Op>>>,
}

impl EventSource for Recording {
    async fn next_event(&mut self) -> Result<Option<ChainEvent>, SourceError> {
        self.inner.next_event().await
    }

    fn finished_height(&mut self, height: BlockRef) {
        self.inner.finished_height(height);
        assert_eq!(self.inner.finished(), Some(height));
        self.log.lock().unwrap().push(Op::Finished(height));
    }
}

/// An in-memory handler: the applied chain and the shared log.
struct Memory {
    chain: Arc<Mutex<Vec<BlockRef>>>,
    log: Arc<Mutex<Vec<Op>>>,
}

#[derive(Debug, thiserror::Error)]
#[error("bad block")]
struct Bad;

impl BlockHandler for Memory {
    type Error = Bad;

    fn head(&self) -> Result<Option<BlockRef>, Bad> {
        Ok(self.chain.lock().unwrap().last().copied())
    }

    fn commit_block(&mut self, block: &Block) -> Result<(), Bad> {
        let mut chain = self.chain.lock().unwrap();
        if chain.last().is_some_and(|h| h.number >= block.number) {
            return Ok(());
        }
        if chain.last().is_some_and(|h| h.hash != block.parent_hash) {
            return Err(Bad);
        }
        chain.push(block.block_ref());
        self.log.lock().unwrap().push(Op::Commit(block.block_ref()));
        Ok(())
    }

    fn revert_block(&mut self, block: &Block) -> Result<(), Bad> {
        let mut chain = self.chain.lock().unwrap();
        if chain.last() != Some(&block.block_ref()) {
            return Err(Bad);
        }
        chain.pop();
        self.log.lock().unwrap().push(Op::Revert(block.block_ref()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drives_the_extension_end_to_end() {
    let anvil = anvil();
    mine(&anvil, 4);
    let log = Arc::new(Mutex::new(Vec::new()));
    let chain = Arc::new(Mutex::new(Vec::new()));
    let handler = Memory { chain: chain.clone(), log: log.clone() };
    let opts = options(StartFrom::resume_or(handler.head().unwrap(), 0));
    let shutdown = opts.shutdown.clone();
    let source = Recording {
        inner: RpcSource::connect(&anvil.url(), opts).await.unwrap(),
        log: log.clone(),
    };
    let run = tokio::spawn(RoutingExEx::new(source, handler).run());

    let wait_for_tip = |chain: &Arc<Mutex<Vec<BlockRef>>>| {
        let start = Instant::now();
        let target = latest(&anvil);
        while chain.lock().unwrap().last() != Some(&target) {
            assert!(start.elapsed() < TIMEOUT, "the extension catches up in time");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_for_tip(&chain);
    let (number, _) = approve(&anvil, 4, 4);
    wait_for_tip(&chain);
    let before: Vec<BlockRef> = chain.lock().unwrap().clone();
    let mark = log.lock().unwrap().len();
    anvil.rpc().call("anvil_reorg", json!([2, [[approve_tx(5, 5), 1]]])).unwrap();
    wait_for_tip(&chain);
    shutdown.cancel();
    let handler =
        tokio::time::timeout(TIMEOUT, run).await.expect("stops").unwrap().expect("no error");

    // Every applied block is followed by its finished height.
    let ops = log.lock().unwrap().clone();
    for pair in ops.chunks(2) {
        match pair {
            [Op::Commit(b), Op::Finished(f)] => assert_eq!(b, f),
            [Op::Revert(_), Op::Finished(_)] => {}
            other => panic!("each block is followed by its finished height: {other:?}"),
        }
    }
    // The reorg: the two old blocks reverted, newest first, each reporting its parent, then the
    // two new ones committed.
    let after = handler.chain.lock().unwrap().clone();
    let n = before.len();
    assert_eq!(before[n - 1].number, number);
    assert_eq!(
        ops[mark..],
        [
            Op::Revert(before[n - 1]),
            Op::Finished(before[n - 2]),
            Op::Revert(before[n - 2]),
            Op::Finished(before[n - 3]),
            Op::Commit(after[n - 2]),
            Op::Finished(after[n - 2]),
            Op::Commit(after[n - 1]),
            Op::Finished(after[n - 1]),
        ]
    );
    assert_eq!(after.len(), n);
    for b in &after {
        assert_eq!(b.hash, hash(&canonical(&anvil, b.number)["hash"]));
    }
}
