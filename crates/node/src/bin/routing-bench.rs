//! `routing-bench`: the routing node under load, measured over JSON-RPC, printed as a table.
//!
//! It starts a dev chain (anvil in OP Stack mode, `--block-time` seconds per block) and the
//! node in this process, stakes the routers, and then:
//!
//! 1. **Admission**: signs every decision and serializes every request before the clock starts,
//!    then sends `routing_submitDecisions` calls over `--connections` keep-alive HTTP
//!    connections as fast as the node answers; decisions admitted per second.
//! 2. **Submit → sequenced**: submits single decisions at `--latency-rate` per second and takes
//!    the time from each submit to the `committed` event of its batch
//!    (`routing_subscribeBatches`); p50 and p99 against the block time.
//! 3. **Proofs**: `routing_getProof` for random sequenced decisions over the same connections;
//!    proofs per second and p99.
//!
//! Build it optimised: `cargo run --release -p routing-node --bin routing-bench`.

use alloy_primitives::B256;
use clap::Parser;
use jsonrpsee::{core::client::SubscriptionClientT, rpc_params, ws_client::WsClientBuilder};
use rand::{Rng, SeedableRng};
use routing_contracts::{
    anvil::{Anvil, RpcClient},
    devnet, gas,
};
use routing_node::Config;
use routing_policy::Registry;
use routing_primitives::{rlp, SignedDecision};
use routing_rpc_api::{BatchEvent, BatchEventKind, RoutingApiClient, U64};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpStream},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Measure the routing node's admission rate, sequencing latency and proof service.
#[derive(Debug, Parser)]
#[command(name = "routing-bench", version)]
struct Cli {
    /// Decisions in the admission run.
    #[arg(long, default_value_t = 60_000)]
    decisions: usize,
    /// Decisions per `routing_submitDecisions` call.
    #[arg(long, default_value_t = 500)]
    per_call: usize,
    /// Concurrent HTTP connections.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Routers (dev accounts 1..=N) the decisions come from.
    #[arg(long, default_value_t = 4)]
    routers: usize,
    /// Seconds per L2 block of the dev chain.
    #[arg(long, default_value_t = 1)]
    block_time: u64,
    /// Decisions per second in the latency run.
    #[arg(long, default_value_t = 200)]
    latency_rate: u64,
    /// Seconds of the latency run.
    #[arg(long, default_value_t = 20)]
    latency_secs: u64,
    /// Seconds of the proof run.
    #[arg(long, default_value_t = 10)]
    proof_secs: u64,
    /// Seal a batch at this many decisions.
    #[arg(long, default_value_t = 1_200)]
    max_decisions: usize,
    /// Seal pending decisions after this many milliseconds.
    #[arg(long, default_value_t = 200)]
    max_age_ms: u64,
}

/// A keep-alive HTTP/1.1 connection that sends pre-built requests.
struct Conn {
    stream: BufReader<TcpStream>,
}

