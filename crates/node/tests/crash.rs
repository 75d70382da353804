//! `kill -9` at random moments: the node binary is killed while decisions stream in (mid-write,
//! mid-seal, mid-post), restarted, killed again. Decisions whose receipt was lost are submitted
//! again (admission is idempotent). In the end every decision is in exactly one batch committed
//! on the chain.

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use routing_contracts::{devnet, gas};
use routing_primitives::{rlp, SignedDecision};
use routing_rpc_api::{DecisionInput, RoutingApiClient, SubmitResult, U64};
use std::{
    collections::HashSet,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

struct NodeProcess {
    child: Arc<Mutex<Child>>,
}

fn spawn_node(anvil_url: &str, dir: &std::path::Path, port: u16, metrics: u16) -> NodeProcess {
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(dir.join("node.log")).unwrap();
    // The README's way: a configuration file, the execution client on the command line, the
    // sequencer key from the environment.
    let mut config = routing_node::Config { datadir: dir.join("data"), ..Default::default() };
    config.rpc.addr = format!("127.0.0.1:{port}").parse().unwrap();
    config.metrics.addr = Some(format!("127.0.0.1:{metrics}").parse().unwrap());
    config.batcher.max_decisions = 50;
    config.batcher.max_age_ms = 100;
    let path = dir.join("node.toml");
    std::fs::write(&path, config.to_toml()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_routing-node"))
        .args(["run", "--el-rpc", anvil_url, "--config"])
        .arg(&path)
        .env("ROUTING_SEQUENCER_KEY", devnet::DEV_KEYS[devnet::OWNER_INDEX].to_string())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    NodeProcess { child: Arc::new(Mutex::new(child)) }
}

fn http(port: u16) -> jsonrpsee::http_client::HttpClient {
    jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(format!("http://127.0.0.1:{port}"))
        .unwrap()
}

/// Submits `chunk`; the receipts' request ids, or `None` if the node went away mid-call.
async fn submit(
    client: &jsonrpsee::http_client::HttpClient,
    chunk: &[SignedDecision],
) -> Option<Vec<alloy_primitives::B256>> {
    let inputs = chunk.iter().map(|s| DecisionInput::Rlp(rlp::encode(s).into())).collect();
    let results = client.submit_decisions(inputs).await.ok()?;
    Some(
        results
            .into_iter()
            .map(|r| match r {
                SubmitResult::Receipt(r) => r.request_id,
                SubmitResult::Error(e) => panic!("refused: {e:?}"),
            })
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_at_random_moments_loses_and_duplicates_nothing() {
    let anvil = anvil(0);
    let rpc = anvil.rpc().clone();
    for i in 1..=2 {
        stake(&rpc, i, 2_000);
    }
    let dir = tempfile::tempdir().unwrap();
    let (port, metrics) = (free_port(), free_port());
    let routers: Vec<_> = (1..=2).map(devnet::dev_signer).collect();
    // Routed against the genesis registry (epoch 1), which the node uses on first start.
    let decisions = gas::routed_batch(&gas::fleet(1), &routers, 1_500, 11);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut acknowledged: HashSet<alloy_primitives::B256> = HashSet::new();
    let mut next = 0usize;
    let mut kills = 0;

    // At least three kills: once everything is submitted, the kills land mid-seal and mid-post.
    while next < decisions.len() || kills < 3 {
        let node = spawn_node(&anvil.url(), dir.path(), port, metrics);
        let client = http(port);
        wait_for("the node to answer", Duration::from_secs(60), async || {
            client.status().await.ok()
        })
        .await;
        // Kill it at a random moment while decisions stream in.
        let victim = node.child.clone();
        let delay = Duration::from_millis(rng.random_range(100..1_500));
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            victim.lock().unwrap().kill().unwrap(); // SIGKILL
        });
        while next < decisions.len() {
            let chunk = &decisions[next..(next + 25).min(decisions.len())];
            match submit(&client, chunk).await {
                Some(ids) => {
                    acknowledged.extend(ids);
                    next += chunk.len();
                }
                // The node died: the chunk may or may not be stored; it is submitted again.
                None => break,
            }
        }
        killer.join().unwrap();
        node.child.lock().unwrap().wait().unwrap();
        kills += 1;
    }

    // A last run: everything is submitted again (idempotent) and lands.
    let node = spawn_node(&anvil.url(), dir.path(), port, metrics);
    let client = http(port);
    wait_for("the node to answer", Duration::from_secs(60), async || client.status().await.ok())
        .await;
    for chunk in decisions.chunks(100) {
        let ids = submit(&client, chunk).await.expect("the node stays up");
        for id in &ids {
            assert!(
                acknowledged.contains(id) || chunk.iter().any(|s| s.decision.request.id == *id)
            );
        }
        acknowledged.extend(ids);
    }
    assert_eq!(acknowledged.len(), decisions.len());
    let status = wait_for("every batch committed", Duration::from_secs(180), async || {
        let s = client.status().await.ok()?;
        (s.pending == U64::ZERO && s.uncommitted_batches == U64::ZERO).then_some(s)
    })
    .await;
    assert_eq!(status.decisions, U64::from(decisions.len()), "no decision stored twice");

    let seen = committed_decisions(&client, &rpc, status.sealed_batches.to()).await;
    assert_eq!(seen, acknowledged, "every decision is in exactly one committed batch");
    node.child.lock().unwrap().kill().unwrap();
}
