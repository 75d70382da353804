//! `replay`: re-run a whole batch.

use crate::{check, route::tokens_after, Registry, Violation};
use alloy_primitives::{Address, B256};
use alloy_sol_types::Eip712Domain;
use routing_primitives::{Decision, SignedDecision};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A violation and the batch position of the decision that commits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Position of the decision in the batch (its Merkle leaf index).
    pub index: usize,
    /// Leaf hash of the decision.
    pub leaf: B256,
    /// The rule broken.
    pub violation: Violation,
}

/// What replaying a batch gives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    /// Merkle root of the decisions, recomputed (zero for an empty batch).
    pub decisions_root: B256,
    /// Root of the registry the batch was replayed against.
    pub registry_root: B256,
    /// The registry for the next batch.
    pub next_registry: Registry,
    /// Its root.
    pub next_registry_root: B256,
    /// Every violation found, in batch order.
    pub findings: Vec<Finding>,
}

impl Replay {
    /// Whether the batch broke no rule.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Replays a batch whose decisions were all routed against `registry`, the batch's own
/// (see [`replay_epochs`]).
pub fn replay(decisions: &[Decision], registry: &Registry) -> Replay {
    let leaves: Vec<B256> = decisions.iter().map(Decision::leaf_hash).collect();
    replay_with_leaves(decisions, &leaves, registry, &only(registry), Vec::new())
}

/// A lookup that knows one registry.
fn only<'a>(registry: &'a Registry) -> impl Fn(u64) -> Option<&'a Registry> {
    move |epoch| (epoch == registry.epoch()).then_some(registry)
}

/// Replays a batch of decisions, in batch order: recomputes the decisions root, checks every
/// decision ([`check`]) against the registry of the epoch it names (`registry_of(epoch)`; a
/// decision may name any epoch up to the batch's, as decisions are routed against the registry
/// current when they started), checks that each router's retry tokens chain from one of its
/// decisions to the next (starting from what `batch_registry`, the registry of the batch's own
/// epoch, carries), flags a second decision for the same request id, and computes the next
/// registry (`batch_registry.next(decisions)`).
///
/// A decision naming an epoch newer than the batch's breaks `WrongRegistryEpoch`; one naming an
/// epoch `registry_of` does not know is reported as `UnknownRegistryEpoch` and not checked.
pub fn replay_epochs<'a>(
    decisions: &[Decision],
    batch_registry: &'a Registry,
    registry_of: impl Fn(u64) -> Option<&'a Registry>,
) -> Replay {
    let leaves: Vec<B256> = decisions.iter().map(Decision::leaf_hash).collect();
    replay_with_leaves(decisions, &leaves, batch_registry, &registry_of, Vec::new())
}

/// [`replay`] for signed decisions: also verifies each router's EIP-712 signature under
/// `domain`.
pub fn replay_signed(
    batch: &[SignedDecision],
    registry: &Registry,
    domain: &Eip712Domain,
) -> Replay {
    replay_signed_epochs(batch, registry, only(registry), domain)
}

/// [`replay_epochs`] for signed decisions: also verifies each router's EIP-712 signature under
/// `domain`.
pub fn replay_signed_epochs<'a>(
    batch: &[SignedDecision],
    batch_registry: &'a Registry,
    registry_of: impl Fn(u64) -> Option<&'a Registry>,
    domain: &Eip712Domain,
) -> Replay {
    let mut findings = Vec::new();
    let separator = domain.separator();
    let leaves: Vec<B256> = batch
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let leaf = s.decision.leaf_hash();
            if let Err(e) = s.verify_with_separator(&separator) {
                findings.push(Finding {
                    index,
                    leaf,
                    violation: Violation::BadSignature { reason: e.to_string() },
                });
            }
            leaf
        })
        .collect();
    let decisions: Vec<Decision> = batch.iter().map(|s| s.decision.clone()).collect();
    replay_with_leaves(&decisions, &leaves, batch_registry, &registry_of, findings)
}

fn replay_with_leaves<'a>(
    decisions: &[Decision],
    leaves: &[B256],
    registry: &'a Registry,
    registry_of: &dyn Fn(u64) -> Option<&'a Registry>,
    mut findings: Vec<Finding>,
) -> Replay {
    let mut first_seen: HashMap<B256, usize> = HashMap::with_capacity(decisions.len());
    let mut balances: HashMap<Address, u32> = HashMap::new();
    for (index, (d, &leaf)) in decisions.iter().zip(leaves).enumerate() {
        if let Some(&first_index) = first_seen.get(&d.request.id) {
            findings.push(Finding {
                index,
                leaf,
                violation: Violation::DuplicateRequest { first_index },
            });
        } else {
            first_seen.insert(d.request.id, index);
        }
        let expected =
            *balances.entry(d.router).or_insert_with(|| registry.router_tokens(&d.router));
        if d.budget_tokens != expected {
            findings.push(Finding {
                index,
                leaf,
                violation: Violation::BudgetChainBroken { expected, found: d.budget_tokens },
            });
        }
        let routed_with = if d.registry_epoch > registry.epoch() {
            // Newer than the batch: checked against the batch's registry, which reports it.
            Some(registry)
        } else {
            registry_of(d.registry_epoch)
        };
        let Some(routed_with) = routed_with else {
            findings.push(Finding {
                index,
                leaf,
                violation: Violation::UnknownRegistryEpoch { epoch: d.registry_epoch },
            });
            balances.insert(d.router, tokens_after(d, registry));
            continue;
        };
        balances.insert(d.router, tokens_after(d, routed_with));
        findings.extend(check(d, routed_with).into_iter().map(|violation| Finding {
            index,
            leaf,
            violation,
        }));
    }
    findings.sort_by_key(|f| f.index);
    let next_registry = registry.next(decisions);
    Replay {
        decisions_root: routing_merkle::root(leaves).unwrap_or(B256::ZERO),
        registry_root: registry.root(),
        next_registry_root: next_registry.root(),
        next_registry,
        findings,
    }
}
