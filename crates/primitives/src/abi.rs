//! ABI commitments that Solidity recomputes from calldata: decision leaves, registry leaves and
//! batch-header hashes.
//!
//! Every leaf is `keccak256(bytes.concat(keccak256(abi.encode(value))))`, the double hash of
//! OpenZeppelin's `StandardMerkleTree`, where `value` is the Solidity struct in [`sol`].

use crate::{
    Attempt, BatchHeader, Decision, DecodeError, FallbackTrigger, OutcomeClass, PolicyParams,
    ProviderEntry, Request, Resolution, RouterBudget,
};
use alloy_primitives::{keccak256, B256};
use alloy_sol_types::SolValue;

/// Solidity mirrors of the data model, shared by the leaf encoding and the EIP-712 digest.
#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
pub mod sol {
    alloy_sol_types::sol! {
        /// One attempt, as Solidity sees it.
        #[derive(Debug, PartialEq, Eq)]
        struct Attempt {
            address provider;
            uint8 tier;
            uint8 outcome;
            uint32 latencyMs;
        }

        /// A routing decision, as Solidity sees it (the request's fields inlined).
        #[derive(Debug, PartialEq, Eq)]
        struct RoutingDecision {
            bytes32 requestId;
            uint32 modelClass;
            uint64 submitMs;
            uint64 deadlineMs;
            uint8 retryBudget;
            Attempt[] attempts;
            address finalProvider;
            uint8 finalTier;
            uint8 retryCount;
            uint8 trigger;
            uint8 resolution;
            uint64 registryEpoch;
            uint32 budgetTokens;
            address router;
        }

        /// A provider's registry entry.
        #[derive(Debug, PartialEq, Eq)]
        struct ProviderEntry {
            address provider;
            uint32 modelClass;
            uint8 tier;
            uint32 reliabilityPpm;
            uint64 cooldownUntilMs;
        }

        /// A router's retry-throttling state in the registry.
        #[derive(Debug, PartialEq, Eq)]
        struct RouterBudget {
            address router;
            uint32 tokens;
        }

        /// The registry's epoch, provider count and the policy parameters it carries.
        #[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        struct RegistryParams {
            uint64 epoch;
            uint32 providerCount;
            uint8 maxAttempts;
            uint8 fallbackTier;
            uint8 retryableMask;
            uint32 reliabilityFloorPpm;
            uint32 tokenMax;
            uint32 tokenRatio;
            uint32 tokenFailureCost;
            uint32 ewmaAlphaPpm;
            uint32 cooldownFailures;
            uint64 cooldownMs;
        }

        /// The committed part of a batch header.
        #[derive(Debug, PartialEq, Eq)]
        struct BatchHeader {
            uint64 batchId;
            bytes32 prevHash;
            bytes32 decisionsRoot;
            bytes32 registryRoot;
            uint32 count;
        }

        /// A decision, where it is committed, and the router's signature over it.
        #[derive(Debug, PartialEq, Eq)]
        struct Inclusion {
            BatchHeader header;
            RoutingDecision decision;
            bytes32[] proof;
            bytes signature;
        }

        /// Registry entries with one multiproof (parameter leaf first, then the entries).
        #[derive(Debug, PartialEq, Eq)]
        struct RegistryEvidence {
            RegistryParams params;
            ProviderEntry[] entries;
            bytes32[] proof;
            bool[] proofFlags;
        }

        /// The settlement contract (contracts/src/interfaces/IRoutingSettlement.sol).
        #[derive(Debug, PartialEq, Eq)]
        interface IRoutingSettlement {
            error ZeroAddress();
            error NotSequencer(address caller);
            error BatchOutOfOrder(uint64 expected, uint64 batchId);
            error PrevHashMismatch(bytes32 expected, bytes32 prevHash);
            error CountMismatch(uint32 header, uint256 payload);
            error RootMismatch(bytes32 header, bytes32 payload);
            error UnknownBatch(bytes32 headerHash);
            error ChallengeWindowClosed(bytes32 headerHash, uint64 closedAt);
            error InvalidInclusionProof(bytes32 leaf);
            error InvalidSignature(address router);
            error InvalidRegistryProof();
            error UnknownRegistryEpoch(uint64 epoch);
            error RegistryEpochMismatch(uint64 decisionEpoch, uint64 evidenceEpoch);
            error EntriesNotSorted(uint256 index);
            error NoViolation();
            error AlreadySlashed(bytes32 offenceKey);
            error NotSameRequest(bytes32 a, bytes32 b);
            error NotSameRouter(address a, address b);
            error SameDecision(bytes32 leaf);
            error InvalidSlashParams(uint16 slashBps, uint16 rewardBps);
            error InvalidPayload(uint256 offset);

