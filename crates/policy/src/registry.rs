//! The provider registry snapshot a batch is routed against, and its per-batch update.

use alloy_primitives::{Address, B256};
use routing_primitives::{Decision, OutcomeClass, PolicyParams, ProviderEntry, RouterBudget};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Parts per million: reliability 1.0.
pub const PPM: u32 = 1_000_000;

/// Why a registry snapshot is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A provider appears twice.
    #[error("provider {0} appears more than once")]
    DuplicateProvider(Address),
    /// A router appears twice.
    #[error("router {0} appears more than once")]
    DuplicateRouter(Address),
    /// A reliability above one million parts per million.
    #[error("provider {provider} reliability {ppm} ppm exceeds 1000000")]
    ReliabilityOutOfRange {
        /// The provider.
        provider: Address,
        /// The value found.
        ppm: u32,
    },
    /// A parameter out of its range.
    #[error("policy parameter {0} is out of range")]
    InvalidParam(&'static str),
    /// A router's tokens above the bucket size.
    #[error("router {router} tokens {tokens} exceed token_max")]
    TokensOutOfRange {
        /// The router.
        router: Address,
        /// The value found.
        tokens: u32,
    },
}

/// Plain form of a [`Registry`] for serialization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryData {
    /// The epoch: the id of the batch this snapshot routes.
    pub epoch: u64,
    /// Policy parameters.
    pub params: PolicyParams,
    /// Providers.
    pub providers: Vec<ProviderEntry>,
    /// Routers' retry-throttling tokens carried from earlier batches.
    pub routers: Vec<RouterBudget>,
}

/// A validated registry snapshot: providers and routers sorted by address and unique, with an
/// index by (model class, tier).
///
/// The registry for batch `N + 1` is [`Registry::next`] of the registry for batch `N` and the
/// decisions of batch `N`: a pure function, so anyone holding the chain of batches can rebuild
/// every snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RegistryData", into = "RegistryData")]
pub struct Registry {
    epoch: u64,
    params: PolicyParams,
    providers: Vec<ProviderEntry>,
    routers: Vec<RouterBudget>,
    /// (model class, tier) -> indices into `providers`, ascending by address.
    by_class_tier: BTreeMap<(u32, u8), Vec<usize>>,
}

impl TryFrom<RegistryData> for Registry {
    type Error = RegistryError;

    fn try_from(data: RegistryData) -> Result<Self, RegistryError> {
        Self::new(data.epoch, data.params, data.providers, data.routers)
    }
}

impl From<Registry> for RegistryData {
    fn from(r: Registry) -> Self {
        Self { epoch: r.epoch, params: r.params, providers: r.providers, routers: r.routers }
    }
}

fn validate_params(p: &PolicyParams) -> Result<(), RegistryError> {
    if p.max_attempts == 0 || usize::from(p.max_attempts) > routing_primitives::MAX_ATTEMPTS - 1 {
        return Err(RegistryError::InvalidParam("max_attempts"));
    }
    if p.fallback_tier == 0 {
        return Err(RegistryError::InvalidParam("fallback_tier"));
    }
    if p.reliability_floor_ppm > PPM {
        return Err(RegistryError::InvalidParam("reliability_floor_ppm"));
    }
    if p.ewma_alpha_ppm > PPM {
        return Err(RegistryError::InvalidParam("ewma_alpha_ppm"));
    }
    if p.token_max == 0 {
        return Err(RegistryError::InvalidParam("token_max"));
    }
    if p.retryable_mask & OutcomeClass::Success.bit() != 0 {
        return Err(RegistryError::InvalidParam("retryable_mask"));
    }
    Ok(())
}

impl Registry {
    /// Validates and indexes a snapshot.
    pub fn new(
        epoch: u64,
        params: PolicyParams,
        mut providers: Vec<ProviderEntry>,
        mut routers: Vec<RouterBudget>,
    ) -> Result<Self, RegistryError> {
        validate_params(&params)?;
        providers.sort_by_key(|p| p.provider);
        if let Some(w) = providers.windows(2).find(|w| w[0].provider == w[1].provider) {
            return Err(RegistryError::DuplicateProvider(w[0].provider));
        }
        if let Some(p) = providers.iter().find(|p| p.reliability_ppm > PPM) {
            return Err(RegistryError::ReliabilityOutOfRange {
                provider: p.provider,
                ppm: p.reliability_ppm,
            });
        }
        routers.sort_by_key(|r| r.router);
        if let Some(w) = routers.windows(2).find(|w| w[0].router == w[1].router) {
            return Err(RegistryError::DuplicateRouter(w[0].router));
        }
        if let Some(r) = routers.iter().find(|r| r.tokens > params.token_max) {
            return Err(RegistryError::TokensOutOfRange { router: r.router, tokens: r.tokens });
        }
        let mut by_class_tier: BTreeMap<(u32, u8), Vec<usize>> = BTreeMap::new();
        for (i, p) in providers.iter().enumerate() {
            by_class_tier.entry((p.model_class, p.tier)).or_default().push(i);
        }
        Ok(Self { epoch, params, providers, routers, by_class_tier })
    }

    /// The epoch (the id of the batch this snapshot routes).
    pub const fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Number of providers; committed in the parameter leaf.
    pub fn provider_count(&self) -> u32 {
        u32::try_from(self.providers.len()).expect("a registry holds fewer than 2^32 providers")
    }

