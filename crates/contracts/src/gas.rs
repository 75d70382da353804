//! L2 gas of the settlement path, measured from transaction receipts on anvil in OP Stack mode
//! (`--network optimism`, the devnet genesis): staking, committing a 1,200-decision batch,
//! challenges, and one transaction per decision for comparison.
//!
//! Receipts count everything a user pays L2 gas for: the 21,000 intrinsic gas, calldata at the
//! EIP-7623 floor (10 gas per zero byte, 40 per non-zero byte) where it applies, and execution.
//! Gas is deterministic for a given build and seed; the report is the `routing-gas` binary and
//! `tests/gas.rs` holds the goals (a challenge ≤ 250k; ≥ 10× less gas per decision than one
//! transaction per decision).

use crate::{
    anvil::{Anvil, AnvilError, RpcClient},
    artifacts::{Artifact, ArtifactError},
    batch::{duplicate_call, misrouting_call, onchain_signature, SealError, SealedBatch},
    devnet,
    genesis::GAS_LIMIT,
};
use alloy_primitives::{hex, Address, Bytes, B256, U256};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;
use alloy_sol_types::{sol, Eip712Domain, SolCall, SolStruct, SolValue};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use routing_policy::{route, tokens_after, Registry};
use routing_primitives::{
    abi::sol::{IStakeToken, IStaking, RoutingDecision},
    domain, Attempt, Decision, FallbackTrigger, OutcomeClass, PolicyParams, ProviderEntry, Request,
    Resolution, SignedDecision,
};
use serde_json::{json, Value};
use std::path::Path;

sol! {
    /// EIP-2612 permit, as the stake token's `permit` verifies it.
    struct Permit {
        address owner;
        address spender;
        uint256 value;
        uint256 nonce;
        uint256 deadline;
    }
}

/// The ABI signatures of the per-decision baseline (contracts/test/utils/PerDecisionBaseline.sol);
/// `sol!` cannot name the `RoutingDecision` of another `sol!` block, so calls are encoded by
/// hand and their selectors checked against the compiled contract.
const DECISION_TUPLE: &str =
    "(bytes32,uint32,uint64,uint64,uint8,(address,uint8,uint8,uint32)[],address,uint8,uint8,uint8,uint8,uint64,uint32,address)";

fn baseline_call(
    baseline: &Artifact,
    function: &str,
    d: RoutingDecision,
    signature: Bytes,
) -> Result<Vec<u8>, GasError> {
    let sig = format!("{function}({DECISION_TUPLE},bytes)");
    let selector = &alloy_primitives::keccak256(sig.as_bytes())[..4];
    if baseline.method_identifiers.get(&sig).map(String::as_str)
        != Some(hex::encode(selector).as_str())
    {
        return Err(GasError::Tx(format!("{} has no function {sig}", baseline.name)));
    }
    Ok([selector, &(d, signature).abi_encode_params()].concat())
}

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum GasError {
    /// Anvil or JSON-RPC failed.
    #[error(transparent)]
    Anvil(#[from] AnvilError),
    /// An artifact is missing.
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    /// A batch could not be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A transaction failed or returned something unexpected.
    #[error("{0}")]
    Tx(String),
}

/// One measured operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// What was done.
    pub operation: String,
    /// Gas used by the transaction (receipt `gasUsed`).
    pub gas: u64,
    /// Calldata size in bytes.
    pub calldata: usize,
    /// Decisions settled by the transaction, for per-decision figures.
    pub decisions: usize,
}

impl Row {
    /// Gas per decision, when the transaction settles decisions.
    pub fn per_decision(&self) -> Option<f64> {
        (self.decisions > 0).then(|| self.gas as f64 / self.decisions as f64)
    }
}

/// The measurements, in the order taken.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GasReport {
    /// Every measured transaction.
    pub rows: Vec<Row>,
    /// The gas limit [`SealedBatch::commit_gas_limit`] gives each measured commit, by operation.
    pub commit_limits: Vec<(String, u64)>,
}