            event BatchCommitted(uint64 indexed batchId, bytes32 indexed headerHash, bytes32 prevHash, bytes32 decisionsRoot, bytes32 registryRoot, uint32 count);
            event MisroutingProven(bytes32 indexed headerHash, bytes32 indexed leaf, address indexed router, uint8 offence, uint8 attempt, address challenger, uint256 slashed, uint256 reward);
            event DuplicateProven(bytes32 indexed requestId, address indexed router, bytes32 leafA, bytes32 leafB, address challenger, uint256 slashed, uint256 reward);
            event SequencerSet(address indexed previous, address indexed sequencer);
            event SlashParamsSet(uint16 slashBps, uint16 rewardBps);

            function commitBatch(BatchHeader header, bytes payload) external returns (bytes32 headerHash);
            function challengeMisrouting(Inclusion inclusion, RegistryEvidence evidence) external returns (uint256 slashed);
            function challengeDuplicate(Inclusion a, Inclusion b) external returns (uint256 slashed);
            function setSequencer(address sequencer) external;
            function setSlashParams(uint16 slashBps, uint16 rewardBps) external;
            function staking() external view returns (address);
            function sequencer() external view returns (address);
            function challengeWindow() external view returns (uint64);
            function slashBps() external view returns (uint16);
            function rewardBps() external view returns (uint16);
            function lastBatchId() external view returns (uint64);
            function lastHeaderHash() external view returns (bytes32);
            function registryRoot(uint64 batchId) external view returns (bytes32);
            function batch(bytes32 headerHash) external view returns (uint64 batchId, uint64 committedAt, uint64 l2Block);
            function isFinal(bytes32 headerHash) external view returns (bool);
            function misroutingSlashed(bytes32 leaf) external view returns (bool);
            function duplicateSlashed(address router, bytes32 requestId) external view returns (bool);
            function decisionDigest(RoutingDecision decision) external view returns (bytes32);
            function domainSeparator() external view returns (bytes32);
        }

        /// The staking contract (contracts/src/interfaces/IStaking.sol).
        #[derive(Debug, PartialEq, Eq)]
        interface IStaking {
            error ZeroAddress();
            error UnstakeDelayNotAboveChallengeWindow(uint64 unstakeDelay, uint64 challengeWindow);
            error ZeroAmount();
            error InsufficientActiveStake(uint256 requested, uint256 active);
            error NothingToWithdraw();
            error UnstakeNotReady(uint64 readyAt);
            error NotSettlement(address caller);
            error RewardTooLarge(uint256 reward, uint256 slashed);
            error ZeroChallenger();
            error NotJailed(address router);
            error StakeLocked(uint64 lockedUntil);

            event Staked(address indexed router, uint256 amount);
            event UnstakeRequested(address indexed router, uint256 amount, uint256 pending, uint64 readyAt);
            event Withdrawn(address indexed router, uint256 amount);
            event Slashed(address indexed router, uint256 slashed, uint256 reward, address indexed challenger);
            event Jailed(address indexed router);
            event Unjailed(address indexed router);
            event MinStakeSet(uint256 oldMinStake, uint256 newMinStake);

