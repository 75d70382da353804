// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BatchHeader, ProviderEntry, RegistryParams, RoutingDecision} from "../libraries/RoutingHash.sol";
import {IStaking} from "./IStaking.sol";

/// @notice A decision, where it is committed, and the router's signature over it.
struct Inclusion {
    /// The header of the committed batch that holds the decision (the batch is named by its hash).
    BatchHeader header;
    /// The decision.
    RoutingDecision decision;
    /// OpenZeppelin Merkle proof of the decision's leaf under `header.decisionsRoot`.
    bytes32[] proof;
    /// The router's 65-byte EIP-712 signature over the decision.
    bytes signature;
}

/// @notice Registry entries, proven against the registry root of the decision's epoch by one
///         multiproof whose leaves are the parameter leaf followed by the entries' leaves
///         (ascending by provider).
struct RegistryEvidence {
    /// The registry's parameter record (epoch, provider count, policy parameters).
    RegistryParams params;
    /// Provider entries, strictly ascending by address.
    ProviderEntry[] entries;
    /// OpenZeppelin multiproof sibling hashes.
    bytes32[] proof;
    /// OpenZeppelin multiproof flags.
    bool[] proofFlags;
}

/// @title IRoutingSettlement
/// @notice Batches of routing decisions committed by an authorised sequencer, chained by header
///         hash, challengeable for a window, final after it; misrouting and duplicate-generation
///         challenges that slash the router's stake.
interface IRoutingSettlement {
    // ---------------------------------------------------------------- errors

    /// @notice A constructor address argument was zero.
    error ZeroAddress();
    /// @notice `commitBatch` was called by someone other than the sequencer.
    error NotSequencer(address caller);
    /// @notice The header's batch id is not the next one.
    error BatchOutOfOrder(uint64 expected, uint64 batchId);
    /// @notice The header's previous hash is not the last committed header's hash.
    error PrevHashMismatch(bytes32 expected, bytes32 prevHash);
    /// @notice The header's count differs from the payload's.
    error CountMismatch(uint32 header, uint256 payload);
    /// @notice The header's decisions root differs from the root of the posted decisions.
    error RootMismatch(bytes32 header, bytes32 payload);
    /// @notice No committed batch has this header hash.
    error UnknownBatch(bytes32 headerHash);
    /// @notice The batch's challenge window closed at `closedAt`.
    error ChallengeWindowClosed(bytes32 headerHash, uint64 closedAt);
    /// @notice The Merkle proof does not prove the decision's leaf under the batch's root.
    error InvalidInclusionProof(bytes32 leaf);
    /// @notice The signature does not recover to the decision's router.
    error InvalidSignature(address router);
    /// @notice The registry multiproof does not prove the evidence under the registry root of the
    ///         decision's epoch.
    error InvalidRegistryProof();
    /// @notice No committed batch was routed against registry `epoch` (the registry a challenge
    ///         must prove entries of).
    error UnknownRegistryEpoch(uint64 epoch);
    /// @notice The evidence's parameter record is for another epoch than the decision's.
    error RegistryEpochMismatch(uint64 decisionEpoch, uint64 evidenceEpoch);
    /// @notice Evidence entries are not strictly ascending by provider at `index`.
    error EntriesNotSorted(uint256 index);
    /// @notice The evidence proves no rule broken.
    error NoViolation();
    /// @notice This offence was already slashed.
    error AlreadySlashed(bytes32 offenceKey);
    /// @notice The two decisions are for different request ids.
    error NotSameRequest(bytes32 a, bytes32 b);
    /// @notice The two decisions were made by different routers.
    error NotSameRouter(address a, address b);
    /// @notice The two inclusions are the same decision.
    error SameDecision(bytes32 leaf);
    /// @notice The batch payload is malformed at byte `offset` (raised by `BatchPayload`; declared
    ///         here so that it is part of the contract's ABI).
    error InvalidPayload(uint256 offset);
    /// @notice Slash basis points must be in 1..=10000 and reward basis points at most `MAX_REWARD_BPS`.
    error InvalidSlashParams(uint16 slashBps, uint16 rewardBps);

    // ---------------------------------------------------------------- events

    /// @notice Batch `batchId` was committed with header hash `headerHash`; its routers' stake is
    ///         locked until the challenge window closes.
    event BatchCommitted(
        uint64 indexed batchId,
        bytes32 indexed headerHash,
        bytes32 prevHash,
        bytes32 decisionsRoot,
        bytes32 registryRoot,
        uint32 count
    );
    /// @notice `challenger` proved that decision `leaf` of batch `headerHash` breaks rule `offence`
    ///         at `attempt`; `router` lost `slashed`, of which `reward` went to the challenger.
    event MisroutingProven(
        bytes32 indexed headerHash,
        bytes32 indexed leaf,
        address indexed router,
        uint8 offence,
        uint8 attempt,
        address challenger,
        uint256 slashed,
        uint256 reward
    );
    /// @notice `challenger` proved that `router` made two decisions (`leafA`, `leafB`) for one request.
    event DuplicateProven(
        bytes32 indexed requestId,
        address indexed router,
        bytes32 leafA,
        bytes32 leafB,
        address challenger,
        uint256 slashed,
        uint256 reward
    );
    /// @notice The owner changed the sequencer.
    event SequencerSet(address indexed previous, address indexed sequencer);
    /// @notice The owner changed the slash and reward rates.
    event SlashParamsSet(uint16 slashBps, uint16 rewardBps);

