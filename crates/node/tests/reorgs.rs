//! Reorgs of depth 1 to 10 (`anvil_reorg`) and rollbacks (`anvil_rollback`) injected while
//! decisions stream in: batches whose commit transaction fell out of the chain are posted again,
//! and in the end every accepted decision is in exactly one batch committed on the canonical
//! chain.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use routing_contracts::{devnet, gas};
use routing_policy::Registry;
use routing_primitives::rlp;
use routing_rpc_api::{DecisionInput, RoutingApiClient, SubmitResult, U64};
use serde_json::json;
use std::{collections::HashSet, time::Duration};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_and_rollbacks_lose_and_duplicate_nothing() {
    let anvil = anvil(0);
    let rpc = anvil.rpc().clone();
    for i in 1..=2 {
        stake(&rpc, i, 2_000);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&anvil, dir.path());
    config.batcher.max_decisions = 60;
    config.batcher.max_age_ms = 100;
    config.batcher.repost_after_ms = 2_000;
    let node = routing_node::start(config).await.unwrap();
    let client = client(&node);
    // Count the batches whose commit fell out of the chain (the disturbances must hit some).
    let ws = jsonrpsee::ws_client::WsClientBuilder::default().build(node.ws_url()).await.unwrap();
    let mut events =
        jsonrpsee::core::client::SubscriptionClientT::subscribe::<routing_rpc_api::BatchEvent, _>(
            &ws,
            "routing_subscribeBatches",
            jsonrpsee::rpc_params![],
            "routing_unsubscribeBatches",
        )
        .await
        .unwrap();
    let reverted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = reverted.clone();
    tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            if event.kind == routing_rpc_api::BatchEventKind::Reverted {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });

    let registry = Registry::try_from(client.get_registry(None).await.unwrap().registry).unwrap();
    let routers: Vec<_> = (1..=2).map(devnet::dev_signer).collect();
    let decisions = gas::routed_batch(&registry, &routers, 2_400, 9);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    let mut accepted = HashSet::new();
    let mut reorgs = 0;
    let mut rollbacks = 0;
    for (k, chunk) in decisions.chunks(60).enumerate() {
        let inputs = chunk.iter().map(|s| DecisionInput::Rlp(rlp::encode(s).into())).collect();
        for r in client.submit_decisions(inputs).await.unwrap() {
            let SubmitResult::Receipt(r) = r else { panic!("refused: {r:?}") };
            accepted.insert(r.request_id);
        }
        // Let some batches land, then disturb the chain.
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..250))).await;
        if k % 3 == 2 {
            let head: u64 = u64::from_str_radix(
                rpc.call("eth_blockNumber", json!([]))
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .trim_start_matches("0x"),
                16,
            )
            .unwrap();
            let depth = rng.random_range(1..=10u64).min(head.saturating_sub(10)).max(1);
            if k % 2 == 0 {
                rpc.call("anvil_reorg", json!([depth, []])).unwrap();
                reorgs += 1;
            } else {
                rpc.call("anvil_rollback", json!([depth])).unwrap();
                rollbacks += 1;
            }
        }
    }
    assert!(reorgs >= 5 && rollbacks >= 5, "{reorgs} reorgs, {rollbacks} rollbacks");
    // New blocks after the last disturbance let the extension see the final chain.
    let status = wait_for(
        "every batch committed on the canonical chain",
        Duration::from_secs(180),
        async || {
            rpc.call("evm_mine", json!([])).unwrap();
            let s = client.status().await.unwrap();
            let done = s.pending == U64::ZERO
                && s.uncommitted_batches == U64::ZERO
                && s.decisions == U64::from(accepted.len());
            done.then_some(s)
        },
    )
    .await;

    let reverted = reverted.load(std::sync::atomic::Ordering::Relaxed);
    assert!(reverted >= 5, "only {reverted} committed batches were reorged away");
    let seen = committed_decisions(&client, &rpc, status.sealed_batches.to()).await;
    assert_eq!(seen, accepted, "every accepted decision is in exactly one committed batch");
    node.shutdown().await;
}
