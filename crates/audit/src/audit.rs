//! Replaying committed batches: the decisions from chain data, the same batch over the node's
//! `routing_` RPC, the root, every signature, the policy against the registry of each
//! decision's epoch, the next registry root, and request ids across batches.

use crate::chain::{ChainBatch, ChainReader};
use alloy_primitives::{Address, Bytes, B256};
use alloy_sol_types::{Eip712Domain, SolCall};
use jsonrpsee::http_client::HttpClient;
use routing_contracts::{
    batch::{duplicate_call, misrouting_call, SealedBatch},
    challenge::{expected_misrouting_outcome, MisroutingChallenge, MisroutingOutcome},
};
use routing_policy::{replay_signed_epochs, Registry, Violation};
use routing_primitives::{domain, SignedDecision};
use routing_rpc_api::{RoutingApiClient, U64};
use serde::Serialize;
use std::{collections::HashMap, path::Path, sync::Arc};

/// What an audit of a batch concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Every check passed.
    Clean,
    /// Something could not be checked (listed in `problems`); nothing was found wrong.
    Unverifiable,
    /// Rules were broken (listed in `findings`).
    Violations,
}

/// How a finding can be taken on-chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Challengeable {
    /// `challengeMisrouting` proves it (the offence the contract will name).
    Misrouting {
        /// The offence, as the contract names it.
        offence: String,
    },
    /// `challengeDuplicate` proves it with the earlier decision for the same request.
    Duplicate {
        /// The batch of the earlier decision.
        first_batch: u64,
        /// Its index there.
        first_index: usize,
    },
    /// The contract cannot decide it (it needs more than one decision, or is the sequencer's).
    No {
        /// Why.
        reason: String,
    },
}

/// A rule broken in a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// The batch.
    pub batch_id: u64,
    /// Position of the decision in the batch (absent for batch-level findings).
    pub index: Option<usize>,
    /// The decision's request id (absent for batch-level findings).
    pub request_id: Option<B256>,
    /// The decision's router (absent for batch-level findings).
    pub router: Option<Address>,
    /// What is wrong: every rule the decision breaks (one offence, one challenge).
    pub violations: Vec<String>,
    /// Whether and how it can be slashed.
    pub challenge: Challengeable,
}

impl Finding {
    /// A batch-level finding: the sequencer's commitment does not hold.
    fn sequencer(batch_id: u64, violation: String) -> Self {
        Self {
            batch_id,
            index: None,
            request_id: None,
            router: None,
            violations: vec![violation],
            challenge: Challengeable::No { reason: "the sequencer's commitment".into() },
        }
    }
}

/// What the next registry root check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum NextRegistry {
    /// The root committed with the next batch is the replay's.
    Matches,
    /// The next batch commits another root.
    Mismatch {
        /// The replay's.
        expected: B256,
        /// The chain's.
        committed: B256,
    },
    /// The next batch is not committed yet.
    Pending,
}

/// The audit of one batch.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchAudit {
    /// The batch.
    pub batch_id: u64,
    /// Its header hash (challenges name the batch by it).
    pub header_hash: Option<B256>,
    /// The commit transaction.
    pub tx_hash: Option<B256>,
    /// The L2 block of the commit.
    pub block_number: Option<u64>,
    /// Decisions in the batch.
    pub decisions: usize,
    /// The root recomputed from the decisions is the committed one.
    pub root_matches: Option<bool>,
    /// Signatures that verify.
    pub signatures_valid: usize,
    /// The node's copy of the batch is the chain's (`None`: no node asked or it did not answer).
    pub node_agrees: Option<bool>,
    /// The next registry root check.
    pub next_registry: Option<NextRegistry>,
    /// Rules broken.
    pub findings: Vec<Finding>,
    /// What could not be checked, and why.
    pub problems: Vec<String>,
    /// The conclusion.
    pub verdict: Verdict,
}

impl BatchAudit {
    fn unverifiable(batch_id: u64, problem: String) -> Self {
        Self {
            batch_id,
            header_hash: None,
            tx_hash: None,
            block_number: None,
            decisions: 0,
            root_matches: None,
            signatures_valid: 0,
            node_agrees: None,
            next_registry: None,
            findings: Vec::new(),
            problems: vec![problem],
            verdict: Verdict::Unverifiable,
        }
    }