impl GasReport {
    /// The row named `operation`.
    pub fn row(&self, operation: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.operation == operation)
    }

    /// Gas per decision of a 1,200-decision batch commit.
    pub fn batch_per_decision(&self) -> f64 {
        self.row(COMMIT_1200).and_then(Row::per_decision).unwrap_or(f64::NAN)
    }

    /// The report as a text table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<52} {:>11} {:>10} {:>13}\n",
            "operation (anvil --network optimism, receipts)", "L2 gas", "calldata", "gas/decision"
        );
        for r in &self.rows {
            out += &format!(
                "{:<52} {:>11} {:>10} {:>13}\n",
                r.operation,
                r.gas,
                r.calldata,
                r.per_decision().map_or(String::new(), |g| format!("{g:.0}"))
            );
        }
        let batch = self.batch_per_decision();
        for base in [BASELINE_COMMIT, BASELINE_LOG] {
            if let Some(b) = self.row(base).and_then(Row::per_decision) {
                out += &format!("ratio {base} / batch of 1,200: {:.1}x\n", b / batch);
            }
        }
        out
    }
}

/// Row names.
pub const STAKE: &str = "stake (after approve)";
/// Row name.
pub const APPROVE: &str = "approve";
/// Row name.
pub const STAKE_WITH_PERMIT: &str = "stakeWithPermit (one transaction from a wallet)";
/// Row name.
pub const COMMIT_1200: &str = "commitBatch, 1,200 decisions, payload included";
/// Row name.
pub const COMMIT_100: &str = "commitBatch, 100 decisions";
/// Row name.
pub const CHALLENGE_MISROUTING: &str = "challengeMisrouting (2 registry entries)";
/// Row name.
pub const CHALLENGE_MISROUTING_FULL: &str = "challengeMisrouting (whole registry, 9 entries)";
/// Row name.
pub const CHALLENGE_DUPLICATE: &str = "challengeDuplicate";
/// Row name.
pub const BASELINE_COMMIT: &str = "one tx per decision: store leaf + calldata";
/// Row name.
pub const BASELINE_LOG: &str = "one tx per decision: event only (lower bound)";

/// A JSON-RPC session with a funded devnet.
struct Chain<'a> {
    rpc: &'a RpcClient,
}

impl Chain<'_> {
    fn send(&self, from: Address, to: Option<Address>, data: &[u8]) -> Result<Value, GasError> {
        let mut tx =
            json!({"from": from, "data": format!("0x{}", hex::encode(data)), "gas": "0x3000000"});
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        let hash = self.rpc.call("eth_sendTransaction", json!([tx]))?;
        let receipt = self.rpc.receipt(&hash, std::time::Duration::from_secs(60))?;
        if receipt["status"] != json!("0x1") {
            return Err(GasError::Tx(format!("transaction {hash} failed: {receipt}")));
        }
        Ok(receipt)
    }

    fn measure(
        &self,
        report: &mut GasReport,
        operation: &str,
        from: Address,
        to: Address,
        data: &[u8],
        decisions: usize,
    ) -> Result<Value, GasError> {
        let receipt = self.send(from, Some(to), data)?;
        let gas = quantity(&receipt["gasUsed"])?;
        report.rows.push(Row { operation: operation.into(), gas, calldata: data.len(), decisions });
        Ok(receipt)
    }

    fn deploy(&self, from: Address, code: &Bytes) -> Result<Address, GasError> {
        let receipt = self.send(from, None, code)?;
        receipt["contractAddress"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| GasError::Tx(format!("no contract address in {receipt}")))
    }

    fn view<C: SolCall>(&self, to: Address, call: &C) -> Result<C::Return, GasError> {
        let out = self.rpc.call(
            "eth_call",
            json!([{"to": to, "data": format!("0x{}", hex::encode(call.abi_encode()))}, "latest"]),
        )?;
        let bytes = hex::decode(out.as_str().unwrap_or_default())
            .map_err(|e| GasError::Tx(format!("eth_call returned no hex: {e}")))?;
        C::abi_decode_returns(&bytes).map_err(|e| GasError::Tx(e.to_string()))
    }
}

