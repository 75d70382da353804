//! The node's configuration: a TOML file (`routing-node run --config node.toml`), every field
//! with a default, overridable from the command line.

use alloy_primitives::{Address, B256};
use routing_policy::{Registry, RegistryData};
use serde::{Deserialize, Serialize};
use std::{net::SocketAddr, path::PathBuf};

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration; the message names the field.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the field's name.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid configuration: {field}: {reason}")]
    Invalid {
        /// The field, as written in the file (`batcher.max_decisions`).
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// The node's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the node keeps its store.
    pub datadir: PathBuf,
    /// The execution client and the contracts.
    pub chain: ChainConfig,
    /// The sequencer key that posts batches.
    pub sequencer: SequencerConfig,
    /// Sealing and posting.
    pub batcher: BatcherConfig,
    /// Admission rules.
    pub admission: AdmissionConfig,
    /// The JSON-RPC server.
    pub rpc: RpcConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// The registry of epoch 1 (the first batch's), used on first start.
    pub registry: RegistryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            datadir: PathBuf::from("routing-data"),
            chain: ChainConfig::default(),
            sequencer: SequencerConfig::default(),
            batcher: BatcherConfig::default(),
            admission: AdmissionConfig::default(),
            rpc: RpcConfig::default(),
            metrics: MetricsConfig::default(),
            registry: RegistryConfig::default(),
        }
    }
}

/// The execution client and the contracts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainConfig {
    /// The execution client's JSON-RPC URL (`http://` polls, `ws://` subscribes to new heads).
    pub el_rpc: String,
    /// The settlement contract.
    pub settlement: Address,
    /// The staking contract (routers' active stake is checked there).
    pub staking: Address,
    /// The first block to follow on a fresh store (the settlement's deployment block).
    pub start_block: u64,
    /// How often to poll an HTTP execution client for new blocks, in milliseconds.
    pub poll_interval_ms: u64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            el_rpc: "http://127.0.0.1:8545".into(),
            settlement: routing_contracts::devnet::SETTLEMENT,
            staking: routing_contracts::devnet::STAKING,
            start_block: 0,
            poll_interval_ms: 250,
        }
    }
}

/// The sequencer key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SequencerConfig {
    /// The private key, as `0x` hex. Prefer `key_file` or the `ROUTING_SEQUENCER_KEY`
    /// environment variable outside a devnet.
    pub key: Option<B256>,
    /// A file holding the private key as `0x` hex.
    pub key_file: Option<PathBuf>,
}

/// Sealing and posting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatcherConfig {
    /// Seal as soon as this many decisions are pending.
    pub max_decisions: usize,
    /// Seal pending decisions once the oldest has waited this long, in milliseconds.
    pub max_age_ms: u64,
    /// The largest payload (bytes) of one commit transaction; 0 for no limit. op-geth's and
    /// op-reth's transaction pools refuse transactions over 128 KiB by default.
    pub max_payload_bytes: usize,
    /// Send a posted batch again if it is not committed after this long, in milliseconds.
    pub repost_after_ms: u64,
    /// How many sealed batches may be in flight (posted, not committed) at once.
    pub max_in_flight: usize,
}

impl Default for BatcherConfig {
    fn default() -> Self {
        Self {
            max_decisions: 1_200,
            max_age_ms: 2_000,
            max_payload_bytes: 0,
            repost_after_ms: 30_000,
            max_in_flight: 8,
        }
    }
}

/// Admission rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionConfig {
    /// How many epochs back a decision's registry may be: decisions are routed against the
    /// registry current when they started and arrive when they finish.
    pub max_epoch_lag: u64,
    /// Whether a router must be actively staked (`Staking.isActive`) for its decisions to be
    /// admitted.
    pub require_stake: bool,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        Self { max_epoch_lag: 1_024, require_stake: true }
    }
}

/// The JSON-RPC server (HTTP and WebSocket on one port).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RpcConfig {
    /// Listen address.
    pub addr: SocketAddr,
    /// Largest request body, in bytes.
    pub max_request_bytes: u32,
    /// Largest response body, in bytes.
    pub max_response_bytes: u32,
    /// Most calls in one JSON-RPC batch request.
    pub max_batch_calls: u32,
    /// Most decisions in one `routing_submitDecisions` call.
    pub max_decisions_per_call: usize,
    /// Most connections.
    pub max_connections: u32,
}