    fn conclude(&mut self) {
        self.verdict = if !self.findings.is_empty() {
            Verdict::Violations
        } else if !self.problems.is_empty() {
            Verdict::Unverifiable
        } else {
            Verdict::Clean
        };
    }
}

/// A challenge transaction, ready to send or to hand to a wallet.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeTx {
    /// The batch of the offending decision.
    pub batch_id: u64,
    /// Its index.
    pub index: usize,
    /// `challengeMisrouting` or `challengeDuplicate`.
    pub function: &'static str,
    /// What the contract is expected to find.
    pub expected: String,
    /// The settlement contract.
    pub to: Address,
    /// The calldata.
    pub data: Bytes,
}

/// Replays batches and builds challenges.
#[derive(Debug)]
pub struct Auditor {
    chain: ChainReader,
    node: Option<HttpClient>,
    domain: Eip712Domain,
    /// Registries by epoch, each checked against the root the chain commits for it.
    registries: HashMap<u64, Arc<Registry>>,
    /// Registries derived by replay whose epoch is not committed yet.
    derived: HashMap<u64, Arc<Registry>>,
    /// The first decision seen for each request id: (batch, index, router).
    seen: HashMap<B256, (u64, usize, Address)>,
    /// The batch challenges were last built from, read and sealed once for all its findings.
    last_sealed: Option<Arc<(ChainBatch, SealedBatch)>>,
}

impl Auditor {
    /// An auditor reading `chain` and, when given, the node at `node`.
    pub fn new(chain: ChainReader, node: Option<HttpClient>) -> Self {
        let domain = domain(chain.chain_id(), chain.settlement());
        Self {
            chain,
            node,
            domain,
            registries: HashMap::new(),
            derived: HashMap::new(),
            seen: HashMap::new(),
            last_sealed: None,
        }
    }

    /// The chain reader.
    pub fn chain(&self) -> &ChainReader {
        &self.chain
    }