    // ---------------------------------------------------------------- sequencer

    /// @notice Commits the next batch: decodes `payload`, recomputes every decision's leaf and the
    ///         root, and stores the header only if root and count match it.
    /// @dev Only the sequencer. `header.batchId` must be the last id + 1 and `header.prevHash` the
    ///      last header's hash (zero for batch 1). Records the payload's routers with the staking
    ///      contract so their stake stays locked through the challenge window.
    /// @param header The batch header.
    /// @param payload The compact batch payload (docs/batch-payload.md), signatures included.
    /// @return headerHash The header's hash, by which challenges name the batch.
    function commitBatch(BatchHeader calldata header, bytes calldata payload) external returns (bytes32 headerHash);

    // ---------------------------------------------------------------- challenges

    /// @notice Proves that a committed decision breaks the routing policy and slashes its router.
    /// @dev Checks the batch (by header hash, within its challenge window), the decision's
    ///      inclusion and the router's EIP-712 signature. A decision naming a registry epoch newer
    ///      than its batch is proven wrong at once (`WrongRegistryEpoch`, no evidence needed).
    ///      Otherwise the evidence must be of the decision's own epoch, proven against the
    ///      registry root committed with batch `decision.registryEpoch` (decisions take seconds to
    ///      complete, so they are routed against a registry a few batches older than the one they
    ///      land in); then the on-chain `check` runs. Slashes `slashBps` of the router's stake; the caller gets
    ///      `rewardBps` of that (nothing when the caller is the router), the rest goes to the
    ///      treasury. An offence is keyed on the decision's leaf and slashed at most once.
    /// @param inclusion The decision, its batch header, Merkle proof and signature.
    /// @param evidence The registry entries the verdict rests on, with their multiproof.
    /// @return slashed The amount slashed.
    function challengeMisrouting(Inclusion calldata inclusion, RegistryEvidence calldata evidence)
        external
        returns (uint256 slashed);

    /// @notice Proves that a router made two different committed decisions for one request id (a
    ///         duplicate generation) and slashes it.
    /// @dev Both batches must be committed and at least one still challengeable; the offence is
    ///      keyed on (router, request id) and slashed at most once.
    /// @param a One decision with its inclusion proof and signature.
    /// @param b The other.
    /// @return slashed The amount slashed.
    function challengeDuplicate(Inclusion calldata a, Inclusion calldata b) external returns (uint256 slashed);

    // ---------------------------------------------------------------- governance

    /// @notice Sets the sequencer. Only the owner.
    /// @param sequencer_ The new sequencer.
    function setSequencer(address sequencer_) external;

    /// @notice Sets the share of stake a proven offence slashes and the challenger's share of it.
    ///         Only the owner.
    /// @param slashBps Basis points of the router's stake (active + pending) to slash, 1..=10000.
    /// @param rewardBps Basis points of the slashed amount paid to the challenger, at most
    ///        `MAX_REWARD_BPS`, so the reward is always strictly below the slash.
    function setSlashParams(uint16 slashBps, uint16 rewardBps) external;

    // ---------------------------------------------------------------- views

    /// @notice The staking contract slashed by challenges.
    function staking() external view returns (IStaking);
    /// @notice The only address allowed to commit batches.
    function sequencer() external view returns (address);
    /// @notice Seconds after a commit during which a batch can be challenged.
    function challengeWindow() external view returns (uint64);
    /// @notice Basis points of a router's stake a proven offence slashes.
    function slashBps() external view returns (uint16);
    /// @notice Basis points of a slash paid to the challenger.
    function rewardBps() external view returns (uint16);
    /// @notice Id of the last committed batch (0 before the first).
    function lastBatchId() external view returns (uint64);
    /// @notice Hash of the last committed header (zero before the first).
    function lastHeaderHash() external view returns (bytes32);

    /// @notice A committed batch by header hash.
    /// @return batchId Its id (0 if unknown).
    /// @return committedAt When it was committed (0 if unknown).
    /// @return l2Block The L2 block it was committed in (0 if unknown).
    function batch(bytes32 headerHash) external view returns (uint64 batchId, uint64 committedAt, uint64 l2Block);

    /// @notice The registry root committed with batch `batchId`: the root of registry epoch
    ///         `batchId` (zero if not committed).
    function registryRoot(uint64 batchId) external view returns (bytes32);

    /// @notice Whether batch `headerHash` is committed and past its challenge window.
    function isFinal(bytes32 headerHash) external view returns (bool);

    /// @notice Whether the misrouting offence of decision `leaf` was slashed.
    function misroutingSlashed(bytes32 leaf) external view returns (bool);

    /// @notice Whether `router`'s duplicate decisions for `requestId` were slashed.
    function duplicateSlashed(address router, bytes32 requestId) external view returns (bool);

    /// @notice The EIP-712 digest a router signs for `decision` under this contract's domain.
    function decisionDigest(RoutingDecision calldata decision) external view returns (bytes32);

    /// @notice The EIP-712 domain separator: `{name: "RoutingSettlement", version: "1", chainId, this}`.
    function domainSeparator() external view returns (bytes32);
}
