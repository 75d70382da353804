//! Compiled contracts, read from forge's output (`contracts/out/<File>.sol/<Name>.json`).

use alloy_primitives::{hex, Bytes};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// Why an artifact cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The artifact file is missing or unreadable.
    #[error(
        "cannot read {path}: {source}; build the contracts first \
         (`scripts/install-toolchain.sh && (cd contracts && ../.tools/bin/forge build)`, \
         or run `scripts/test.sh`)"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The artifact is not the JSON forge writes.
    #[error("{path} is not a forge artifact: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// One compiled contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The contract's name.
    pub name: String,
    /// Creation code (constructor arguments are appended to it).
    pub bytecode: Bytes,
    /// Runtime code as forge reports it (immutables not yet filled in).
    pub deployed_bytecode: Bytes,
    /// Function signature -> 4-byte selector (hex, no `0x`), as solc reports them.
    pub method_identifiers: BTreeMap<String, String>,
    /// The ABI as JSON.
    pub abi: serde_json::Value,
}

impl Artifact {
    /// Reads `<out_dir>/<file>/<name>.json`, e.g. `("RoutingSettlement.sol", "RoutingSettlement")`.
    pub fn load(out_dir: &Path, file: &str, name: &str) -> Result<Self, ArtifactError> {
        let path = out_dir.join(file).join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ArtifactError::Read { path: path.clone(), source })?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ArtifactError::Format { path: path.clone(), reason: e.to_string() })?;
        let code = |key: &str| -> Result<Bytes, ArtifactError> {
            let object = json[key]["object"].as_str().ok_or_else(|| ArtifactError::Format {
                path: path.clone(),
                reason: format!("no {key}.object"),
            })?;
            hex::decode(object).map(Bytes::from).map_err(|e| ArtifactError::Format {
                path: path.clone(),
                reason: format!("{key}.object: {e}"),
            })
        };
        let method_identifiers = json["methodIdentifiers"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            name: name.to_string(),
            bytecode: code("bytecode")?,
            deployed_bytecode: code("deployedBytecode")?,
            method_identifiers,
            abi: json["abi"].clone(),
        })
    }
}

/// The repository's `contracts/` folder, as seen from this crate's sources.
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

/// Forge's output folder: `$ROUTING_CONTRACTS_OUT` if set, else `contracts/out`.
pub fn default_out_dir() -> PathBuf {
    std::env::var_os("ROUTING_CONTRACTS_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| contracts_dir().join("out"))
}

/// The contracts this project deploys, loaded together.
#[derive(Clone, Debug)]
pub struct Contracts {
    /// `RoutingStakeToken`.
    pub stake_token: Artifact,
    /// `Staking`.
    pub staking: Artifact,
    /// `RoutingSettlement`.
    pub settlement: Artifact,
}

impl Contracts {
    /// Loads the deployed contracts from `out_dir`.
    pub fn load(out_dir: &Path) -> Result<Self, ArtifactError> {
        Ok(Self {
            stake_token: Artifact::load(out_dir, "RoutingStakeToken.sol", "RoutingStakeToken")?,
            staking: Artifact::load(out_dir, "Staking.sol", "Staking")?,
            settlement: Artifact::load(out_dir, "RoutingSettlement.sol", "RoutingSettlement")?,
        })
    }
}