    /// Uses the registry in `path` (`routing_getRegistry`'s `registry` field, or the
    /// node's `registry.file`) for its epoch, once its root is the one the chain commits.
    pub async fn load_registry(&mut self, path: &Path) -> eyre::Result<u64> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| eyre::eyre!("cannot read registry file {}: {e}", path.display()))?;
        let data: routing_policy::RegistryData = serde_json::from_str(&text)
            .map_err(|e| eyre::eyre!("registry file {} is not a registry: {e}", path.display()))?;
        let registry = Registry::try_from(data)
            .map_err(|e| eyre::eyre!("registry file {}: {e}", path.display()))?;
        let epoch = registry.epoch();
        self.accept_registry(registry).await.map_err(|e| eyre::eyre!(e))?;
        Ok(epoch)
    }

    /// Keeps `registry` if its root is the one committed for its epoch.
    async fn accept_registry(&mut self, registry: Registry) -> Result<Arc<Registry>, String> {
        let epoch = registry.epoch();
        let committed = self.chain.registry_root(epoch).await.map_err(|e| e.to_string())?;
        if committed.is_zero() {
            return Err(format!("no batch commits registry epoch {epoch} yet"));
        }
        if registry.root() != committed {
            return Err(format!(
                "the registry of epoch {epoch} has root {}, the chain commits {committed}",
                registry.root()
            ));
        }
        let registry = Arc::new(registry);
        self.registries.insert(epoch, registry.clone());
        Ok(registry)
    }

    /// The registry of `epoch`, checked against the chain: derived by replaying the batch
    /// before it, or else fetched from the node.
    pub async fn registry(&mut self, epoch: u64) -> Result<Arc<Registry>, String> {
        if let Some(r) = self.registries.get(&epoch) {
            return Ok(r.clone());
        }
        if let Some(r) = self.derived.remove(&epoch) {
            if let Ok(r) = self.accept_registry((*r).clone()).await {
                return Ok(r);
            }
        }
        let Some(node) = &self.node else {
            return Err(format!(
                "no registry of epoch {epoch}: replay from batch 1, give --registry, or give --node"
            ));
        };
        let view = node
            .get_registry(Some(U64::from(epoch)))
            .await
            .map_err(|e| format!("the node did not give the registry of epoch {epoch}: {e}"))?;
        let registry = Registry::try_from(view.registry)
            .map_err(|e| format!("the node's registry of epoch {epoch} is invalid: {e}"))?;
        self.accept_registry(registry).await
    }

    /// The node's copy of batch `batch_id`, in batch order.
    async fn node_batch(&self, batch_id: u64) -> Option<Result<Vec<SignedDecision>, String>> {
        let node = self.node.as_ref()?;
        let mut out = Vec::new();
        let mut offset = Some(U64::ZERO);
        while let Some(o) = offset {
            match node
                .get_batch_decisions(U64::from(batch_id), Some(o), Some(U64::from(1_000)))
                .await
            {
                Ok(page) => {
                    out.extend(page.decisions.into_iter().map(|d| d.decision));
                    offset = page.next_offset;
                }
                Err(e) => return Some(Err(e.to_string())),
            }
        }
        Some(Ok(out))
    }

    /// Audits batch `batch_id`.
    pub async fn audit_batch(&mut self, batch_id: u64) -> BatchAudit {
        let batch = match self.chain.batch(batch_id).await {
            Ok(b) => b,
            Err(e) => return BatchAudit::unverifiable(batch_id, e.to_string()),
        };
        self.audit(&batch).await
    }

    /// Audits a batch read from chain.
    pub async fn audit(&mut self, batch: &ChainBatch) -> BatchAudit {
        let id = batch.header.batch_id;
        let mut audit = BatchAudit {
            batch_id: id,
            header_hash: Some(batch.header_hash),
            tx_hash: Some(batch.tx_hash),
            block_number: Some(batch.block_number),
            decisions: batch.decisions.len(),
            root_matches: None,
            signatures_valid: 0,
            node_agrees: None,
            next_registry: None,
            findings: Vec::new(),
            problems: Vec::new(),
            verdict: Verdict::Clean,
        };
        // The node's copy, independently fetched.
        match self.node_batch(id).await {
            None => {}
            Some(Err(e)) => audit.problems.push(format!("the node's copy: {e}")),
            Some(Ok(copy)) => {
                let agrees = copy.len() == batch.decisions.len()
                    && copy.iter().zip(&batch.decisions).all(|(a, b)| a == b);
                audit.node_agrees = Some(agrees);
                if !agrees {
                    audit.problems.push(format!(
                        "the node serves {} decisions for batch {id} that differ from the {} on chain",
                        copy.len(),
                        batch.decisions.len()
                    ));
                }
            }
        }

        // Registries of every epoch the batch's decisions name.
        let mut epochs: Vec<u64> =
            batch.decisions.iter().map(|s| s.decision.registry_epoch).collect();
        epochs.push(id);
        epochs.sort_unstable();
        epochs.dedup();
        let mut known: HashMap<u64, Arc<Registry>> = HashMap::new();
        for epoch in epochs.into_iter().filter(|e| *e <= id && *e > 0) {
            match self.registry(epoch).await {
                Ok(r) => {
                    known.insert(epoch, r);
                }
                Err(e) => audit.problems.push(e),
            }
        }
        let Some(batch_registry) = known.get(&id).cloned() else {
            audit.conclude();
            return audit;
        };
        if batch_registry.root() != batch.header.registry_root {
            audit.findings.push(Finding::sequencer(
                id,
                format!(
                    "the header names registry root {}, the settlement holds {} for epoch {id}",
                    batch.header.registry_root,
                    batch_registry.root()
                ),
            ));
        }

        let replay = replay_signed_epochs(
            &batch.decisions,
            &batch_registry,
            |e| known.get(&e).map(|r| &**r),
            &self.domain,
        );
        audit.root_matches = Some(replay.decisions_root == batch.header.decisions_root);
        if audit.root_matches == Some(false) {
            audit.findings.push(Finding::sequencer(
                id,
                format!(
                    "the decisions give root {}, the header commits {}",
                    replay.decisions_root, batch.header.decisions_root
                ),
            ));
        }
        let bad_signatures = replay
            .findings
            .iter()
            .filter(|f| matches!(f.violation, Violation::BadSignature { .. }))
            .count();
        audit.signatures_valid = batch.decisions.len() - bad_signatures;
        let mut sealed: Option<Result<SealedBatch, String>> = None;
        for f in &replay.findings {
            let signed = &batch.decisions[f.index];
            let challenge = match &f.violation {
                Violation::DuplicateRequest { first_index } => {
                    let first = &batch.decisions[*first_index].decision.router;
                    if *first == signed.decision.router {
                        Challengeable::Duplicate { first_batch: id, first_index: *first_index }
                    } else {
                        Challengeable::No {
                            reason: format!("the first decision is router {first}'s"),
                        }
                    }
                }
                Violation::UnknownRegistryEpoch { .. } => continue, // listed in problems
                _ => {
                    if sealed.is_none() {
                        sealed = Some(seal(batch));
                    }
                    let sealed = sealed.as_ref().expect("just set");
                    self.misrouting_outcome(batch, sealed, f.index, &known)
                }
            };
            if let Some(last) = audit.findings.last_mut().filter(|l| {
                l.index == Some(f.index)
                    && !matches!(l.challenge, Challengeable::Duplicate { .. })
                    && !matches!(challenge, Challengeable::Duplicate { .. })
            }) {
                last.violations.push(f.violation.to_string());
                continue;
            }
            audit.findings.push(Finding {
                batch_id: id,
                index: Some(f.index),
                request_id: Some(signed.decision.request.id),
                router: Some(signed.decision.router),
                violations: vec![f.violation.to_string()],
                challenge,
            });
        }

        // Request ids decided in earlier batches.
        for (index, s) in batch.decisions.iter().enumerate() {
            let key = s.decision.request.id;
            match self.seen.get(&key) {
                Some(&(b, i, router)) if b != id => {
                    let challenge = if router == s.decision.router {
                        Challengeable::Duplicate { first_batch: b, first_index: i }
                    } else {
                        Challengeable::No {
                            reason: format!("the first decision is router {router}'s"),
                        }
                    };
                    audit.findings.push(Finding {
                        batch_id: id,
                        index: Some(index),
                        request_id: Some(key),
                        router: Some(s.decision.router),
                        violations: vec![format!(
                            "request {key} was already decided in batch {b} at index {i}"
                        )],
                        challenge,
                    });
                }
                Some(_) => {}
                None => {
                    self.seen.insert(key, (id, index, s.decision.router));
                }
            }
        }

        // The next registry.
        let next_root = replay.next_registry_root;
        match self.chain.registry_root(id + 1).await {
            Ok(committed) if committed.is_zero() => {
                audit.next_registry = Some(NextRegistry::Pending);
                self.derived.insert(id + 1, Arc::new(replay.next_registry));
            }
            Ok(committed) if committed == next_root => {
                audit.next_registry = Some(NextRegistry::Matches);
                self.registries.insert(id + 1, Arc::new(replay.next_registry));
            }
            Ok(committed) => {
                audit.next_registry =
                    Some(NextRegistry::Mismatch { expected: next_root, committed });
                audit.findings.push(Finding::sequencer(id, format!(
                        "batch {} commits registry root {committed}; replaying batch {id} gives {next_root}",
                        id + 1
                    )));
            }
            Err(e) => audit.problems.push(format!("the next registry root: {e}")),
        }
        audit.conclude();
        audit
    }

    /// What `challengeMisrouting` would do with decision `index` of `batch` and the whole
    /// registry of its epoch as evidence.
    fn misrouting_outcome(
        &self,
        batch: &ChainBatch,
        sealed: &Result<SealedBatch, String>,
        index: usize,
        known: &HashMap<u64, Arc<Registry>>,
    ) -> Challengeable {
        let sealed = match sealed {
            Ok(s) => s,
            Err(e) => return Challengeable::No { reason: e.clone() },
        };
        match self.misrouting_evidence(batch, sealed, index, known) {
            Ok((_, MisroutingOutcome::Proven(v))) => {
                Challengeable::Misrouting { offence: format!("{:?}", v.offence) }
            }
            Ok((_, MisroutingOutcome::Rejected(r))) => Challengeable::No {
                reason: format!("the contract cannot decide it from one decision ({r:?})"),
            },
            Err(e) => Challengeable::No { reason: e },
        }
    }

    fn misrouting_evidence(
        &self,
        batch: &ChainBatch,
        sealed: &SealedBatch,
        index: usize,
        known: &HashMap<u64, Arc<Registry>>,
    ) -> Result<(Bytes, MisroutingOutcome), String> {
        let signed = &batch.decisions[index];
        let epoch = signed.decision.registry_epoch;
        let evidence = known
            .get(&epoch)
            .map_or_else(|| known[&batch.header.batch_id].full_evidence(), |r| r.full_evidence());
        let proof = sealed.proof(index).map_err(|e| e.to_string())?;
        let outcome = expected_misrouting_outcome(
            &MisroutingChallenge {
                signed,
                batch_id: batch.header.batch_id,
                decisions_root: batch.header.decisions_root,
                proof: &proof,
                evidence: &evidence,
            },
            &self.domain,
            |e| known.get(&e).map(|r| r.root()),
        );
        let inclusion = sealed.inclusion(index).map_err(|e| e.to_string())?;
        Ok((misrouting_call(inclusion, &evidence).abi_encode().into(), outcome))
    }

    /// Batch `batch_id` from chain data with its tree; the last one is kept.
    async fn sealed(&mut self, batch_id: u64) -> Result<Arc<(ChainBatch, SealedBatch)>, String> {
        if let Some(c) = self.last_sealed.as_ref().filter(|c| c.0.header.batch_id == batch_id) {
            return Ok(c.clone());
        }
        let batch = self.chain.batch(batch_id).await.map_err(|e| e.to_string())?;
        let sealed = seal(&batch)?;
        let c = Arc::new((batch, sealed));
        self.last_sealed = Some(c.clone());
        Ok(c)
    }

    /// The challenge transaction for `finding`, if the contract can decide it and it was not
    /// slashed already.
    pub async fn challenge_for(&mut self, finding: &Finding) -> Result<ChallengeTx, String> {
        let index =
            finding.index.ok_or("a batch-level finding is the sequencer's, not a router's")?;
        let cached = self.sealed(finding.batch_id).await?;
        let (batch, sealed) = (&cached.0, &cached.1);
        let signed = batch
            .decisions
            .get(index)
            .ok_or_else(|| format!("batch {} has no decision {index}", finding.batch_id))?;
        match &finding.challenge {
            Challengeable::Misrouting { offence } => {
                let leaf = signed.decision.leaf_hash();
                if self.chain.misrouting_slashed(leaf).await.map_err(|e| e.to_string())? {
                    return Err(format!("decision {leaf} was slashed already"));
                }
                let mut known = HashMap::new();
                for epoch in [signed.decision.registry_epoch, finding.batch_id] {
                    if epoch > 0 && epoch <= finding.batch_id {
                        known.insert(epoch, self.registry(epoch).await?);
                    }
                }
                let (data, outcome) = self.misrouting_evidence(batch, sealed, index, &known)?;
                let MisroutingOutcome::Proven(_) = outcome else {
                    return Err(format!("the contract would refuse it: {outcome:?}"));
                };
                Ok(ChallengeTx {
                    batch_id: finding.batch_id,
                    index,
                    function: "challengeMisrouting",
                    expected: offence.clone(),
                    to: self.chain.settlement(),
                    data,
                })
            }
            Challengeable::Duplicate { first_batch, first_index } => {
                let d = &signed.decision;
                if self
                    .chain
                    .duplicate_slashed(d.router, d.request.id)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    return Err(format!(
                        "router {}'s duplicates of {} were slashed already",
                        d.router, d.request.id
                    ));
                }
                let b = sealed.inclusion(index).map_err(|e| e.to_string())?;
                let first = self.sealed(*first_batch).await?;
                let a = first.1.inclusion(*first_index).map_err(|e| e.to_string())?;
                Ok(ChallengeTx {
                    batch_id: finding.batch_id,
                    index,
                    function: "challengeDuplicate",
                    expected: "Duplicate".into(),
                    to: self.chain.settlement(),
                    data: duplicate_call(a, b).abi_encode().into(),
                })
            }
            Challengeable::No { reason } => Err(format!("not challengeable: {reason}")),
        }
    }
}

/// The batch as the contract knows it, with its tree.
fn seal(batch: &ChainBatch) -> Result<SealedBatch, String> {
    let h = &batch.header;
    let sealed =
        SealedBatch::seal(h.batch_id, h.prev_hash, h.registry_root, batch.decisions.clone())
            .map_err(|e| e.to_string())?;
    if sealed.hash() != batch.header_hash {
        return Err(format!(
            "batch {}'s decisions do not give its committed header: no inclusion can be proven",
            h.batch_id
        ));
    }
    Ok(sealed)
}