fn quantity(v: &Value) -> Result<u64, GasError> {
    v.as_str()
        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .ok_or_else(|| GasError::Tx(format!("not a quantity: {v}")))
}

/// A fleet like the simulator's: four tier-0, three tier-1 and two fallback providers.
pub fn fleet(epoch: u64) -> Registry {
    let providers = (0..9u8)
        .map(|i| ProviderEntry {
            provider: Address::with_last_byte(0xa0 + i),
            model_class: 1,
            tier: match i {
                0..=3 => 0,
                4..=6 => 1,
                _ => 2,
            },
            reliability_ppm: 900_000 + u32::from(i) * 9_000,
            cooldown_until_ms: 0,
        })
        .collect();
    Registry::new(epoch, PolicyParams::default(), providers, vec![])
        .expect("the fleet is a valid registry")
}

/// `n` decisions routed by the policy for `routers` in turn, each router's retry tokens chained
/// from one decision to the next, with about one attempt in five failing.
pub fn routed_batch(
    registry: &Registry,
    routers: &[PrivateKeySigner],
    n: usize,
    seed: u64,
) -> Vec<SignedDecision> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dom = domain(devnet::CHAIN_ID, devnet::SETTLEMENT);
    let mut tokens: Vec<u32> =
        routers.iter().map(|r| registry.router_tokens(&r.address())).collect();
    let mut now = 1_700_000_000_000u64;
    (0..n)
        .map(|i| {
            let r = i % routers.len();
            now += rng.random_range(1..40);
            let request = Request {
                id: B256::from(rng.random::<[u8; 32]>()),
                model_class: 1,
                submit_ms: now,
                deadline_ms: now + 30_000,
                retry_budget: 2,
            };
            let outcomes: Vec<(OutcomeClass, u32)> = (0..16)
                .map(|_| {
                    let outcome = match rng.random_range(0..20) {
                        0 => OutcomeClass::Timeout,
                        1 => OutcomeClass::ProviderError,
                        2 => OutcomeClass::Overloaded,
                        3 => OutcomeClass::ValidationFailed,
                        _ => OutcomeClass::Success,
                    };
                    (outcome, rng.random_range(80..2_500))
                })
                .collect();
            let d = route(
                &request,
                registry,
                routers[r].address(),
                tokens[r],
                |_: &ProviderEntry, _: u64, k: usize| outcomes[k],
            );
            tokens[r] = tokens_after(&d, registry);
            sign(d, &routers[r], &dom)
        })
        .collect()
}

fn sign(d: Decision, key: &PrivateKeySigner, dom: &Eip712Domain) -> SignedDecision {
    let sig = key.sign_hash_sync(&d.signing_hash(dom)).expect("signing with a local key");
    SignedDecision { decision: d, signature: Bytes::from(sig.as_bytes().to_vec()) }
}

/// A lazy router's decision: straight to the fallback tier although tier 0 had eligible
/// providers (an `UnjustifiedFallback`).
fn lazy_decision(registry: &Registry, router: Address, tokens: u32) -> Decision {
    let request = Request {
        id: B256::repeat_byte(0x1a),
        model_class: 1,
        submit_ms: 1_700_000_000_000,
        deadline_ms: 1_700_000_030_000,
        retry_budget: 2,
    };
    skip_to_fallback(&request, registry, router, tokens)
}

/// `request` sent straight to the first fallback provider of its model class, served, with the
/// claim that no primary provider was available: what a lazy router does under load. Unless
/// the registry's primary tiers really had no eligible provider, it is an `UnjustifiedFallback`.
pub fn skip_to_fallback(
    request: &Request,
    registry: &Registry,
    router: Address,
    tokens: u32,
) -> Decision {
    let fallback = registry
        .tier(request.model_class, registry.params().fallback_tier)
        .next()
        .expect("the registry has a fallback provider");
    Decision {
        request: request.clone(),
        attempts: vec![Attempt {
            provider: fallback.provider,
            tier: fallback.tier,
            outcome: OutcomeClass::Success,
            latency_ms: 120,
        }],
        final_provider: fallback.provider,
        final_tier: fallback.tier,
        retry_count: 0,
        trigger: FallbackTrigger::NoPrimaryProvider,
        resolution: Resolution::Served,
        registry_epoch: registry.epoch(),
        budget_tokens: tokens.min(registry.params().token_max),
        router,
    }
}

