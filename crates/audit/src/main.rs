//! `routing-audit`: replay committed routing batches, challenge what breaks the rules.

use alloy_primitives::Address;
use alloy_signer_local::PrivateKeySigner;
use clap::{Args, Parser, Subcommand};
use routing_audit::{
    exit_code, send_challenge, send_challenges, Auditor, BatchAudit, ChainReader, Challengeable,
    Verdict, EXIT_UNVERIFIABLE, EXIT_USAGE,
};
use std::{io::IsTerminal, path::PathBuf, time::Duration};

/// Replay routing batches committed on an OP Stack L2 and challenge the violations.
///
/// Every batch is read twice: from L2 chain data alone (the commit transaction's calldata,
/// through standard eth_ calls) and from the node's routing_ RPC. The auditor recomputes every
/// leaf and the root, verifies every router signature, replays the routing policy against the
/// registry of each decision's epoch, and checks the next registry root.
///
/// Exit codes: 0 clean, 1 violations found, 2 could not verify, 64 bad command line.
#[derive(Debug, Parser)]
#[command(name = "routing-audit", version)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct Global {
    /// The L2 execution client's JSON-RPC URL (http://, https://, ws:// or wss://).
    #[arg(long, global = true, default_value = "http://127.0.0.1:8545")]
    el_rpc: String,
    /// The routing node's RPC URL, for its copy of each batch and for registries; without it
    /// only chain data is used (replay from batch 1, or give --registry).
    #[arg(long, global = true)]
    node: Option<String>,
    /// The settlement contract (the genesis of genesis/ pre-deploys it here).
    #[arg(long, global = true, default_value_t = routing_contracts::devnet::SETTLEMENT)]
    settlement: Address,
    /// A registry JSON file (routing_getRegistry's `registry` field), used once its root is the
    /// one the chain commits for its epoch.
    #[arg(long, global = true)]
    registry: Option<PathBuf>,
    /// Print JSON lines instead of tables.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay one batch, a range, or follow new batches.
    Replay {
        /// One batch.
        #[arg(long, conflicts_with_all = ["from", "to", "follow"])]
        batch: Option<u64>,
        /// The first batch of a range [default: 1].
        #[arg(long)]
        from: Option<u64>,
        /// The last batch of a range [default: the last committed].
        #[arg(long)]
        to: Option<u64>,
        /// Keep following new batches after the range, until Ctrl-C.
        #[arg(long, conflicts_with = "to")]
        follow: bool,
        /// Milliseconds between looks at the chain when following.
        #[arg(long, default_value_t = 1_000)]
        poll_ms: u64,
    },
    /// Build the slashing transaction for a violation and send it (or print its calldata).
    Challenge {
        /// The batch of the offending decision.
        #[arg(long)]
        batch: u64,
        /// The decision's index in the batch.
        #[arg(long)]
        index: usize,
        #[command(flatten)]
        wallet: Wallet,
    },
    /// Follow new batches and replay each; with --auto-challenge, challenge every violation the
    /// contract can decide.
    Watch {
        /// Send a challenge for every violation the contract can decide.
        #[arg(long)]
        auto_challenge: bool,
        /// The first batch to audit [default: 1].
        #[arg(long)]
        from: Option<u64>,
        /// Milliseconds between looks at the chain.
        #[arg(long, default_value_t = 1_000)]
        poll_ms: u64,
        /// Stop after this many batches (for scripts and tests) [default: never].
        #[arg(long)]
        max_batches: Option<u64>,
        #[command(flatten)]
        wallet: Wallet,
    },
}

#[derive(Debug, Args)]
struct Wallet {
    /// The challenger's private key (hex); also read from ROUTING_AUDIT_KEY.
    #[arg(long)]
    key: Option<String>,
    /// Print the transaction (to, data) for an external wallet instead of sending it.
    #[arg(long, conflicts_with = "key")]
    print_calldata: bool,
}

impl Wallet {
    fn signer(&self) -> eyre::Result<Option<PrivateKeySigner>> {
        if self.print_calldata {
            return Ok(None);
        }
        let key = match &self.key {
            Some(k) => k.clone(),
            None => match std::env::var("ROUTING_AUDIT_KEY") {
                Ok(k) => k,
                Err(_) => eyre::bail!(
                    "--key (or ROUTING_AUDIT_KEY) is required to send a challenge; --print-calldata prints it instead"
                ),
            },
        };
        let signer: PrivateKeySigner = key
            .trim()
            .parse()
            .map_err(|e| eyre::eyre!("--key is not a secp256k1 private key in hex: {e}"))?;
        Ok(Some(signer))
    }
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            std::process::exit(if usage { EXIT_USAGE } else { 0 });
        }
    };
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("routing-audit: cannot start the runtime: {e}");
            std::process::exit(EXIT_UNVERIFIABLE);
        }
    };
    let code = runtime.block_on(async {
        match run(cli).await {
            Ok(code) => code,
            Err(e) => {
                eprintln!("routing-audit: {e:#}");
                EXIT_UNVERIFIABLE
            }
        }
    });
    std::process::exit(code);
}