impl Conn {
    fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Self { stream: BufReader::new(stream) })
    }

    fn request_bytes(addr: SocketAddr, body: &str) -> Vec<u8> {
        format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    /// Sends one pre-built request and returns the response body.
    fn send(&mut self, request: &[u8]) -> std::io::Result<Vec<u8>> {
        self.stream.get_mut().write_all(request)?;
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body)?;
        Ok(body)
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn stake(rpc: &RpcClient, i: usize) -> eyre::Result<()> {
    use alloy_sol_types::SolCall;
    use routing_primitives::abi::sol::{IStakeToken, IStaking};
    let who = devnet::dev_address(i);
    let amount = alloy_primitives::U256::from(10_000u64) * devnet::TOKEN;
    for (to, data) in [
        (
            devnet::STAKE_TOKEN,
            IStakeToken::approveCall { spender: devnet::STAKING, value: amount }.abi_encode(),
        ),
        (devnet::STAKING, IStaking::stakeCall { amount }.abi_encode()),
    ] {
        let hash = rpc.call(
            "eth_sendTransaction",
            json!([{ "from": who, "to": to, "data": format!("0x{}", alloy_primitives::hex::encode(data)) }]),
        )?;
        let receipt = rpc.receipt(&hash, Duration::from_secs(60))?;
        eyre::ensure!(receipt["status"] == json!("0x1"), "staking transaction failed: {receipt}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    routing_node::init_logging(routing_node::LogFormat::Text);
    let mut anvil_args = gas::anvil_args(
        &routing_contracts::artifacts::contracts_dir().join("../genesis/genesis.json"),
    );
    if cli.block_time > 0 {
        anvil_args.extend(["--block-time".into(), cli.block_time.to_string()]);
    }
    let anvil = Anvil::spawn(anvil_args)?;
    for i in 1..=cli.routers {
        stake(anvil.rpc(), i)?;
    }
    let dir = tempfile_dir()?;
    let mut config = Config { datadir: dir.clone(), ..Config::default() };
    config.chain.el_rpc = anvil.url().replace("http://", "ws://");
    config.sequencer.key = Some(devnet::DEV_KEYS[devnet::OWNER_INDEX]);
    config.rpc.addr = "127.0.0.1:0".parse()?;
    config.metrics.addr = None;
    config.batcher.max_decisions = cli.max_decisions;
    config.batcher.max_age_ms = cli.max_age_ms;
    let node = routing_node::start(config).await?;
    let addr = node.rpc_addr();
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .max_response_size(256 * 1024 * 1024)
        .request_timeout(Duration::from_secs(300))
        .build(node.rpc_url())?;

    // Everything signed and serialized before the clock starts.
    let registry = Registry::try_from(client.get_registry(None).await?.registry)?;
    let routers: Vec<_> = (1..=cli.routers).map(devnet::dev_signer).collect();
    let total = cli.decisions + (cli.latency_rate * cli.latency_secs) as usize;
    eprintln!("signing {total} decisions from {} routers ...", cli.routers);
    let signed: Vec<SignedDecision> = gas::routed_batch(&registry, &routers, total, 7);
    let (load, latency) = signed.split_at(cli.decisions);
    let bodies: Vec<Vec<u8>> = load
        .chunks(cli.per_call)
        .enumerate()
        .map(|(i, chunk)| {
            let params: Vec<String> =
                chunk.iter().map(|s| format!("0x{}", alloy_primitives::hex::encode(rlp::encode(s)))).collect();
            let body = json!({"jsonrpc": "2.0", "id": i, "method": "routing_submitDecisions", "params": [params]}).to_string();
            Conn::request_bytes(addr, &body)
        })
        .collect();

    // 1. Admission.
    eprintln!(
        "admission: {} decisions, {} per call, {} connections ...",
        load.len(),
        cli.per_call,
        cli.connections
    );
    let queue = Arc::new(Mutex::new(bodies.into_iter().collect::<std::collections::VecDeque<_>>()));
    let cpu_before = (cpu_seconds(std::process::id()), cpu_seconds(anvil.pid()));
    let started = Instant::now();
    let workers: Vec<_> = (0..cli.connections)
        .map(|_| {
            let queue = queue.clone();
            std::thread::spawn(move || -> eyre::Result<Vec<Vec<u8>>> {
                let mut conn = Conn::open(addr)?;
                let mut replies = Vec::new();
                loop {
                    let next = queue.lock().expect("not poisoned").pop_front();
                    let Some(request) = next else { return Ok(replies) };
                    replies.push(conn.send(&request)?);
                }
            })
        })
        .collect();
    let mut replies = Vec::new();
    for w in workers {
        replies.extend(w.join().map_err(|_| eyre::eyre!("a client thread panicked"))??);
    }
    let admit_secs = started.elapsed().as_secs_f64();
    let cpu_bench = cpu_seconds(std::process::id()) - cpu_before.0;
    let cpu_anvil = cpu_seconds(anvil.pid()) - cpu_before.1;
    let mut admitted = 0usize;
    for body in &replies {
        let v: Value = serde_json::from_slice(body)?;
        let results = v["result"].as_array().ok_or_else(|| eyre::eyre!("submit failed: {v}"))?;
        admitted += results.iter().filter(|r| r.get("receipt").is_some()).count();
    }
    eyre::ensure!(
        admitted == load.len(),
        "only {admitted} of {} decisions were admitted",
        load.len()
    );
    let admit_rate = admitted as f64 / admit_secs;

    // Let the load drain before measuring latency.
    loop {
        let s = client.status().await?;
        if s.pending == U64::ZERO && s.uncommitted_batches == U64::ZERO {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 2. Submit -> sequenced.
    eprintln!("latency: {} decisions/s for {} s ...", cli.latency_rate, cli.latency_secs);
    let ws = WsClientBuilder::default().build(node.ws_url()).await?;
    let mut events = ws
        .subscribe::<BatchEvent, _>(
            "routing_subscribeBatches",
            rpc_params![],
            "routing_unsubscribeBatches",
        )
        .await?;
    let submitted: Arc<Mutex<HashMap<B256, Instant>>> = Arc::default();
    let sender = {
        let submitted = submitted.clone();
        let client = client.clone();
        let items: Vec<SignedDecision> = latency.to_vec();
        let period = Duration::from_secs_f64(1.0 / cli.latency_rate as f64);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            for s in items {
                tick.tick().await;
                let input = routing_rpc_api::DecisionInput::Rlp(rlp::encode(&s).into());
                submitted
                    .lock()
                    .expect("not poisoned")
                    .insert(s.decision.request.id, Instant::now());
                client.submit_decision(input).await.expect("admitted");
            }
        })
    };
    let expected = latency.len();
    let mut latencies = Vec::with_capacity(expected);
    while latencies.len() < expected {
        let Some(event) = tokio::time::timeout(Duration::from_secs(60), events.next()).await?
        else {
            break;
        };
        let event = event?;
        if event.kind != BatchEventKind::Committed {
            continue;
        }
        let at = Instant::now();
        let mut offset = Some(U64::ZERO);
        while let Some(o) = offset {
            let page = client
                .get_batch_decisions(event.batch.batch_id, Some(o), Some(U64::from(1_000)))
                .await?;
            let map = submitted.lock().expect("not poisoned");
            for d in &page.decisions {
                if let Some(t) = map.get(&d.decision.decision.request.id) {
                    latencies.push(at.duration_since(*t).as_secs_f64());
                }
            }
            offset = page.next_offset;
        }
    }
    sender.await?;
    latencies.sort_by(f64::total_cmp);

    // 3. Proofs.
    eprintln!("proofs: {} s over {} connections ...", cli.proof_secs, cli.connections);
    let ids: Arc<Vec<B256>> = Arc::new(load.iter().map(|s| s.decision.request.id).collect());
    let until = Instant::now() + Duration::from_secs(cli.proof_secs);
    let proof_workers: Vec<_> = (0..cli.connections)
        .map(|w| {
            let ids = ids.clone();
            std::thread::spawn(move || -> eyre::Result<Vec<f64>> {
                let mut conn = Conn::open(addr)?;
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(w as u64);
                let mut times = Vec::new();
                while Instant::now() < until {
                    let id = ids[rng.random_range(0..ids.len())];
                    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "routing_getProof", "params": [id]}).to_string();
                    let request = Conn::request_bytes(addr, &body);
                    let t = Instant::now();
                    let reply = conn.send(&request)?;
                    times.push(t.elapsed().as_secs_f64());
                    eyre::ensure!(!reply.windows(8).any(|w| w == b"\"error\":"), "getProof failed: {}", String::from_utf8_lossy(&reply));
                }
                Ok(times)
            })
        })
        .collect();
    let mut proof_times = Vec::new();
    for w in proof_workers {
        proof_times.extend(w.join().map_err(|_| eyre::eyre!("a client thread panicked"))??);
    }
    proof_times.sort_by(f64::total_cmp);
    let proof_rate = proof_times.len() as f64 / cli.proof_secs as f64;

    let status = client.status().await?;
    println!(
        "routing-bench ({} cores; node, anvil and client on one machine)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{:<52} {:>14}", "measurement", "result");
    println!(
        "{:<52} {:>14.0}",
        format!("admitted decisions/s ({} in {:.2} s)", admitted, admit_secs),
        admit_rate
    );
    println!(
        "{:<52} {:>14.2}",
        "  CPU in admission: node + client (cores)",
        cpu_bench / admit_secs
    );
    println!("{:<52} {:>14.2}", "  CPU in admission: anvil (cores)", cpu_anvil / admit_secs);
    println!("{:<52} {:>14.0}", "submit -> sequenced p50 (ms)", percentile(&latencies, 0.5) * 1e3);
    println!("{:<52} {:>14.0}", "submit -> sequenced p99 (ms)", percentile(&latencies, 0.99) * 1e3);
    println!("{:<52} {:>14.0}", "L2 block time (ms)", cli.block_time as f64 * 1e3);
    println!("{:<52} {:>14}", "latency samples", latencies.len());
    println!("{:<52} {:>14.0}", "getProof/s", proof_rate);
    println!("{:<52} {:>14.2}", "getProof p50 (ms)", percentile(&proof_times, 0.5) * 1e3);
    println!("{:<52} {:>14.2}", "getProof p99 (ms)", percentile(&proof_times, 0.99) * 1e3);
    println!("{:<52} {:>14}", "batches committed", status.committed_batches.to::<u64>());

    node.shutdown().await;
    drop(anvil);
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

/// CPU time (user + system) used so far by process `pid`, from `/proc/<pid>/stat`; NaN where
/// there is no procfs.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return f64::NAN };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("routing-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