            function stake(uint256 amount) external;
            function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
            function requestUnstake(uint256 amount) external;
            function withdraw() external returns (uint256 amount);
            function slash(address router, uint256 amount, address challenger, uint256 rewardAmount) external returns (uint256 slashed);
            function recordActivity(address[] routers) external;
            function setMinStake(uint256 newMinStake) external;
            function unjail(address router) external;
            function token() external view returns (address);
            function settlement() external view returns (address);
            function treasury() external view returns (address);
            function minStake() external view returns (uint256);
            function unstakeDelay() external view returns (uint64);
            function challengeWindow() external view returns (uint64);
            function jailed(address router) external view returns (bool);
            function lastActivityAt(address router) external view returns (uint64);
            function withdrawableAt(address router) external view returns (uint64);
            function stakeOf(address router) external view returns (uint256 active, uint256 pending, uint64 readyAt);
            function totalStaked() external view returns (uint256);
            function isActive(address router) external view returns (bool);
        }

        /// The parts of the stake token (an ERC20 with EIP-2612 permits) this project uses.
        #[derive(Debug, PartialEq, Eq)]
        interface IStakeToken {
            event Transfer(address indexed from, address indexed to, uint256 value);
            event Approval(address indexed owner, address indexed spender, uint256 value);

            function name() external view returns (string);
            function symbol() external view returns (string);
            function decimals() external view returns (uint8);
            function totalSupply() external view returns (uint256);
            function balanceOf(address account) external view returns (uint256);
            function allowance(address owner, address spender) external view returns (uint256);
            function transfer(address to, uint256 value) external returns (bool);
            function approve(address spender, uint256 value) external returns (bool);
            function transferFrom(address from, address to, uint256 value) external returns (bool);
            function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;
            function nonces(address owner) external view returns (uint256);
            function DOMAIN_SEPARATOR() external view returns (bytes32);
        }
    }
}

/// OpenZeppelin's leaf hash of already ABI-encoded bytes: `keccak256(keccak256(encoded))`.
#[inline]
pub fn double_hash(encoded: &[u8]) -> B256 {
    keccak256(keccak256(encoded))
}

impl From<&Attempt> for sol::Attempt {
    fn from(a: &Attempt) -> Self {
        Self {
            provider: a.provider,
            tier: a.tier,
            outcome: a.outcome.as_u8(),
            latencyMs: a.latency_ms,
        }
    }
}

impl From<&Decision> for sol::RoutingDecision {
    fn from(d: &Decision) -> Self {
        Self {
            requestId: d.request.id,
            modelClass: d.request.model_class,
            submitMs: d.request.submit_ms,
            deadlineMs: d.request.deadline_ms,
            retryBudget: d.request.retry_budget,
            attempts: d.attempts.iter().map(Into::into).collect(),
            finalProvider: d.final_provider,
            finalTier: d.final_tier,
            retryCount: d.retry_count,
            trigger: d.trigger.as_u8(),
            resolution: d.resolution.as_u8(),
            registryEpoch: d.registry_epoch,
            budgetTokens: d.budget_tokens,
            router: d.router,
        }
    }
}

impl TryFrom<&sol::RoutingDecision> for Decision {
    type Error = DecodeError;

    fn try_from(d: &sol::RoutingDecision) -> Result<Self, DecodeError> {
        if d.attempts.len() > crate::MAX_ATTEMPTS {
            return Err(DecodeError::TooManyAttempts { len: d.attempts.len() });
        }
        Ok(Self {
            request: Request {
                id: d.requestId,
                model_class: d.modelClass,
                submit_ms: d.submitMs,
                deadline_ms: d.deadlineMs,
                retry_budget: d.retryBudget,
            },
            attempts: d
                .attempts
                .iter()
                .map(|a| {
                    Ok(Attempt {
                        provider: a.provider,
                        tier: a.tier,
                        outcome: OutcomeClass::try_from(a.outcome)?,
                        latency_ms: a.latencyMs,
                    })
                })
                .collect::<Result<_, DecodeError>>()?,
            final_provider: d.finalProvider,
            final_tier: d.finalTier,
            retry_count: d.retryCount,
            trigger: FallbackTrigger::try_from(d.trigger)?,
            resolution: Resolution::try_from(d.resolution)?,
            registry_epoch: d.registryEpoch,
            budget_tokens: d.budgetTokens,
            router: d.router,
        })
    }
}

impl From<&ProviderEntry> for sol::ProviderEntry {
    fn from(p: &ProviderEntry) -> Self {
        Self {
            provider: p.provider,
            modelClass: p.model_class,
            tier: p.tier,
            reliabilityPpm: p.reliability_ppm,
            cooldownUntilMs: p.cooldown_until_ms,
        }
    }
}

