// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {RoutingSettlement} from "../../src/RoutingSettlement.sol";
import {RoutingStakeToken} from "../../src/RoutingStakeToken.sol";
import {Staking} from "../../src/Staking.sol";
import {Inclusion, RegistryEvidence} from "../../src/interfaces/IRoutingSettlement.sol";
import {
    Attempt,
    BatchHeader,
    ProviderEntry,
    RegistryParams,
    RouterBudget,
    RoutingDecision,
    RoutingHash
} from "../../src/libraries/RoutingHash.sol";
import {PayloadBuilder} from "./PayloadBuilder.sol";
import {RoutingFixture} from "./RoutingFixture.sol";
import {RoutingPolicy} from "./RoutingPolicy.sol";

/// @notice Deployment and helpers shared by the settlement unit, fuzz and gas tests: a fixed-supply
///         `RoutingStakeToken`, `Staking` and `RoutingSettlement` wired to each other through
///         predicted CREATE addresses (both links are immutable), four staked routers with
///         signing keys, and the `RoutingFixture` registry (epoch = batch id) with a router-budget
///         leaf per router.
abstract contract SettlementBase is Test {
    uint256 internal constant SUPPLY = 1e30;
    uint256 internal constant MIN_STAKE = 100e18;
    uint256 internal constant ROUTER_STAKE = 1_000e18;
    uint64 internal constant UNSTAKE_DELAY = 7 days;
    uint64 internal constant CHALLENGE_WINDOW = 1 days;
    uint16 internal constant SLASH_BPS = 1_000;
    uint16 internal constant REWARD_BPS = 2_000;
    uint64 internal constant SUBMIT_MS = 1_700_000_000_000;
    uint64 internal constant DEADLINE_MS = 30_000;
    uint8 internal constant ROUTER_COUNT = 4;

    RoutingStakeToken internal token;
    Staking internal staking;
    RoutingSettlement internal settlement;

    address internal sequencer = makeAddr("sequencer");
    address internal owner = makeAddr("owner");
    address internal stakingOwner = makeAddr("stakingOwner");
    address internal treasury = makeAddr("treasury");
    address internal challenger = makeAddr("challenger");

    /// Routers (staked with `ROUTER_STAKE` in `setUp`) and their signing keys.
    address[] internal routers;
    mapping(address router => uint256 key) internal keyOf;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        vm.roll(1_000);
        _deploy();
        for (uint256 i; i < ROUTER_COUNT; ++i) {
            (address r, uint256 k) = makeAddrAndKey(string.concat("router", vm.toString(i)));
            routers.push(r);
            keyOf[r] = k;
            _stake(r, ROUTER_STAKE);
        }
        ProviderEntry[] memory ps = RoutingFixture.providers();
        for (uint256 i; i < ps.length; ++i) {
            vm.label(ps[i].provider, string.concat("provider", vm.toString(i)));
        }
    }

    /// @dev Deploys token, staking and settlement; the whole token supply goes to this contract.
    function _deploy() internal {
        address[] memory holders = new address[](1);
        holders[0] = address(this);
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = SUPPLY;
        token = new RoutingStakeToken(holders, amounts);
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        staking = new Staking(
            IERC20(address(token)), predicted, treasury, MIN_STAKE, UNSTAKE_DELAY, CHALLENGE_WINDOW, stakingOwner
        );
        settlement = new RoutingSettlement(staking, sequencer, owner, SLASH_BPS, REWARD_BPS);
        assertEq(address(settlement), predicted, "settlement at the predicted address");
    }

    // ---------------------------------------------------------------- staking

    /// @dev Funds `who` from this contract's supply and stakes `amount` for it.
    function _stake(address who, uint256 amount) internal {
        assertTrue(token.transfer(who, amount));
        vm.startPrank(who);
        token.approve(address(staking), amount);
        staking.stake(amount);
        vm.stopPrank();
    }

    /// @dev A router's whole stake (active + pending).
    function _stakeOf(address router) internal view returns (uint256) {
        (uint256 active, uint256 pending,) = staking.stakeOf(router);
        return active + pending;
    }

    /// @dev What a challenge by `caller` against `router` slashes and rewards right now.
    function _expectedSlash(address router, address caller) internal view returns (uint256 slashed, uint256 reward) {
        slashed = _stakeOf(router) * settlement.slashBps() / 10_000;
        reward = caller == router ? 0 : slashed * settlement.rewardBps() / 10_000;
    }

    // ---------------------------------------------------------------- registry

    /// @dev The retry-token budget leaves of the routers (full buckets), ascending by address.
    function _routerBudgets() internal view returns (RouterBudget[] memory bs) {
        bs = new RouterBudget[](routers.length);
        for (uint256 i; i < routers.length; ++i) {
            RouterBudget memory b = RouterBudget({router: routers[i], tokens: RoutingFixture.TOKEN_MAX});
            uint256 j = i;
            while (j > 0 && bs[j - 1].router > b.router) {
                bs[j] = bs[j - 1];
                --j;
            }
            bs[j] = b;
        }
    }

    /// @dev The registry root batch `epoch` routes on.
    function _registryRoot(uint64 epoch) internal view returns (bytes32) {
        return PayloadBuilder.registryRoot(RoutingFixture.params(epoch), RoutingFixture.providers(), _routerBudgets());
    }

    /// @dev Evidence of the parameter record and the entries of `wanted` under batch `epoch`'s registry.
    function _evidence(uint64 epoch, address[] memory wanted) internal view returns (RegistryEvidence memory) {
        return
            PayloadBuilder.evidenceFor(
                RoutingFixture.params(epoch), RoutingFixture.providers(), _routerBudgets(), wanted
            );
    }

    /// @dev Evidence of the parameter record alone.
    function _paramsOnly(uint64 epoch) internal view returns (RegistryEvidence memory) {
        return _evidence(epoch, new address[](0));
    }

    /// @dev Evidence of the whole registry.
    function _fullEvidence(uint64 epoch) internal view returns (RegistryEvidence memory) {
        return PayloadBuilder.fullEvidence(RoutingFixture.params(epoch), RoutingFixture.providers(), _routerBudgets());
    }

    // ---------------------------------------------------------------- decisions

    /// @dev The id of the batch the next commit gets (the registry epoch its decisions route on).
    function _nextBatchId() internal view returns (uint64) {
        return settlement.lastBatchId() + 1;
    }

    /// @dev A request of `modelClass` with a 30 s deadline and two retries.
    function _request(bytes32 id, uint32 modelClass) internal pure returns (RoutingPolicy.Request memory) {
        return RoutingPolicy.Request({
            id: id, modelClass: modelClass, submitMs: SUBMIT_MS, deadlineMs: SUBMIT_MS + DEADLINE_MS, retryBudget: 2
        });
    }

    /// @dev The honest decision of `router` for request `id` of `modelClass` against registry
    ///      `epoch`, with a full token bucket, when attempt k ends with `outcomes[k]` (success
    ///      past the end) after 400 + 150 k ms.
    function _honest(uint64 epoch, bytes32 id, uint32 modelClass, address router, uint8[] memory outcomes)
        internal
        pure
        returns (RoutingDecision memory)
    {
        uint32[] memory latencies = new uint32[](outcomes.length);
        for (uint256 k; k < outcomes.length; ++k) {
            // forge-lint: disable-next-line(unsafe-typecast)
            latencies[k] = uint32(400 + 150 * k);
        }
        return RoutingPolicy.route(
            _request(id, modelClass),
            RoutingFixture.params(epoch),
            RoutingFixture.providers(),
            router,
            RoutingFixture.TOKEN_MAX,
            RoutingPolicy.Oracle({outcomes: outcomes, latencies: latencies})
        );
    }

    /// @dev `_honest` for a chat request against the next batch's registry.
    function _honestChat(bytes32 id, address router, uint8[] memory outcomes)
        internal
        view
        returns (RoutingDecision memory)
    {
        return _honest(_nextBatchId(), id, RoutingFixture.CLASS_CHAT, router, outcomes);
    }

    /// @dev Re-derives `finalProvider`, `finalTier` and `retryCount` from the attempts.
    function _fixSummary(RoutingDecision memory d) internal pure {
        uint256 n = d.attempts.length;
        d.finalProvider = n == 0 ? address(0) : d.attempts[n - 1].provider;
        d.finalTier = n == 0 ? 0 : d.attempts[n - 1].tier;
        // forge-lint: disable-next-line(unsafe-typecast)
        d.retryCount = n == 0 ? 0 : uint8(n - 1);
    }

    /// @dev A deep copy of `d` (so a test can mutate one decision and keep the other).
    function _copy(RoutingDecision memory d) internal pure returns (RoutingDecision memory) {
        return abi.decode(abi.encode(d), (RoutingDecision));
    }

    function _o() internal pure returns (uint8[] memory) {
        return new uint8[](0);
    }

    function _o(uint8 a) internal pure returns (uint8[] memory os) {
        os = new uint8[](1);
        os[0] = a;
    }

    function _o(uint8 a, uint8 b) internal pure returns (uint8[] memory os) {
        os = new uint8[](2);
        (os[0], os[1]) = (a, b);
    }

    function _o(uint8 a, uint8 b, uint8 c) internal pure returns (uint8[] memory os) {
        os = new uint8[](3);
        (os[0], os[1], os[2]) = (a, b, c);
    }

    function _ds(RoutingDecision memory a) internal pure returns (RoutingDecision[] memory ds) {
        ds = new RoutingDecision[](1);
        ds[0] = a;
    }

    function _ds(RoutingDecision memory a, RoutingDecision memory b)
        internal
        pure
        returns (RoutingDecision[] memory ds)
    {
        ds = new RoutingDecision[](2);
        (ds[0], ds[1]) = (a, b);
    }

    function _addrs(address a) internal pure returns (address[] memory as_) {
        as_ = new address[](1);
        as_[0] = a;
    }

    function _addrs(address a, address b) internal pure returns (address[] memory as_) {
        as_ = new address[](2);
        (as_[0], as_[1]) = (a, b);
    }

    // ---------------------------------------------------------------- signing and committing

    /// @dev `d` signed by its router: `vm.sign` over `decisionDigest`, packed `r || s || v`.
    function _sign(RoutingDecision memory d) internal view returns (bytes memory) {
        return _signWith(keyOf[d.router], d);
    }

    /// @dev `d` signed with `key`.
    function _signWith(uint256 key, RoutingDecision memory d) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, settlement.decisionDigest(d));
        return abi.encodePacked(r, s, v);
    }

    function _signAll(RoutingDecision[] memory ds) internal view returns (bytes[] memory sigs) {
        sigs = new bytes[](ds.length);
        for (uint256 i; i < ds.length; ++i) {
            sigs[i] = _sign(ds[i]);
        }
    }

    /// @dev The correct header of `ds` as the next batch.
    function _nextHeader(RoutingDecision[] memory ds) internal view returns (BatchHeader memory) {
        uint64 id = _nextBatchId();
        return BatchHeader({
            batchId: id,
            prevHash: settlement.lastHeaderHash(),
            decisionsRoot: PayloadBuilder.root(PayloadBuilder.leaves(ds)),
            registryRoot: _registryRoot(id),
            // forge-lint: disable-next-line(unsafe-typecast)
            count: uint32(ds.length)
        });
    }

    /// @dev The canonical payload of `ds` as batch `h.batchId`. Through an external self-call,
    ///      so via-IR never inlines the whole encoder into a test body (stack too deep).
    function _payload(BatchHeader memory h, RoutingDecision[] memory ds) internal view returns (bytes memory) {
        return this.payloadOf(h.batchId, ds);
    }

    /// @notice The canonical payload of `ds` as batch `batchId`, signed by the routers' keys.
    function payloadOf(uint64 batchId, RoutingDecision[] memory ds) external view returns (bytes memory) {
        return PayloadBuilder.encode(batchId, ds, _signAll(ds));
    }

    /// @dev Commits `ds` as the next batch (as the sequencer).
    function _commit(RoutingDecision[] memory ds) internal returns (BatchHeader memory h) {
        h = _nextHeader(ds);
        bytes memory payload = _payload(h, ds);
        vm.prank(sequencer);
        settlement.commitBatch(h, payload);
    }

    /// @dev Decision `i` of committed batch `h` (holding `ds`) with its proof and signature.
    function _inclusion(BatchHeader memory h, RoutingDecision[] memory ds, uint256 i)
        internal
        view
        returns (Inclusion memory inc)
    {
        inc.header = h;
        inc.decision = ds[i];
        inc.proof = PayloadBuilder.proof(PayloadBuilder.leaves(ds), i);
        inc.signature = _sign(ds[i]);
    }

    /// @dev Commits `d` alone and returns its inclusion.
    function _commitOne(RoutingDecision memory d) internal returns (Inclusion memory) {
        RoutingDecision[] memory ds = _ds(d);
        return _inclusion(_commit(ds), ds, 0);
    }

    /// @dev `keccak256(abi.encode(header))`.
    function _hash(BatchHeader memory h) internal pure returns (bytes32) {
        return RoutingHash.headerHash(h);
    }

    /// @dev A decision's attempt, for hand-built misroutings.
    function _attempt(address provider, uint8 tier, uint8 outcome, uint32 latencyMs)
        internal
        pure
        returns (Attempt memory)
    {
        return Attempt({provider: provider, tier: tier, outcome: outcome, latencyMs: latencyMs});
    }
}