async fn auditor(g: &Global) -> eyre::Result<Auditor> {
    let chain = ChainReader::connect(&g.el_rpc, g.settlement)
        .await
        .map_err(|e| eyre::eyre!("--el-rpc {}: {e}", g.el_rpc))?;
    let node = match &g.node {
        Some(url) => Some(
            jsonrpsee::http_client::HttpClientBuilder::default()
                .max_response_size(256 * 1024 * 1024)
                .build(url)
                .map_err(|e| eyre::eyre!("--node {url}: {e}"))?,
        ),
        None => None,
    };
    let mut auditor = Auditor::new(chain, node);
    if let Some(path) = &g.registry {
        auditor.load_registry(path).await?;
    }
    Ok(auditor)
}

async fn run(cli: Cli) -> eyre::Result<i32> {
    let g = &cli.global;
    let mut auditor = auditor(g).await?;
    let out = Output::new(g.json);
    match cli.command {
        Command::Replay { batch, from, to, follow, poll_ms } => {
            let (first, last) = match batch {
                Some(b) => (b, Some(b)),
                None => (from.unwrap_or(1), to),
            };
            if first == 0 {
                eyre::bail!("batch ids start at 1");
            }
            let last = match last {
                Some(l) => l,
                None => auditor.chain().last_batch_id().await?,
            };
            let mut verdicts = Vec::new();
            out.header();
            let total = last.saturating_sub(first) + 1;
            for id in first..=last {
                out.progress(id - first, total);
                let audit = auditor.audit_batch(id).await;
                out.batch(&audit);
                verdicts.push(audit.verdict);
            }
            out.progress_done();
            if follow {
                let mut next = last + 1;
                loop {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => break,
                        () = tokio::time::sleep(Duration::from_millis(poll_ms)) => {}
                    }
                    let tip = auditor.chain().last_batch_id().await?;
                    while next <= tip {
                        let audit = auditor.audit_batch(next).await;
                        out.batch(&audit);
                        verdicts.push(audit.verdict);
                        next += 1;
                    }
                }
            }
            out.summary(&verdicts);
            Ok(exit_code(&verdicts))
        }
        Command::Challenge { batch, index, wallet } => {
            let signer = wallet.signer()?;
            let audit = auditor.audit_batch(batch).await;
            let finding = audit
                .findings
                .iter()
                .filter(|f| f.index == Some(index))
                .find(|f| !matches!(f.challenge, Challengeable::No { .. }))
                .or_else(|| audit.findings.iter().find(|f| f.index == Some(index)));
            let Some(finding) = finding else {
                eyre::bail!(
                    "decision {index} of batch {batch} breaks no rule (verdict: {:?}{})",
                    audit.verdict,
                    audit.problems.first().map_or(String::new(), |p| format!("; {p}"))
                );
            };
            let tx = auditor.challenge_for(finding).await.map_err(|e| eyre::eyre!(e))?;
            match signer {
                None => out.calldata(&tx),
                Some(key) => {
                    let receipt = send_challenge(&g.el_rpc, &key, &tx).await?;
                    out.challenged(&tx, &receipt);
                }
            }
            Ok(0)
        }
        Command::Watch { auto_challenge, from, poll_ms, max_batches, wallet } => {
            let signer = if auto_challenge { wallet.signer()? } else { None };
            let mut next = from.unwrap_or(1).max(1);
            let mut verdicts = Vec::new();
            let mut done = 0u64;
            out.header();
            'watch: loop {
                let tip = auditor.chain().last_batch_id().await?;
                while next <= tip {
                    let audit = auditor.audit_batch(next).await;
                    out.batch(&audit);
                    verdicts.push(audit.verdict);
                    if auto_challenge {
                        let mut txs = Vec::new();
                        for f in &audit.findings {
                            if matches!(f.challenge, Challengeable::No { .. }) {
                                continue;
                            }
                            match auditor.challenge_for(f).await {
                                Ok(tx) => txs.push(tx),
                                Err(e) => out.note(&format!(
                                    "batch {} #{}: not challenged: {e}",
                                    f.batch_id,
                                    f.index.unwrap_or_default()
                                )),
                            }
                        }
                        match &signer {
                            None => txs.iter().for_each(|tx| out.calldata(tx)),
                            Some(key) if !txs.is_empty() => {
                                let results = send_challenges(&g.el_rpc, key, &txs).await?;
                                for (tx, result) in txs.iter().zip(results) {
                                    match result {
                                        Ok(receipt) => out.challenged(tx, &receipt),
                                        Err(e) => out.note(&format!("challenge failed: {e:#}")),
                                    }
                                }
                            }
                            Some(_) => {}
                        }
                    }
                    next += 1;
                    done += 1;
                    if max_batches.is_some_and(|m| done >= m) {
                        break 'watch;
                    }
                }
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    () = tokio::time::sleep(Duration::from_millis(poll_ms)) => {}
                }
            }
            out.summary(&verdicts);
            Ok(exit_code(&verdicts))
        }
    }
}

