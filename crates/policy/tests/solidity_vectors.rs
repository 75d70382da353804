//! Test vectors for the Solidity `RoutingHash` library (contracts/src/libraries/RoutingHash.sol).
//!
//! Builds deterministic decisions, registry entries, parameters and headers, computes their
//! commitments with the Rust crates and compares them with the checked-in
//! `contracts/test/vectors/routing_hash.json`, which `forge test` (contracts/test/RoutingHash.t.sol)
//! checks against Solidity. Run with `UPDATE_VECTORS=1` to rewrite the file.

use alloy_primitives::{address, hex, keccak256, Address, B256, U256};
use alloy_sol_types::{SolStruct, SolValue};
use routing_policy::hrw_score;
use routing_primitives::{
    abi::sol, domain, Attempt, BatchHeader, Decision, FallbackTrigger, OutcomeClass, PolicyParams,
    ProviderEntry, Request, Resolution, RouterBudget,
};
use serde_json::{json, Value};
use std::path::PathBuf;

const CHAIN_ID: u64 = 901;
const SETTLEMENT: Address = address!("00000000000000000000000000000000000c0ffe");

/// A deterministic byte source: `keccak256(seed || counter)`, 32 bytes at a time.
struct Stream {
    seed: B256,
    counter: u64,
    buf: [u8; 32],
    pos: usize,
}

impl Stream {
    fn new(label: &str) -> Self {
        Self { seed: keccak256(label.as_bytes()), counter: 0, buf: [0; 32], pos: 32 }
    }

    fn byte(&mut self) -> u8 {
        if self.pos == 32 {
            let mut pre = [0u8; 40];
            pre[..32].copy_from_slice(self.seed.as_slice());
            pre[32..].copy_from_slice(&self.counter.to_be_bytes());
            self.buf = keccak256(pre).0;
            self.counter += 1;
            self.pos = 0;
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        b
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.byte())
    }

    fn u8(&mut self) -> u8 {
        self.byte()
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.bytes())
    }

    fn u64(&mut self) -> u64 {
        u64::from_be_bytes(self.bytes())
    }

    fn b256(&mut self) -> B256 {
        B256::from(self.bytes::<32>())
    }

    fn address(&mut self) -> Address {
        Address::from(self.bytes::<20>())
    }

    fn pick<T: Copy>(&mut self, all: &[T]) -> T {
        all[usize::from(self.byte()) % all.len()]
    }
}

fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn b32(b: &B256) -> String {
    hex0x(b.as_slice())
}

/// Decision `i`: 0 is all zeros, 1 all maximal, the rest pseudo-random with `i % 6` attempts.
fn decision(i: usize, s: &mut Stream) -> Decision {
    let n = i % 6;
    match i {
        0 => Decision {
            request: Request {
                id: B256::ZERO,
                model_class: 0,
                submit_ms: 0,
                deadline_ms: 0,
                retry_budget: 0,
            },
            attempts: vec![],
            final_provider: Address::ZERO,
            final_tier: 0,
            retry_count: 0,
            trigger: FallbackTrigger::None,
            resolution: Resolution::Served,
            registry_epoch: 0,
            budget_tokens: 0,
            router: Address::ZERO,
        },
        1 => Decision {
            request: Request {
                id: B256::repeat_byte(0xff),
                model_class: u32::MAX,
                submit_ms: u64::MAX,
                deadline_ms: u64::MAX,
                retry_budget: u8::MAX,
            },
            attempts: (0..5)
                .map(|_| Attempt {
                    provider: Address::repeat_byte(0xff),
                    tier: u8::MAX,
                    outcome: OutcomeClass::RejectedTerminal,
                    latency_ms: u32::MAX,
                })
                .collect(),
            final_provider: Address::repeat_byte(0xff),
            final_tier: u8::MAX,
            retry_count: u8::MAX,
            trigger: FallbackTrigger::NoPrimaryProvider,
            resolution: Resolution::Exhausted,
            registry_epoch: u64::MAX,
            budget_tokens: u32::MAX,
            router: Address::repeat_byte(0xff),
        },
        _ => {
            let attempts: Vec<Attempt> = (0..n)
                .map(|_| Attempt {
                    provider: s.address(),
                    tier: s.u8() % 4,
                    outcome: s.pick(OutcomeClass::ALL),
                    latency_ms: s.u32() % 100_000,
                })
                .collect();
            let submit_ms = s.u64() >> 20;
            Decision {
                request: Request {
                    id: s.b256(),
                    model_class: s.u32() % 16,
                    submit_ms,
                    deadline_ms: submit_ms + u64::from(s.u32() % 1_000_000),
                    retry_budget: s.u8() % 6,
                },
                final_provider: attempts.last().map_or(Address::ZERO, |a| a.provider),
                final_tier: attempts.last().map_or(0, |a| a.tier),
                retry_count: u8::try_from(n.saturating_sub(1)).expect("small"),
                attempts,
                trigger: s.pick(FallbackTrigger::ALL),
                resolution: s.pick(Resolution::ALL),
                registry_epoch: s.u64() % 1_000,
                budget_tokens: s.u32(),
                router: s.address(),
            }
        }
    }
}