impl Default for RpcConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8547)),
            max_request_bytes: 16 * 1024 * 1024,
            max_response_bytes: 32 * 1024 * 1024,
            max_batch_calls: 200,
            max_decisions_per_call: 10_000,
            max_connections: 512,
        }
    }
}

/// Prometheus metrics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Listen address of the `/metrics` endpoint; `None` to disable.
    pub addr: Option<SocketAddr>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self { addr: Some(SocketAddr::from(([127, 0, 0, 1], 9547))) }
    }
}

/// The registry of epoch 1.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// A JSON file with the registry (`routing_getRegistry`'s `registry` field); without it the
    /// devnet fleet (nine providers in three tiers, model class 1) is used.
    pub file: Option<PathBuf>,
}

impl Config {
    /// Reads `path`. Unknown fields are errors that name the field.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self, ConfigError> {
        let path = path.into();
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let config: Self = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path, message: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid =
            |field, reason: &str| Err(ConfigError::Invalid { field, reason: reason.into() });
        if self.batcher.max_decisions == 0 || self.batcher.max_decisions > 10_000 {
            return invalid("batcher.max_decisions", "must be 1 to 10000");
        }
        if self.batcher.max_in_flight == 0 {
            return invalid("batcher.max_in_flight", "must be at least 1");
        }
        if self.rpc.max_decisions_per_call == 0 {
            return invalid("rpc.max_decisions_per_call", "must be at least 1");
        }
        let scheme_ok = ["http://", "https://", "ws://", "wss://"]
            .iter()
            .any(|s| self.chain.el_rpc.starts_with(s));
        if !scheme_ok {
            return invalid("chain.el_rpc", "must start with http://, https://, ws:// or wss://");
        }
        Ok(())
    }

    /// The settlement contract (for sources that filter logs by it).
    pub const fn settlement(&self) -> Address {
        self.chain.settlement
    }

    /// The store's path.
    pub fn store_path(&self) -> PathBuf {
        self.datadir.join("node.redb")
    }

    /// The head the store has persisted: where a source resumes (`None` on a fresh store).
    pub fn persisted_head(&self) -> eyre::Result<Option<routing_exex::BlockRef>> {
        std::fs::create_dir_all(&self.datadir)?;
        Ok(routing_store::Store::open(self.store_path())?.head()?)
    }

    /// The sequencer key: `ROUTING_SEQUENCER_KEY`, else `sequencer.key_file`, else
    /// `sequencer.key`.
    pub fn sequencer_key(&self) -> Result<Option<B256>, ConfigError> {
        let parse = |field: &'static str, text: &str| {
            text.trim().parse::<B256>().map_err(|e| ConfigError::Invalid {
                field,
                reason: format!("not a 32-byte 0x hex key: {e}"),
            })
        };
        if let Ok(text) = std::env::var("ROUTING_SEQUENCER_KEY") {
            return parse("ROUTING_SEQUENCER_KEY", &text).map(Some);
        }
        if let Some(path) = &self.sequencer.key_file {
            let text = std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            return parse("sequencer.key_file", &text).map(Some);
        }
        Ok(self.sequencer.key)
    }

    /// The registry of epoch 1.
    pub fn genesis_registry(&self) -> Result<Registry, ConfigError> {
        let Some(path) = &self.registry.file else {
            return Ok(routing_contracts::gas::fleet(1));
        };
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let data: RegistryData = serde_json::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })?;
        if data.epoch != 1 {
            return Err(ConfigError::Invalid {
                field: "registry.file",
                reason: format!("the first registry is epoch 1, the file has {}", data.epoch),
            });
        }
        Registry::try_from(data)
            .map_err(|e| ConfigError::Invalid { field: "registry.file", reason: e.to_string() })
    }

    /// The configuration as TOML, with every field (a starting point for `node.toml`).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the configuration serializes")
    }
}
