//! Bad input gets the right JSON-RPC error, never a crash, and the node keeps serving.

mod common;

use alloy_primitives::{Bytes, B256};
use common::*;
use jsonrpsee::core::ClientError;
use routing_contracts::devnet;
use routing_policy::Registry;
use routing_primitives::rlp;
use routing_rpc_api::{codes, DecisionInput, RoutingApiClient, SubmitResult, U64};
use serde_json::json;

fn code(e: ClientError) -> i32 {
    match e {
        ClientError::Call(e) => e.code(),
        other => panic!("not a call error: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_gets_its_error() {
    let anvil = anvil(0);
    stake(anvil.rpc(), 1, 2_000);
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&anvil, dir.path());
    config.rpc.max_request_bytes = 64 * 1024;
    config.rpc.max_decisions_per_call = 10;
    config.rpc.max_batch_calls = 5;
    config.batcher.max_age_ms = 600_000; // nothing is sealed: decisions stay pending
    let node = routing_node::start(config).await.unwrap();
    let addr = node.rpc_addr();
    let client = client(&node);
    let registry = Registry::try_from(client.get_registry(None).await.unwrap().registry).unwrap();

    // Malformed JSON: a parse error.
    let reply = post_raw(addr, r#"{"jsonrpc":"2.0","id":1,"method":"routing_status""#);
    assert_eq!(reply["error"]["code"], json!(-32700), "{reply}");
    // Not a request object.
    let reply = post_raw(addr, r#"[1, 2]"#);
    assert!(reply.to_string().contains("-32600"), "{reply}");
    // Unknown method.
    let reply = post_raw(addr, r#"{"jsonrpc":"2.0","id":1,"method":"routing_nope","params":[]}"#);
    assert_eq!(reply["error"]["code"], json!(-32601), "{reply}");
    // Wrong types: a batch id that is not a quantity, a decision that is neither hex nor an object.
    let reply =
        post_raw(addr, r#"{"jsonrpc":"2.0","id":1,"method":"routing_getBatch","params":["one"]}"#);
    assert_eq!(reply["error"]["code"], json!(codes::INVALID_PARAMS), "{reply}");
    let reply = post_raw(
        addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"routing_submitDecision","params":[42]}"#,
    );
    assert_eq!(reply["error"]["code"], json!(codes::INVALID_PARAMS), "{reply}");
    let reply = post_raw(
        addr,
        r#"{"jsonrpc":"2.0","id":1,"method":"routing_submitDecision","params":[{"decision":{}}]}"#,
    );
    assert_eq!(reply["error"]["code"], json!(codes::INVALID_PARAMS), "{reply}");
    // Bytes that are not a decision.
    let e = client
        .submit_decision(DecisionInput::Rlp(Bytes::from(vec![0xc3, 1, 2, 3])))
        .await
        .unwrap_err();
    assert_eq!(code(e), codes::INVALID_DECISION);
    // A request over the size limit.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"routing_submitDecision","params":["0x{}"]}}"#,
        "00".repeat(40_000)
    );
    let reply = post_raw(addr, &big);
    assert!(
        reply.to_string().to_lowercase().contains("too big") || reply.to_string().contains("413"),
        "{reply}"
    );
    // A JSON-RPC batch over the call limit.
    let calls: Vec<_> = (0..6)
        .map(|i| json!({"jsonrpc":"2.0","id":i,"method":"routing_status","params":[]}))
        .collect();
    let reply = post_raw(addr, &serde_json::to_string(&calls).unwrap());
    assert_eq!(reply["error"]["code"], json!(-32010), "batch too big: {reply}");
    // Too many decisions in one call.
    let many: Vec<_> = (0..11u8)
        .map(|i| DecisionInput::Rlp(rlp::encode(&decision(&registry, 1, i)).into()))
        .collect();
    assert_eq!(code(client.submit_decisions(many).await.unwrap_err()), codes::TOO_MANY_DECISIONS);

    // A bad signature: signed by router 1's key, claiming router 2.
    let mut forged = decision(&registry, 1, 100);
    forged.decision.router = devnet::dev_address(2);
    let e = client.submit_decision(DecisionInput::Json(Box::new(forged))).await.unwrap_err();
    assert_eq!(code(e), codes::INVALID_SIGNATURE);
    // A router without stake.
    let unstaked = decision(&registry, 3, 101);
    assert_eq!(
        code(client.submit_decision(DecisionInput::Json(Box::new(unstaked))).await.unwrap_err()),
        codes::ROUTER_NOT_ACTIVE
    );
    // A registry epoch that is not open.
    let mut future = decision(&registry, 1, 102).decision;
    future.registry_epoch = 99;
    let future = future
        .sign(
            &devnet::dev_signer(1),
            &routing_primitives::domain(devnet::CHAIN_ID, devnet::SETTLEMENT),
        )
        .unwrap();
    assert_eq!(
        code(client.submit_decision(DecisionInput::Json(Box::new(future))).await.unwrap_err()),
        codes::REGISTRY_EPOCH
    );

    // Admitted, then the same again (same receipt), then a different decision for the request.
    let good = decision(&registry, 1, 103);
    let receipt =
        client.submit_decision(DecisionInput::Json(Box::new(good.clone()))).await.unwrap();
    let again =
        client.submit_decision(DecisionInput::Rlp(rlp::encode(&good).into())).await.unwrap();
    assert_eq!(receipt, again);
    let mut other = good.decision.clone();
    other.request.submit_ms += 1;
    let other = other
        .sign(
            &devnet::dev_signer(1),
            &routing_primitives::domain(devnet::CHAIN_ID, devnet::SETTLEMENT),
        )
        .unwrap();
    let ClientError::Call(conflict) =
        client.submit_decision(DecisionInput::Json(Box::new(other))).await.unwrap_err()
    else {
        panic!("not a call error")
    };
    assert_eq!(conflict.code(), codes::CONFLICTING_DECISION);
    let data: routing_rpc_api::DecisionReceipt =
        serde_json::from_str(conflict.data().unwrap().get()).unwrap();
    assert_eq!(data, receipt, "the error carries the first decision's receipt");

    // Mixed batch submit: one result per decision, in order.
    let results = client
        .submit_decisions(vec![
            DecisionInput::Rlp(rlp::encode(&decision(&registry, 1, 104)).into()),
            DecisionInput::Rlp(Bytes::from(vec![1, 2, 3])),
            DecisionInput::Json(Box::new(decision(&registry, 3, 105))),
        ])
        .await
        .unwrap();
    assert!(matches!(&results[0], SubmitResult::Receipt(_)));
    assert!(matches!(&results[1], SubmitResult::Error(e) if e.code() == codes::INVALID_DECISION));
    assert!(matches!(&results[2], SubmitResult::Error(e) if e.code() == codes::ROUTER_NOT_ACTIVE));

    // Unknown things.
    assert_eq!(code(client.get_batch(U64::from(999)).await.unwrap_err()), codes::UNKNOWN_BATCH);
    assert_eq!(
        code(client.get_batch_decisions(U64::from(999), None, None).await.unwrap_err()),
        codes::UNKNOWN_BATCH
    );
    assert_eq!(code(client.replay_batch(U64::from(999)).await.unwrap_err()), codes::UNKNOWN_BATCH);
    assert_eq!(
        code(client.get_decision(B256::repeat_byte(0xee)).await.unwrap_err()),
        codes::UNKNOWN_DECISION
    );
    assert_eq!(
        code(client.get_proof(B256::repeat_byte(0xee)).await.unwrap_err()),
        codes::UNKNOWN_DECISION
    );
    assert_eq!(
        code(client.get_registry(Some(U64::from(999))).await.unwrap_err()),
        codes::UNKNOWN_REGISTRY
    );
    // A pending decision has no proof yet.
    assert_eq!(
        code(client.get_proof(good.decision.request.id).await.unwrap_err()),
        codes::NOT_SEALED
    );

    // Still serving, with the conflict kept as evidence.
    let status = client.status().await.unwrap();
    assert_eq!(status.decisions, U64::from(2));
    assert_eq!(status.conflicts, U64::from(1));
    node.shutdown().await;
}