fn provider(i: usize, s: &mut Stream) -> ProviderEntry {
    match i {
        0 => ProviderEntry {
            provider: Address::ZERO,
            model_class: 0,
            tier: 0,
            reliability_ppm: 0,
            cooldown_until_ms: 0,
        },
        1 => ProviderEntry {
            provider: Address::repeat_byte(0xff),
            model_class: u32::MAX,
            tier: u8::MAX,
            reliability_ppm: u32::MAX,
            cooldown_until_ms: u64::MAX,
        },
        _ => ProviderEntry {
            provider: s.address(),
            model_class: s.u32() % 16,
            tier: s.u8() % 4,
            reliability_ppm: s.u32() % 1_000_001,
            cooldown_until_ms: s.u64() >> 24,
        },
    }
}

fn generate() -> Value {
    let dom = domain(CHAIN_ID, SETTLEMENT);
    let separator = dom.separator();

    let mut s = Stream::new("routing-hash/decisions");
    let (mut d_abi, mut d_leaf, mut d_struct, mut d_digest) = (vec![], vec![], vec![], vec![]);
    for i in 0..50 {
        let d = decision(i, &mut s);
        let solv = sol::RoutingDecision::from(&d);
        // The hand-rolled hashStruct must equal alloy's derived one.
        assert_eq!(d.eip712_hash_struct(), solv.eip712_hash_struct());
        assert_eq!(d.signing_hash(&dom), solv.eip712_signing_hash(&dom));
        d_abi.push(hex0x(&d.abi_encode()));
        d_leaf.push(b32(&d.leaf_hash()));
        d_struct.push(b32(&d.eip712_hash_struct()));
        d_digest.push(b32(&d.signing_hash(&dom)));
    }

    let mut s = Stream::new("routing-hash/providers");
    let (mut p_abi, mut p_leaf) = (vec![], vec![]);
    let mut providers = vec![];
    for i in 0..10 {
        let p = provider(i, &mut s);
        p_abi.push(hex0x(&sol::ProviderEntry::from(&p).abi_encode()));
        p_leaf.push(b32(&p.leaf_hash()));
        providers.push(p);
    }

    let routers = [
        RouterBudget { router: Address::repeat_byte(0xff), tokens: u32::MAX },
        RouterBudget {
            router: address!("1111111111111111111111111111111111111111"),
            tokens: 7_500,
        },
    ];
    let r_abi: Vec<String> = routers
        .iter()
        .map(|r| hex0x(&sol::RouterBudget { router: r.router, tokens: r.tokens }.abi_encode()))
        .collect();
    let r_leaf: Vec<String> = routers.iter().map(|r| b32(&r.leaf_hash())).collect();

    let max_params = PolicyParams {
        max_attempts: u8::MAX,
        fallback_tier: u8::MAX,
        retryable_mask: u8::MAX,
        reliability_floor_ppm: u32::MAX,
        token_max: u32::MAX,
        token_ratio: u32::MAX,
        token_failure_cost: u32::MAX,
        ewma_alpha_ppm: u32::MAX,
        cooldown_failures: u32::MAX,
        cooldown_ms: u64::MAX,
    };
    let params = [
        (PolicyParams::default(), 0u64, 0u32),
        (PolicyParams::default(), 42, 9),
        (max_params, u64::MAX, u32::MAX),
    ];
    let a_abi: Vec<String> =
        params.iter().map(|(p, e, n)| hex0x(&p.registry_params(*e, *n).abi_encode())).collect();
    let a_leaf: Vec<String> = params.iter().map(|(p, e, n)| b32(&p.leaf_hash(*e, *n))).collect();

    let mut s = Stream::new("routing-hash/headers");
    let headers = [
        BatchHeader {
            batch_id: 0,
            prev_hash: B256::ZERO,
            decisions_root: B256::ZERO,
            registry_root: B256::ZERO,
            count: 0,
            l2_block_start: 0,
            l2_block_end: 0,
        },
        BatchHeader {
            batch_id: u64::MAX,
            prev_hash: B256::repeat_byte(0xff),
            decisions_root: B256::repeat_byte(0xff),
            registry_root: B256::repeat_byte(0xff),
            count: u32::MAX,
            l2_block_start: u64::MAX,
            l2_block_end: u64::MAX,
        },
        BatchHeader {
            batch_id: 17,
            prev_hash: s.b256(),
            decisions_root: s.b256(),
            registry_root: s.b256(),
            count: 10_000,
            // Not committed: the header hash must not depend on the block range.
            l2_block_start: 123,
            l2_block_end: 456,
        },
    ];
    let h_abi: Vec<String> = headers
        .iter()
        .map(|h| {
            hex0x(
                &sol::BatchHeader {
                    batchId: h.batch_id,
                    prevHash: h.prev_hash,
                    decisionsRoot: h.decisions_root,
                    registryRoot: h.registry_root,
                    count: h.count,
                }
                .abi_encode(),
            )
        })
        .collect();
    let h_hash: Vec<String> = headers.iter().map(|h| b32(&h.hash())).collect();

    let mut s = Stream::new("routing-hash/hrw");
    let (mut w_id, mut w_provider, mut w_ppm, mut w_score) = (vec![], vec![], vec![], vec![]);
    for i in 0..24 {
        let (id, provider, ppm) = match i {
            0 => (B256::ZERO, Address::ZERO, 0),
            1 => (B256::repeat_byte(0xff), Address::repeat_byte(0xff), u32::MAX),
            2 => (s.b256(), s.address(), 1_000_000),
            3 => (s.b256(), s.address(), u32::MAX),
            _ => (s.b256(), providers[i % providers.len()].provider, s.u32() % 1_000_001),
        };
        let score = hrw_score(&id, &provider, ppm);
        // Independent check of the formula, in 256-bit arithmetic like Solidity.
        let top = U256::from_be_bytes(keccak256((id, provider).abi_encode()).0) >> 192;
        assert_eq!(U256::from(score), top * U256::from(ppm));
        w_id.push(b32(&id));
        w_provider.push(provider.to_checksum(None));
        w_ppm.push(ppm.to_string());
        w_score.push(score.to_string());
    }

    json!({
        "chainId": CHAIN_ID,
        "verifyingContract": SETTLEMENT.to_checksum(None),
        "domainSeparator": b32(&separator),
        "decisions": { "abi": d_abi, "leaf": d_leaf, "hashStruct": d_struct, "digest": d_digest },
        "providers": { "abi": p_abi, "leaf": p_leaf },
        "routers": { "abi": r_abi, "leaf": r_leaf },
        "params": { "abi": a_abi, "leaf": a_leaf },
        "headers": { "abi": h_abi, "hash": h_hash },
        "hrw": { "requestId": w_id, "provider": w_provider, "reliabilityPpm": w_ppm, "score": w_score },
    })
}

#[test]
fn solidity_vectors_are_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/test/vectors/routing_hash.json");
    let text = serde_json::to_string_pretty(&generate()).expect("serializes") + "\n";
    if std::env::var_os("UPDATE_VECTORS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).expect("writes the vector file");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == text,
        "{} is stale: run `UPDATE_VECTORS=1 cargo test -p routing-policy --test solidity_vectors`",
        path.display()
    );
}