/// Runs every measurement against `anvil`, which must have been started with the devnet genesis
/// ([`anvil_args`]); `baseline` is the compiled `PerDecisionBaseline`.
pub fn measure(anvil: &Anvil, baseline: &Artifact) -> Result<GasReport, GasError> {
    let chain = Chain { rpc: anvil.rpc() };
    let mut report = GasReport::default();
    let sequencer = devnet::dev_address(devnet::OWNER_INDEX);
    let routers: Vec<PrivateKeySigner> = (1..=2).map(devnet::dev_signer).collect();
    let stake = U256::from(10_000u64) * devnet::TOKEN;

    // Router 1 stakes the two-transaction way, router 2 with a permit in one.
    let r1 = routers[0].address();
    chain.measure(
        &mut report,
        APPROVE,
        r1,
        devnet::STAKE_TOKEN,
        &IStakeToken::approveCall { spender: devnet::STAKING, value: stake }.abi_encode(),
        0,
    )?;
    chain.measure(
        &mut report,
        STAKE,
        r1,
        devnet::STAKING,
        &IStaking::stakeCall { amount: stake }.abi_encode(),
        0,
    )?;
    let r2 = &routers[1];
    let nonce =
        chain.view(devnet::STAKE_TOKEN, &IStakeToken::noncesCall { owner: r2.address() })?;
    let deadline = U256::from(u64::MAX);
    let permit =
        Permit { owner: r2.address(), spender: devnet::STAKING, value: stake, nonce, deadline };
    let token_domain = Eip712Domain::new(
        Some("Routing Stake".into()),
        Some("1".into()),
        Some(U256::from(devnet::CHAIN_ID)),
        Some(devnet::STAKE_TOKEN),
        None,
    );
    let sig = r2
        .sign_hash_sync(&permit.eip712_signing_hash(&token_domain))
        .map_err(|e| GasError::Tx(e.to_string()))?;
    let call = IStaking::stakeWithPermitCall {
        amount: stake,
        deadline,
        v: 27 + u8::from(sig.v()),
        r: sig.r().into(),
        s: sig.s().into(),
    };
    chain.measure(
        &mut report,
        STAKE_WITH_PERMIT,
        r2.address(),
        devnet::STAKING,
        &call.abi_encode(),
        0,
    )?;

    // Batch 1: 1,200 routed decisions, one of them lazy.
    let registry = fleet(1);
    let mut decisions = routed_batch(&registry, &routers, 1_199, 7);
    let dom = domain(devnet::CHAIN_ID, devnet::SETTLEMENT);
    let lazy_router = &routers[0];
    let lazy = lazy_decision(
        &registry,
        lazy_router.address(),
        registry.router_tokens(&lazy_router.address()),
    );
    decisions.insert(600, sign(lazy, lazy_router, &dom));
    let batch1 = SealedBatch::seal(1, B256::ZERO, registry.root(), decisions)?;
    chain.measure(
        &mut report,
        COMMIT_1200,
        sequencer,
        devnet::SETTLEMENT,
        &batch1.commit_call().abi_encode(),
        1_200,
    )?;
    report.commit_limits.push((COMMIT_1200.into(), batch1.commit_gas_limit()));

    // Batch 2: 100 decisions, one of them a second decision for a request of batch 1.
    let registry2 =
        registry.next(&batch1.decisions.iter().map(|s| s.decision.clone()).collect::<Vec<_>>());
    let mut decisions2 = routed_batch(&registry2, &routers, 99, 8);
    let original = &batch1.decisions[1];
    let mut again = original.decision.clone();
    again.registry_epoch = registry2.epoch();
    let owner = routers.iter().find(|k| k.address() == again.router).expect("router key");
    decisions2.push(sign(again, owner, &dom));
    let batch2 = SealedBatch::seal(2, batch1.hash(), registry2.root(), decisions2)?;
    chain.measure(
        &mut report,
        COMMIT_100,
        sequencer,
        devnet::SETTLEMENT,
        &batch2.commit_call().abi_encode(),
        100,
    )?;
    report.commit_limits.push((COMMIT_100.into(), batch2.commit_gas_limit()));

    // Challenges.
    let challenger = devnet::dev_address(5);
    let lazy_entry = batch1.decisions[600].decision.attempts[0].provider;
    let primary = registry.tier(1, 0).next().expect("a tier-0 provider").provider;
    let evidence =
        registry.evidence(&[lazy_entry, primary]).map_err(|e| GasError::Tx(e.to_string()))?;
    let call = misrouting_call(batch1.inclusion(600)?, &evidence);
    chain.measure(
        &mut report,
        CHALLENGE_MISROUTING,
        challenger,
        devnet::SETTLEMENT,
        &call.abi_encode(),
        0,
    )?;
    let call = duplicate_call(batch1.inclusion(1)?, batch2.inclusion(99)?);
    chain.measure(
        &mut report,
        CHALLENGE_DUPLICATE,
        challenger,
        devnet::SETTLEMENT,
        &call.abi_encode(),
        0,
    )?;
    // A second misrouting offence (by router 2, not yet slashed for misrouting), proven with the
    // whole registry.
    let mut lazy2 = lazy_decision(
        &registry2,
        routers[1].address(),
        registry2.router_tokens(&routers[1].address()),
    );
    lazy2.request.id = B256::repeat_byte(0x2b);
    let mut decisions3 = routed_batch(&registry2, &routers, 9, 9);
    decisions3.push(sign(lazy2, &routers[1], &dom));
    let batch3 = SealedBatch::seal(3, batch2.hash(), registry2.root(), decisions3)?;
    chain.send(sequencer, Some(devnet::SETTLEMENT), &batch3.commit_call().abi_encode())?;
    let call = misrouting_call(batch3.inclusion(9)?, &registry2.full_evidence());
    chain.measure(
        &mut report,
        CHALLENGE_MISROUTING_FULL,
        challenger,
        devnet::SETTLEMENT,
        &call.abi_encode(),
        0,
    )?;

    // One transaction per decision, for the same decisions.
    let base = chain.deploy(sequencer, &baseline.bytecode)?;
    for (name, log) in [(BASELINE_COMMIT, false), (BASELINE_LOG, true)] {
        let mut total = 0u64;
        let mut bytes = 0usize;
        let sample = 50;
        for signed in batch1.decisions.iter().take(sample) {
            let d = RoutingDecision::from(&signed.decision);
            let signature =
                onchain_signature(&signed.signature).map_err(|e| GasError::Tx(e.to_string()))?;
            let function = if log { "logDecision" } else { "commitDecision" };
            let data = baseline_call(baseline, function, d, signature)?;
            let receipt = chain.send(sequencer, Some(base), &data)?;
            total += quantity(&receipt["gasUsed"])?;
            bytes += data.len();
        }
        report.rows.push(Row {
            operation: name.into(),
            gas: total,
            calldata: bytes,
            decisions: sample,
        });
    }
    Ok(report)
}

/// Anvil's arguments for the devnet: OP Stack mode, the genesis, its chain id and gas limit.
pub fn anvil_args(genesis: &Path) -> Vec<String> {
    vec![
        "--network".into(),
        "optimism".into(),
        "--chain-id".into(),
        devnet::CHAIN_ID.to_string(),
        "--gas-limit".into(),
        GAS_LIMIT.to_string(),
        "--init".into(),
        genesis.display().to_string(),
    ]
}