    /// The parameter record committed as the registry's first leaf.
    pub fn registry_params(&self) -> routing_primitives::abi::sol::RegistryParams {
        self.params.registry_params(self.epoch, self.provider_count())
    }

    /// The policy parameters.
    pub const fn params(&self) -> &PolicyParams {
        &self.params
    }

    /// Providers, ascending by address.
    pub fn providers(&self) -> &[ProviderEntry] {
        &self.providers
    }

    /// Routers' carried tokens, ascending by address.
    pub fn routers(&self) -> &[RouterBudget] {
        &self.routers
    }

    /// Looks a provider up by address.
    pub fn provider(&self, address: &Address) -> Option<&ProviderEntry> {
        self.providers
            .binary_search_by_key(address, |p| p.provider)
            .ok()
            .map(|i| &self.providers[i])
    }

    /// Providers registered for `model_class` at `tier`, ascending by address.
    pub fn tier(&self, model_class: u32, tier: u8) -> impl Iterator<Item = &ProviderEntry> + '_ {
        self.by_class_tier
            .get(&(model_class, tier))
            .into_iter()
            .flat_map(move |ix| ix.iter().map(move |&i| &self.providers[i]))
    }

    /// The tokens `router` starts this batch with: what it carried out of its last batch, or a
    /// full bucket for a router never seen.
    pub fn router_tokens(&self, router: &Address) -> u32 {
        self.routers
            .binary_search_by_key(router, |r| r.router)
            .map_or(self.params.token_max, |i| self.routers[i].tokens)
    }

    /// The registry's leaves in canonical order: the parameter leaf, then every provider, then
    /// every router budget, each group ascending by address.
    pub fn leaves(&self) -> Vec<B256> {
        let mut leaves = Vec::with_capacity(1 + self.providers.len() + self.routers.len());
        leaves.push(self.params.leaf_hash(self.epoch, self.provider_count()));
        leaves.extend(self.providers.iter().map(ProviderEntry::leaf_hash));
        leaves.extend(self.routers.iter().map(RouterBudget::leaf_hash));
        leaves
    }

    /// The registry root: the OpenZeppelin-layout Merkle root of [`Registry::leaves`].
    pub fn root(&self) -> B256 {
        routing_merkle::root(&self.leaves()).expect("a registry always has its parameter leaf")
    }

    /// Leaf index of a provider in [`Registry::leaves`], for proofs of its entry.
    pub fn provider_leaf_index(&self, address: &Address) -> Option<usize> {
        self.providers.binary_search_by_key(address, |p| p.provider).ok().map(|i| 1 + i)
    }

    /// Leaf index of a router's budget in [`Registry::leaves`].
    pub fn router_leaf_index(&self, router: &Address) -> Option<usize> {
        self.routers
            .binary_search_by_key(router, |r| r.router)
            .ok()
            .map(|i| 1 + self.providers.len() + i)
    }

    /// The registry for the next batch: a pure function of this registry and the decisions of
    /// this batch, in batch order.
    ///
    /// - every committed attempt moves its provider's reliability by a fixed-point EWMA
    ///   (`r += alpha * (observed - r)`, observed = 1 for success and 0 otherwise);
    /// - a provider with at least `cooldown_failures` failures in the batch cools down until
    ///   `cooldown_ms` after the batch's last logical time;
    /// - each router carries the tokens its last decision in the batch left it with.
    pub fn next(&self, decisions: &[Decision]) -> Registry {
        let p = &self.params;
        let mut providers = self.providers.clone();
        let mut failures = vec![0u32; providers.len()];
        let mut batch_end = 0u64;
        let mut routers: BTreeMap<Address, u32> =
            self.routers.iter().map(|r| (r.router, r.tokens)).collect();
        let alpha = u64::from(p.ewma_alpha_ppm);
        for d in decisions {
            batch_end = batch_end.max(d.end_ms());
            let mut tokens = d.budget_tokens.min(p.token_max);
            for a in &d.attempts {
                tokens = p.apply_outcome(tokens, a.outcome);
                let Ok(i) = providers.binary_search_by_key(&a.provider, |e| e.provider) else {
                    continue;
                };
                let observed = if a.outcome.is_failure() { 0 } else { u64::from(PPM) };
                let r = u64::from(providers[i].reliability_ppm);
                // Rounds to nearest; stays within 0..=PPM because it is a convex combination.
                let next = (r * (u64::from(PPM) - alpha) + observed * alpha + u64::from(PPM) / 2)
                    / u64::from(PPM);
                providers[i].reliability_ppm = next as u32;
                if a.outcome.is_failure() {
                    failures[i] += 1;
                }
            }
            routers.insert(d.router, tokens);
        }
        if p.cooldown_failures > 0 {
            for (entry, &f) in providers.iter_mut().zip(&failures) {
                if f >= p.cooldown_failures {
                    entry.cooldown_until_ms =
                        entry.cooldown_until_ms.max(batch_end.saturating_add(p.cooldown_ms));
                }
            }
        }
        let routers =
            routers.into_iter().map(|(router, tokens)| RouterBudget { router, tokens }).collect();
        Registry::new(self.epoch + 1, p.clone(), providers, routers)
            .expect("next() preserves every registry invariant")
    }
}
