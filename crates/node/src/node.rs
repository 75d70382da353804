//! Starting and stopping the node.

use crate::{
    admission::Admitter,
    batcher::{run_sealer, Poster},
    config::Config,
    indexer::Indexer,
    rpc::RpcServer,
    staking::StakingCheck,
    state::Shared,
};
use alloy::{
    network::EthereumWallet,
    providers::{DynProvider, Provider, ProviderBuilder},
};
use alloy_signer_local::PrivateKeySigner;
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use routing_exex::{
    CancellationToken, EventSource, RoutingExEx, RpcSource, RpcSourceOptions, StartFrom,
};
use routing_rpc_api::RoutingApiServer;
use routing_store::Store;
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tokio::task::JoinHandle;

/// A running node.
#[derive(Debug)]
pub struct RunningNode {
    rpc_addr: SocketAddr,
    server: ServerHandle,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    extension: JoinHandle<()>,
}

impl RunningNode {
    /// Where the JSON-RPC server listens.
    pub const fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// The HTTP URL of the JSON-RPC server.
    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    /// The WebSocket URL of the JSON-RPC server (same port).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.rpc_addr)
    }

    /// Waits until the extension stops on its own (its source ended or failed).
    pub async fn stopped(&mut self) {
        let _ = (&mut self.extension).await;
    }

    /// Stops the node: the RPC server stops taking requests, the sealer and the poster stop, the
    /// extension stops after the block it is applying (every block's effects are one store
    /// transaction, so stopping between blocks loses nothing).
    pub async fn shutdown(self) {
        tracing::info!(target: "routing::node", "shutting down");
        let _ = self.server.stop();
        self.cancel.cancel();
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let mut extension = self.extension;
        if tokio::time::timeout(Duration::from_secs(10), &mut extension).await.is_err() {
            extension.abort();
        }
        self.server.stopped().await;
        tracing::info!(target: "routing::node", "stopped");
    }
}

/// A read provider for `url` (`http(s)://` or `ws(s)://`).
pub(crate) async fn read_provider(url: &str) -> eyre::Result<DynProvider> {
    Ok(ProviderBuilder::new().connect(url).await?.erased())
}

/// Waits for the execution client at `url` to answer `eth_chainId` (for at most `timeout`).
pub async fn wait_for_chain(url: &str, timeout: Duration) -> eyre::Result<u64> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(20);
    loop {
        let attempt =
            async { read_provider(url).await?.get_chain_id().await.map_err(eyre::Report::from) };
        match attempt.await {
            Ok(id) => return Ok(id),
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(e.wrap_err(format!(
                    "the execution client at {url} did not answer within {timeout:?}"
                )));
            }
            Err(_) => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Chooses rustls' crypto backend for the process. Two are compiled in (through alloy and
/// jsonrpsee); without a process-wide choice the first `https://` or `wss://` connection would
/// panic. Idempotent: a provider installed earlier (by an embedding process) stays.
fn init_tls() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// Starts the node, following the execution client over JSON-RPC.
pub async fn start(config: Config) -> eyre::Result<RunningNode> {
    init_tls();
    std::fs::create_dir_all(&config.datadir)?;
    let head = Store::open(config.store_path())?.head()?;
    let cancel = CancellationToken::new();
    let mut options = RpcSourceOptions::new(
        config.chain.settlement,
        StartFrom::resume_or(head, config.chain.start_block),
    );
    options.poll_interval = Duration::from_millis(config.chain.poll_interval_ms.max(10));
    options.shutdown = cancel.child_token();
    let source = RpcSource::connect(&config.chain.el_rpc, options).await?;
    start_with_source_and_cancel(config, source, cancel).await
}

/// Starts the node with another chain-event source (the native op-reth adapter).
pub async fn start_with_source<S: EventSource + 'static>(
    config: Config,
    source: S,
) -> eyre::Result<RunningNode> {
    start_with_source_and_cancel(config, source, CancellationToken::new()).await
}

/// Runs the node with `source` until Ctrl-C or SIGTERM (the native op-reth adapter's entry).
pub async fn launch_with_source<S: EventSource + 'static>(
    config: Config,
    source: S,
) -> eyre::Result<()> {
    let node = start_with_source(config, source).await?;
    crate::shutdown_signal().await;
    node.shutdown().await;
    Ok(())
}

async fn start_with_source_and_cancel<S: EventSource + 'static>(
    config: Config,
    source: S,
    cancel: CancellationToken,
) -> eyre::Result<RunningNode> {
    config.validate()?;
    init_tls();
    std::fs::create_dir_all(&config.datadir)?;
    let key = config.sequencer_key()?.ok_or_else(|| {
        eyre::eyre!(
            "no sequencer key: set ROUTING_SEQUENCER_KEY, sequencer.key_file or sequencer.key"
        )
    })?;
    let signer =
        PrivateKeySigner::from_bytes(&key).map_err(|e| eyre::eyre!("sequencer key: {e}"))?;
    let sequencer = signer.address();

    let chain_id = wait_for_chain(&config.chain.el_rpc, Duration::from_secs(30)).await?;
    let reader = read_provider(&config.chain.el_rpc).await?;
    let writer: DynProvider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect(&config.chain.el_rpc)
        .await?
        .erased();

    let store = Store::open(config.store_path())?;
    store.init_registry(&config.genesis_registry()?.into())?;
    if let Some(addr) = config.metrics.addr {
        crate::metrics::install(addr)?;
    }
    let rpc_config = config.rpc.clone();
    let shared = Arc::new(Shared::new(config, store, chain_id)?);

    let staking = StakingCheck::new(shared.clone(), reader);
    let admitter = Admitter::new(shared.clone(), staking)?;
    let server = Server::builder()
        .set_config(
            ServerConfig::builder()
                .max_request_body_size(rpc_config.max_request_bytes)
                .max_response_body_size(rpc_config.max_response_bytes)
                .max_connections(rpc_config.max_connections)
                .set_batch_request_config(BatchRequestConfig::Limit(rpc_config.max_batch_calls))
                .build(),
        )
        .build(rpc_config.addr)
        .await
        .map_err(|e| eyre::eyre!("cannot serve JSON-RPC on {}: {e}", rpc_config.addr))?;
    let rpc_addr = server.local_addr()?;
    let handle = server.start(RpcServer::new(shared.clone(), admitter).into_rpc());

    let tasks = vec![
        tokio::spawn(run_sealer(shared.clone(), cancel.child_token())),
        tokio::spawn(Poster::new(shared.clone(), writer, sequencer).run(cancel.child_token())),
    ];

    let extension_shared = shared.clone();
    let extension = tokio::spawn(async move {
        match RoutingExEx::new(source, Indexer::new(extension_shared)).run().await {
            Ok(_) => tracing::info!(target: "routing::exex", "source ended"),
            Err(e) => tracing::error!(target: "routing::exex", error = %e, "extension stopped"),
        }
    });
    tracing::info!(
        target: "routing::node",
        rpc = %rpc_addr,
        chain_id,
        sequencer = %sequencer,
        settlement = %shared.config.chain.settlement,
        next_batch = shared.open_epoch(),
        head = ?shared.head(),
        "started"
    );
    Ok(RunningNode { rpc_addr, server: handle, cancel, tasks, extension })
}
