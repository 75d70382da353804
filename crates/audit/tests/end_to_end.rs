//! The slashing story on a real devnet (anvil in OP Stack mode with the genesis, the node on
//! top): two staked routers route the simulator's load, the lazy one skips to fallback at peak
//! load and once generates twice; the auditor replays every batch from chain data and the
//! node, finds exactly the lazy router's offending decisions, challenges them, and the lazy
//! router is slashed and jailed, the challenger paid, the honest router untouched. Then the
//! command line's exit codes, and a duplicate decision committed straight to the contract
//! (no node in between) caught across batches from chain data alone.

#[path = "../../node/tests/common/mod.rs"]
mod common;

use alloy_primitives::{Address, B256, U256};
use routing_audit::{
    load::{fleet_load, offending_requests, Conduct},
    send_challenge, Auditor, ChainReader, Challengeable, NextRegistry, Verdict,
};
use routing_contracts::{batch::SealedBatch, devnet, gas};
use routing_policy::Registry;
use routing_primitives::{
    abi::sol::{IStakeToken, IStaking},
    domain, rlp,
};
use routing_rpc_api::{DecisionInput, RoutingApiClient, SubmitResult, U64};
use std::{collections::HashSet, time::Duration};
use tokio::io::{AsyncBufReadExt, BufReader};

const HONEST: usize = 1;
const LAZY: usize = 2;
const CHALLENGER: usize = 5;

fn stake_of(rpc: &routing_contracts::anvil::RpcClient, i: usize) -> U256 {
    common::view(rpc, devnet::STAKING, IStaking::stakeOfCall { router: devnet::dev_address(i) })
        .active
}

fn jailed(rpc: &routing_contracts::anvil::RpcClient, i: usize) -> bool {
    common::view(rpc, devnet::STAKING, IStaking::jailedCall { router: devnet::dev_address(i) })
}

fn balance(rpc: &routing_contracts::anvil::RpcClient, who: Address) -> U256 {
    common::view(rpc, devnet::STAKE_TOKEN, IStakeToken::balanceOfCall { account: who })
}

async fn submit(client: &impl RoutingApiClient, decisions: &[routing_audit::load::LoadDecision]) {
    for chunk in decisions.chunks(250) {
        let inputs =
            chunk.iter().map(|d| DecisionInput::Rlp(rlp::encode(&d.signed).into())).collect();
        for r in client.submit_decisions(inputs).await.unwrap() {
            assert!(matches!(r, SubmitResult::Receipt(_)), "refused: {r:?}");
        }
    }
}

async fn sequenced(client: &impl RoutingApiClient) -> u64 {
    common::wait_for("everything committed", Duration::from_secs(120), async || {
        let s = client.status().await.ok()?;
        (s.pending == U64::ZERO && s.uncommitted_batches == U64::ZERO)
            .then(|| s.committed_batches.to::<u64>())
    })
    .await
}

