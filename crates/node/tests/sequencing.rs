//! 10,000 signed decisions from several routers are sealed into batches of 1,200, committed on
//! a real anvil, and every proof verifies against a root committed on-chain.

mod common;

use common::*;
use routing_contracts::{devnet, gas};
use routing_policy::Registry;
use routing_primitives::rlp;
use routing_rpc_api::{DecisionInput, RoutingApiClient, SubmitResult, U64};
use std::{collections::HashSet, time::Duration};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_decisions_sealed_committed_and_proven() {
    let anvil = anvil(0);
    let rpc = anvil.rpc().clone();
    for i in 1..=3 {
        stake(&rpc, i, 2_000);
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&anvil, dir.path());
    // Long enough that only the last, partial batch is sealed by age.
    config.batcher.max_age_ms = 3_000;
    let node = routing_node::start(config).await.unwrap();
    let client = client(&node);

    let registry = Registry::try_from(client.get_registry(None).await.unwrap().registry).unwrap();
    let routers: Vec<_> = (1..=3).map(devnet::dev_signer).collect();
    let decisions = gas::routed_batch(&registry, &routers, 10_000, 42);
    let mut ids = HashSet::new();
    for chunk in decisions.chunks(1_000) {
        let inputs = chunk.iter().map(|s| DecisionInput::Rlp(rlp::encode(s).into())).collect();
        for (result, signed) in
            client.submit_decisions(inputs).await.unwrap().into_iter().zip(chunk)
        {
            let SubmitResult::Receipt(receipt) = result else { panic!("refused: {result:?}") };
            assert_eq!(receipt.request_id, signed.decision.request.id);
            assert_eq!(receipt.decision_hash, signed.decision.leaf_hash());
            ids.insert(receipt.request_id);
        }
    }
    assert_eq!(ids.len(), 10_000);

    let status = wait_for("every batch committed", Duration::from_secs(120), async || {
        let s = client.status().await.unwrap();
        (s.pending == U64::ZERO
            && s.decisions == U64::from(10_000)
            && s.uncommitted_batches == U64::ZERO
            && s.sealed_batches > U64::ZERO)
            .then_some(s)
    })
    .await;
    let batches: u64 = status.sealed_batches.to();
    assert_eq!(batches, 9, "10,000 decisions at 1,200 per batch: 8 full batches and one of 400");

    for id in 1..=batches {
        let expected = if id < 9 { 1_200 } else { 400 };
        assert_eq!(client.get_batch(U64::from(id)).await.unwrap().count, U64::from(expected));
    }
    let seen = committed_decisions(&client, &rpc, batches).await;
    assert_eq!(seen, ids, "every admitted decision is in exactly one committed batch");

    for signed in &decisions {
        let proof = client.get_proof(signed.decision.request.id).await.unwrap();
        assert!(proof.committed);
        let batch = client.get_batch(proof.batch_id).await.unwrap();
        assert_eq!(proof.root, batch.decisions_root);
        assert_eq!(proof.header_hash, batch.header_hash);
        assert_eq!(proof.l2_block_number, batch.l2_block_number);
        assert!(routing_merkle::verify(&proof.proof, proof.root, signed.decision.leaf_hash()));
    }
    node.shutdown().await;
}