impl PolicyParams {
    /// The registry's parameter record for `epoch` and a registry of `provider_count` providers.
    pub fn registry_params(&self, epoch: u64, provider_count: u32) -> sol::RegistryParams {
        sol::RegistryParams {
            epoch,
            providerCount: provider_count,
            maxAttempts: self.max_attempts,
            fallbackTier: self.fallback_tier,
            retryableMask: self.retryable_mask,
            reliabilityFloorPpm: self.reliability_floor_ppm,
            tokenMax: self.token_max,
            tokenRatio: self.token_ratio,
            tokenFailureCost: self.token_failure_cost,
            ewmaAlphaPpm: self.ewma_alpha_ppm,
            cooldownFailures: self.cooldown_failures,
            cooldownMs: self.cooldown_ms,
        }
    }

    /// The registry's parameter leaf for `epoch` and `provider_count` providers:
    /// `keccak256(bytes.concat(keccak256(abi.encode(RegistryParams))))`.
    ///
    /// Committing the provider count lets a challenger prove that a set of provider entries is
    /// the whole registry, which makes "no such provider" and "nothing was eligible" decidable
    /// on-chain.
    pub fn leaf_hash(&self, epoch: u64, provider_count: u32) -> B256 {
        double_hash(&self.registry_params(epoch, provider_count).abi_encode())
    }
}

impl sol::RegistryParams {
    /// The policy parameters this record carries.
    pub const fn policy_params(&self) -> PolicyParams {
        PolicyParams {
            max_attempts: self.maxAttempts,
            fallback_tier: self.fallbackTier,
            retryable_mask: self.retryableMask,
            reliability_floor_ppm: self.reliabilityFloorPpm,
            token_max: self.tokenMax,
            token_ratio: self.tokenRatio,
            token_failure_cost: self.tokenFailureCost,
            ewma_alpha_ppm: self.ewmaAlphaPpm,
            cooldown_failures: self.cooldownFailures,
            cooldown_ms: self.cooldownMs,
        }
    }

    /// The record's registry leaf.
    pub fn leaf_hash(&self) -> B256 {
        double_hash(&self.abi_encode())
    }
}

impl Decision {
    /// `abi.encode(decision)` of the Solidity `RoutingDecision` struct.
    pub fn abi_encode(&self) -> Vec<u8> {
        sol::RoutingDecision::from(self).abi_encode()
    }

    /// The decision's Merkle leaf: `keccak256(bytes.concat(keccak256(abi.encode(decision))))`.
    /// Offences are keyed on this value, never on signature bytes.
    pub fn leaf_hash(&self) -> B256 {
        double_hash(&self.abi_encode())
    }
}

impl ProviderEntry {
    /// The entry's registry leaf: `keccak256(bytes.concat(keccak256(abi.encode(entry))))`.
    pub fn leaf_hash(&self) -> B256 {
        double_hash(&sol::ProviderEntry::from(self).abi_encode())
    }
}

impl RouterBudget {
    /// The budget's registry leaf: `keccak256(bytes.concat(keccak256(abi.encode(budget))))`.
    /// Its two-word preimage cannot collide with a provider entry's five words.
    pub fn leaf_hash(&self) -> B256 {
        double_hash(&sol::RouterBudget { router: self.router, tokens: self.tokens }.abi_encode())
    }
}

impl From<&BatchHeader> for sol::BatchHeader {
    fn from(h: &BatchHeader) -> Self {
        Self {
            batchId: h.batch_id,
            prevHash: h.prev_hash,
            decisionsRoot: h.decisions_root,
            registryRoot: h.registry_root,
            count: h.count,
        }
    }
}

impl BatchHeader {
    /// `keccak256(abi.encode(batchId, prevHash, decisionsRoot, registryRoot, count))`: the hash
    /// the next header chains to and challenges name the batch by. The L2 block range is not
    /// part of it (it is known only after posting).
    pub fn hash(&self) -> B256 {
        keccak256(sol::BatchHeader::from(self).abi_encode())
    }
}