/// Runs the binary without blocking the runtime (the node under test serves it from this
/// process's runtime).
async fn audit_cli(args: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_routing-audit"))
        .args(args)
        .output()
        .await
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lazy_router_is_found_challenged_and_slashed() {
    let anvil = common::anvil(0);
    let rpc = anvil.rpc();
    common::stake(rpc, HONEST, 10_000);
    common::stake(rpc, LAZY, 10_000);
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(&anvil, dir.path());
    config.batcher.max_decisions = 250;
    let node = routing_node::start(config).await.unwrap();
    let client = common::client(&node);

    let registry = Registry::try_from(client.get_registry(None).await.unwrap().registry).unwrap();
    let dom = domain(devnet::CHAIN_ID, devnet::SETTLEMENT);
    let load = fleet_load(
        &registry,
        1_200,
        7,
        &devnet::dev_signer(HONEST),
        &devnet::dev_signer(LAZY),
        &dom,
    );
    let expected: HashSet<B256> = offending_requests(&load).into_iter().collect();
    assert!(load.iter().any(|d| d.conduct == Conduct::SkippedToFallback && d.breaks_rules));
    assert!(load.iter().any(|d| d.conduct == Conduct::DuplicateGeneration && d.breaks_rules));
    assert!(load
        .iter()
        .all(|d| !d.breaks_rules || d.signed.decision.router == devnet::dev_address(LAZY)));

    // A first batch off-peak, then the rest.
    submit(&client, &load[..40]).await;
    assert_eq!(sequenced(&client).await, 1);
    submit(&client, &load[40..]).await;
    let batches = sequenced(&client).await;
    assert!(batches >= 5, "{batches} batches");

    // Replay every batch from chain data and the node.
    let chain = ChainReader::connect(&anvil.url(), devnet::SETTLEMENT).await.unwrap();
    assert_eq!(chain.last_batch_id().await.unwrap(), batches);
    let mut auditor = Auditor::new(chain, Some(client.clone()));
    let mut audits = Vec::new();
    for id in 1..=batches {
        audits.push(auditor.audit_batch(id).await);
    }
    for a in &audits {
        assert_eq!(a.root_matches, Some(true), "batch {}", a.batch_id);
        assert_eq!(a.node_agrees, Some(true), "batch {}", a.batch_id);
        assert_eq!(a.signatures_valid, a.decisions, "batch {}", a.batch_id);
        assert!(a.problems.is_empty(), "batch {}: {:?}", a.batch_id, a.problems);
        let next =
            if a.batch_id == batches { NextRegistry::Pending } else { NextRegistry::Matches };
        assert_eq!(a.next_registry, Some(next), "batch {}", a.batch_id);
    }
    assert_eq!(audits[0].verdict, Verdict::Clean, "{:?}", audits[0].findings);
    let findings: Vec<_> = audits.iter().flat_map(|a| a.findings.clone()).collect();
    let found: HashSet<B256> = findings.iter().filter_map(|f| f.request_id).collect();
    assert_eq!(found, expected, "the auditor finds exactly the offending decisions");
    assert_eq!(found.len(), findings.len(), "one finding per offending decision");
    for f in &findings {
        assert_eq!(f.router, Some(devnet::dev_address(LAZY)));
        assert!(matches!(f.challenge, Challengeable::Misrouting { .. }), "{f:?}");
    }

    let el = anvil.url();
    let node_url = node.rpc_url();
    let base = ["--el-rpc", el.as_str(), "--node", node_url.as_str()];
    let at = |f: &routing_audit::Finding| (f.batch_id.to_string(), f.index.unwrap().to_string());

    // Challenge every finding: the first two from the command line (calldata printed for an
    // external wallet, then sent with a key), the rest through the library.
    let honest_before = stake_of(rpc, HONEST);
    let lazy_before = stake_of(rpc, LAZY);
    let challenger = devnet::dev_signer(CHALLENGER);
    let paid_before = balance(rpc, challenger.address());
    let (batch, index) = at(&findings[0]);
    let challenge = ["challenge", "--batch", &batch, "--index", &index];
    let (code, out) = audit_cli(&[&base[..], &challenge, &["--print-calldata"]].concat()).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("challengeMisrouting") && out.contains("data: 0x"), "{out}");
    assert_eq!(stake_of(rpc, LAZY), lazy_before, "printing sends nothing");
    let key = devnet::DEV_KEYS[CHALLENGER].to_string();
    let (code, out) = audit_cli(&[&base[..], &challenge, &["--key", &key]].concat()).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("challenged batch") && out.contains("slashed"), "{out}");
    let cli_slashed = lazy_before - stake_of(rpc, LAZY);
    assert!(!cli_slashed.is_zero());
    let (mut slashed, mut rewards) =
        (cli_slashed, balance(rpc, challenger.address()) - paid_before);
    for f in &findings[1..] {
        let tx = auditor.challenge_for(f).await.unwrap();
        let receipt = send_challenge(&anvil.url(), &challenger, &tx).await.unwrap();
        assert_eq!(receipt.router, devnet::dev_address(LAZY));
        assert!(receipt.reward < receipt.slashed && !receipt.slashed.is_zero());
        assert!(receipt.gas_used <= 250_000, "{} gas", receipt.gas_used);
        slashed += receipt.slashed;
        rewards += receipt.reward;
    }
    assert_eq!(stake_of(rpc, LAZY), lazy_before - slashed);
    assert!(jailed(rpc, LAZY));
    assert_eq!(stake_of(rpc, HONEST), honest_before);
    assert!(!jailed(rpc, HONEST));
    assert_eq!(balance(rpc, challenger.address()), paid_before + rewards);
    let again = auditor.challenge_for(&findings[0]).await.unwrap_err();
    assert!(again.contains("slashed already"), "{again}");

    // The command line: exit codes and JSON.
    let (code, out) = audit_cli(&[&base[..], &["replay", "--batch", "1"]].concat()).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("clean"), "{out}");
    let (code, out) = audit_cli(&[&base[..], &["replay", "--json"]].concat()).await;
    assert_eq!(code, 1, "{out}");
    let summary: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(summary["batches"], batches);
    assert_eq!(summary["exitCode"], 1);
    let (code, out) = audit_cli(&[&base[..], &["replay", "--batch", "999"]].concat()).await;
    assert_eq!(code, 2, "{out}");
    let (code, _) = audit_cli(&[&base[..], &["replay", "--batch", "x"]].concat()).await;
    assert_eq!(code, 64);
    // Slashed already: refused with a message, exit 2.
    let (code, out) = audit_cli(&[&base[..], &challenge, &["--print-calldata"]].concat()).await;
    assert_eq!(code, 2, "{out}");

    // Following: the committed batches, then a new one as it lands; Ctrl-C ends it with the
    // verdicts' exit code.
    let mut follow = tokio::process::Command::new(env!("CARGO_BIN_EXE_routing-audit"))
        .args(base)
        .args(["--json", "replay", "--from", &batches.to_string(), "--follow", "--poll-ms", "100"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    let mut line = async || -> serde_json::Value {
        let text = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("routing-audit printed nothing for 60 s")
            .unwrap()
            .expect("routing-audit ended early");
        serde_json::from_str(&text).unwrap()
    };
    assert_eq!(line().await["audit"]["batchId"], batches);
    let more = fleet_load(
        &registry,
        10,
        99,
        &devnet::dev_signer(HONEST),
        &devnet::dev_signer(HONEST),
        &dom,
    );
    submit(&client, &more).await;
    assert_eq!(sequenced(&client).await, batches + 1);
    assert_eq!(line().await["audit"]["batchId"], batches + 1);
    // SAFETY: signalling a child process this test started.
    unsafe { libc::kill(follow.id().unwrap() as i32, libc::SIGINT) };
    let summary = line().await;
    assert_eq!(summary["batches"], 2);
    assert_eq!(follow.wait().await.unwrap().code(), Some(1), "batch {batches} has violations");

    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_duplicate_across_batches_is_caught_from_chain_data_alone() {
    let anvil = common::anvil(0);
    let rpc = anvil.rpc();
    let router = 3;
    common::stake(rpc, router, 10_000);
    let key = devnet::dev_signer(router);
    let dom = domain(devnet::CHAIN_ID, devnet::SETTLEMENT);
    let registry = gas::fleet(1);

    // Batch 1 and 2, committed by the sequencer key without a node: the same request twice.
    let first = gas::routed_batch(&registry, std::slice::from_ref(&key), 5, 11);
    let batch1 = SealedBatch::seal(1, B256::ZERO, registry.root(), first.clone()).unwrap();
    let decisions: Vec<_> = first.iter().map(|s| s.decision.clone()).collect();
    let registry2 = registry.next(&decisions);
    let mut again = first[2].decision.clone();
    again.registry_epoch = 2;
    again.budget_tokens = registry2.router_tokens(&key.address());
    let again = again.sign(&key, &dom).unwrap();
    let batch2 = SealedBatch::seal(2, batch1.hash(), registry2.root(), vec![again]).unwrap();
    let owner = devnet::dev_address(devnet::OWNER_INDEX);
    for b in [&batch1, &batch2] {
        common::send(
            rpc,
            owner,
            devnet::SETTLEMENT,
            alloy_sol_types::SolCall::abi_encode(&b.commit_call()),
        );
    }

    // Without a node or a registry file there is no registry to replay against.
    let chain = ChainReader::connect(&anvil.url(), devnet::SETTLEMENT).await.unwrap();
    let mut blind = Auditor::new(chain.clone(), None);
    let a = blind.audit_batch(1).await;
    assert_eq!(a.verdict, Verdict::Unverifiable);
    assert_eq!(a.root_matches, None);
    assert_eq!(routing_audit::exit_code([&a.verdict]), routing_audit::EXIT_UNVERIFIABLE);

    // With the genesis registry from a file, chain data alone is enough.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.json");
    let data: routing_policy::RegistryData = registry.clone().into();
    std::fs::write(&path, serde_json::to_string(&data).unwrap()).unwrap();
    let mut auditor = Auditor::new(chain, None);
    assert_eq!(auditor.load_registry(&path).await.unwrap(), 1);
    let a1 = auditor.audit_batch(1).await;
    assert_eq!(a1.verdict, Verdict::Clean, "{a1:?}");
    assert_eq!(a1.node_agrees, None);
    assert_eq!(a1.next_registry, Some(NextRegistry::Matches));
    let a2 = auditor.audit_batch(2).await;
    assert_eq!(a2.verdict, Verdict::Violations);
    assert_eq!(a2.findings.len(), 1, "{:?}", a2.findings);
    let f = &a2.findings[0];
    assert_eq!(f.challenge, Challengeable::Duplicate { first_batch: 1, first_index: 2 });

    let challenger = devnet::dev_signer(CHALLENGER);
    let before = stake_of(rpc, router);
    let tx = auditor.challenge_for(f).await.unwrap();
    assert_eq!(tx.function, "challengeDuplicate");
    let receipt = send_challenge(&anvil.url(), &challenger, &tx).await.unwrap();
    assert_eq!(receipt.router, key.address());
    assert_eq!(stake_of(rpc, router), before - receipt.slashed);
    assert!(jailed(rpc, router));

    // The command line, chain only, with the registry file.
    let el = anvil.url();
    let (code, out) = audit_cli(&[
        "--el-rpc",
        el.as_str(),
        "--registry",
        path.to_str().unwrap(),
        "replay",
        "--from",
        "1",
    ])
    .await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("already decided in batch 1"), "{out}");
}