/// Tables on stdout (with a progress bar on a terminal's stderr), or JSON lines.
struct Output {
    json: bool,
    bar: bool,
}

impl Output {
    fn new(json: bool) -> Self {
        Self { json, bar: !json && std::io::stderr().is_terminal() }
    }

    fn header(&self) {
        if !self.json {
            println!(
                "{:>6} {:>9} {:>5} {:>11} {:>7} {:>9} {:>8}  verdict",
                "batch", "decisions", "root", "signatures", "node", "registry", "findings"
            );
        }
    }

    fn progress(&self, done: u64, total: u64) {
        if self.bar && total > 1 {
            let width = 30;
            let filled = (done * width / total.max(1)) as usize;
            eprint!(
                "\r[{}{}] {done}/{total} batches",
                "#".repeat(filled),
                " ".repeat(width as usize - filled)
            );
        }
    }

    fn progress_done(&self) {
        if self.bar {
            eprint!("\r{}\r", " ".repeat(60));
        }
    }

    fn batch(&self, a: &BatchAudit) {
        if self.json {
            println!("{}", serde_json::json!({ "type": "batch", "audit": a }));
            return;
        }
        if self.bar {
            eprint!("\r{}\r", " ".repeat(60));
        }
        let yes_no = |v: Option<bool>, yes: &str, no: &str| match v {
            Some(true) => yes.to_string(),
            Some(false) => no.to_string(),
            None => "-".to_string(),
        };
        let registry = match &a.next_registry {
            Some(routing_audit::NextRegistry::Matches) => "matches",
            Some(routing_audit::NextRegistry::Mismatch { .. }) => "MISMATCH",
            Some(routing_audit::NextRegistry::Pending) => "pending",
            None => "-",
        };
        let verdict = match a.verdict {
            Verdict::Clean => "clean",
            Verdict::Violations => "VIOLATIONS",
            Verdict::Unverifiable => "could not verify",
        };
        println!(
            "{:>6} {:>9} {:>5} {:>11} {:>7} {:>9} {:>8}  {verdict}",
            a.batch_id,
            a.decisions,
            yes_no(a.root_matches, "ok", "BAD"),
            format!("{}/{}", a.signatures_valid, a.decisions),
            yes_no(a.node_agrees, "agrees", "DIFFERS"),
            registry,
            a.findings.len(),
        );
        for f in &a.findings {
            let at = f.index.map_or("batch".to_string(), |i| format!("#{i}"));
            let how = match &f.challenge {
                Challengeable::Misrouting { offence } => {
                    format!("challengeable: challengeMisrouting ({offence})")
                }
                Challengeable::Duplicate { first_batch, first_index } => format!(
                    "challengeable: challengeDuplicate (with batch {first_batch} #{first_index})"
                ),
                Challengeable::No { reason } => format!("not challengeable: {reason}"),
            };
            let router = f.router.map_or(String::new(), |r| format!(" router {r}"));
            println!("         {at}{router}: {}; {how}", f.violations.join(", "));
        }
        for p in &a.problems {
            println!("         could not verify: {p}");
        }
    }

    fn calldata(&self, tx: &routing_audit::ChallengeTx) {
        if self.json {
            println!("{}", serde_json::json!({ "type": "calldata", "challenge": tx }));
        } else {
            println!(
                "{} for batch {} #{} (expected: {})\nto:   {}\ndata: {}",
                tx.function, tx.batch_id, tx.index, tx.expected, tx.to, tx.data
            );
        }
    }

    fn challenged(&self, tx: &routing_audit::ChallengeTx, r: &routing_audit::ChallengeReceipt) {
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "type": "challenged", "challenge": tx, "receipt": r })
            );
        } else {
            println!(
                "challenged batch {} #{} with {}: router {} slashed {} (reward {}), tx {}, gas {}",
                tx.batch_id,
                tx.index,
                tx.function,
                r.router,
                r.slashed,
                r.reward,
                r.tx_hash,
                r.gas_used
            );
        }
    }

    fn note(&self, text: &str) {
        if self.json {
            println!("{}", serde_json::json!({ "type": "note", "text": text }));
        } else {
            eprintln!("{text}");
        }
    }

    fn summary(&self, verdicts: &[Verdict]) {
        let count = |v: Verdict| verdicts.iter().filter(|x| **x == v).count();
        let (clean, bad, unknown) =
            (count(Verdict::Clean), count(Verdict::Violations), count(Verdict::Unverifiable));
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "type": "summary", "batches": verdicts.len(), "clean": clean,
                    "violations": bad, "unverifiable": unknown, "exitCode": exit_code(verdicts) })
            );
        } else {
            println!(
                "{} batches: {clean} clean, {bad} with violations, {unknown} could not be verified",
                verdicts.len()
            );
        }
    }
}
