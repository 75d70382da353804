// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

import {RoutingSettlement} from "../../src/RoutingSettlement.sol";
import {RoutingStakeToken} from "../../src/RoutingStakeToken.sol";
import {Staking} from "../../src/Staking.sol";
import {IRoutingSettlement, Inclusion, RegistryEvidence} from "../../src/interfaces/IRoutingSettlement.sol";
import {IStaking} from "../../src/interfaces/IStaking.sol";
import {
    Attempt,
    BatchHeader,
    ProviderEntry,
    RouterBudget,
    RoutingDecision,
    RoutingHash
} from "../../src/libraries/RoutingHash.sol";
import {PayloadBuilder} from "./PayloadBuilder.sol";
import {RoutingFixture} from "./RoutingFixture.sol";
import {RoutingPolicy} from "./RoutingPolicy.sol";

/// @notice Drives `RoutingSettlement` and `Staking` for the invariant tests. Routers stake
///         (directly or with a permit), request unstakes and withdraw; the sequencer commits
///         small batches of honest and deliberately misrouted decisions (an attempt after a
///         success, or a second decision for a request id the router already decided); two
///         challengers (and sometimes the router itself) challenge committed decisions and
///         duplicate pairs; time moves forward.
/// @dev Every challenge's outcome is predicted from the handler's own records (window, earlier
///      slashes, whether the decision was misrouted) and every mismatch is counted, so the
///      invariants also say that challenges succeed exactly when they should. Ghost variables
///      track stake in and out, slashes per offence key and each router's last commit.
contract SettlementHandler is CommonBase, StdCheats, StdUtils {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    RoutingSettlement public immutable settlement;
    Staking public immutable staking;
    RoutingStakeToken public immutable token;
    address public immutable sequencer;

    address[] public routers;
    address[] public challengers;
    mapping(address router => uint256 key) internal keyOf;

    /// @dev A committed decision: where it is and whether it breaks the policy.
    struct Item {
        uint256 batch;
        uint256 index;
        bool misrouted;
        bytes decision; // abi.encode(RoutingDecision)
    }

    /// @dev Two committed items: one router, one request id, two different decisions.
    struct Pair {
        uint256 a;
        uint256 b;
    }

    BatchHeader[] internal headers;
    uint64[] internal committedAt;
    mapping(uint256 batch => bytes32[]) internal batchLeaves;
    Item[] internal items;
    Pair[] internal pairs;

    // ---------------------------------------------------------------- ghosts

    uint256 public ghostStaked;
    uint256 public ghostWithdrawn;
    uint256 public ghostSlashed;
    uint256 public ghostRewards;
    /// Successful slashes per offence key (misrouting: the leaf; duplicates: hash of router, id).
    mapping(bytes32 key => uint256) public slashCount;
    uint256 public maxSlashCount;
    /// When each router was last named in a committed batch.
    mapping(address router => uint64) public ghostLastCommit;
    /// Set if a withdrawal ever succeeded while a batch naming the router could be challenged.
    bool public ghostWithdrawalEscaped;
    /// Challenges whose outcome differed from the prediction, and the last such outcome.
    uint256 public unexpected;
    bytes public lastUnexpected;

    // ---------------------------------------------------------------- coverage counters

    uint256 public commits;
    uint256 public stakes;
    uint256 public permitStakes;
    uint256 public withdrawals;
    uint256 public lockedWithdrawals;
    uint256 public misroutingSlashes;
    uint256 public duplicateSlashes;
    uint256 public noViolations;
    uint256 public windowsClosed;
    uint256 public alreadySlashed;

    constructor(
        RoutingSettlement settlement_,
        RoutingStakeToken token_,
        address[] memory routers_,
        uint256[] memory keys,
        address[] memory challengers_
    ) {
        settlement = settlement_;
        staking = Staking(address(settlement_.staking()));
        token = token_;
        sequencer = settlement_.sequencer();
        routers = routers_;
        challengers = challengers_;
        for (uint256 i; i < routers_.length; ++i) {
            keyOf[routers_[i]] = keys[i];
        }
    }

    function itemCount() external view returns (uint256) {
        return items.length;
    }

    function pairCount() external view returns (uint256) {
        return pairs.length;
    }

    function routerCount() external view returns (uint256) {
        return routers.length;
    }

    function challengerCount() external view returns (uint256) {
        return challengers.length;
    }

    // ---------------------------------------------------------------- staking actions

    /// A router stakes part of its balance.
    function stake(uint256 routerSeed, uint256 amount) external {
        address router = routers[routerSeed % routers.length];
        uint256 balance = token.balanceOf(router);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        vm.startPrank(router);
        token.approve(address(staking), amount);
        staking.stake(amount);
        vm.stopPrank();
        ghostStaked += amount;
        stakes++;
    }

    /// A router stakes part of its balance with a permit, in one call.
    function stakeWithPermit(uint256 routerSeed, uint256 amount) external {
        address router = routers[routerSeed % routers.length];
        uint256 balance = token.balanceOf(router);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                token.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(PERMIT_TYPEHASH, router, address(staking), amount, token.nonces(router), deadline))
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[router], digest);
        vm.prank(router);
        staking.stakeWithPermit(amount, deadline, v, r, s);
        ghostStaked += amount;
        permitStakes++;
    }

    /// A router moves part of its active stake to pending.
    function requestUnstake(uint256 routerSeed, uint256 amount) external {
        address router = routers[routerSeed % routers.length];
        (uint256 active,,) = staking.stakeOf(router);
        if (active == 0) return;
        amount = bound(amount, 1, active);
        vm.prank(router);
        staking.requestUnstake(amount);
    }

    /// A router tries to withdraw its pending stake.
    function withdraw(uint256 routerSeed) external {
        address router = routers[routerSeed % routers.length];
        (, uint256 pending, uint64 readyAt) = staking.stakeOf(router);
        if (pending == 0) return;
        vm.prank(router);
        try staking.withdraw() returns (uint256 amount) {
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < ghostLastCommit[router] + settlement.challengeWindow()) {
                ghostWithdrawalEscaped = true;
            }
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < readyAt || amount != pending) ghostWithdrawalEscaped = true;
            ghostWithdrawn += amount;
            withdrawals++;
        } catch (bytes memory reason) {
            // forge-lint: disable-next-line(unsafe-typecast)
            if (bytes4(reason) == IStaking.StakeLocked.selector) lockedWithdrawals++;
        }
    }

    /// Time passes: up to 18 hours, so windows overlap and unstakes ripen while batches still
    /// name their routers.
    function warp(uint256 secs) external {
        skip(bound(secs, 0, 18 hours));
    }

    // ---------------------------------------------------------------- sequencer

    /// The sequencer commits a batch of 1-3 decisions: honest ones, attempts after a success,
    /// and second decisions for request ids a router already decided in an earlier batch.
    function commit(uint256 seed) external {
        uint64 batchId = settlement.lastBatchId() + 1;
        uint256 n = 1 + seed % 3;
        RoutingDecision[] memory ds = new RoutingDecision[](n);
        bool[] memory misrouted = new bool[](n);
        uint256[] memory duplicateOf = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            (ds[i], misrouted[i], duplicateOf[i]) = _decision(batchId, i, r);
        }

        bytes32[] memory leaves = PayloadBuilder.leaves(ds);
        BatchHeader memory h = BatchHeader({
            batchId: batchId,
            prevHash: settlement.lastHeaderHash(),
            decisionsRoot: PayloadBuilder.root(leaves),
            registryRoot: PayloadBuilder.registryRoot(RoutingFixture.params(batchId), RoutingFixture.providers()),
            // forge-lint: disable-next-line(unsafe-typecast)
            count: uint32(n)
        });
        bytes[] memory sigs = new bytes[](n);
        for (uint256 i; i < n; ++i) {
            sigs[i] = _sign(ds[i]);
        }
        bytes memory payload = PayloadBuilder.encode(batchId, ds, sigs);
        vm.prank(sequencer);
        settlement.commitBatch(h, payload);

        uint256 batch = headers.length;
        headers.push(h);
        // forge-lint: disable-next-line(unsafe-typecast)
        committedAt.push(uint64(block.timestamp));
        batchLeaves[batch] = leaves;
        for (uint256 i; i < n; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            ghostLastCommit[ds[i].router] = uint64(block.timestamp);
            items.push(Item({batch: batch, index: i, misrouted: misrouted[i], decision: abi.encode(ds[i])}));
            if (duplicateOf[i] != type(uint256).max) pairs.push(Pair({a: duplicateOf[i], b: items.length - 1}));
        }
        commits++;
    }

    /// @dev Decision `i` of batch `batchId` from randomness `r`: honest (60%), an attempt after a
    ///      success (20%), or a second decision for an earlier item's request (20%, returns
    ///      that item's index; `type(uint256).max` otherwise).
    function _decision(uint64 batchId, uint256 i, uint256 r)
        internal
        view
        returns (RoutingDecision memory d, bool misrouted, uint256 duplicateOf)
    {
        duplicateOf = type(uint256).max;
        uint256 kind = r % 10;
        address router = routers[(r >> 8) % routers.length];
        bytes32 id = keccak256(abi.encode("request", batchId, i));
        uint32 modelClass = uint32(1 + (r >> 16) % 3);
        if (kind >= 8 && items.length > 0) {
            duplicateOf = (r >> 24) % items.length;
            RoutingDecision memory prior = abi.decode(items[duplicateOf].decision, (RoutingDecision));
            (id, router, modelClass) = (prior.requestId, prior.router, prior.modelClass);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        uint32 tokens = uint32(RoutingFixture.TOKEN_MAX - (r >> 192) % 6_000);
        d = _route(batchId, id, modelClass, router, tokens, r);
        if (duplicateOf != type(uint256).max) {
            // A second generation must differ from the first; one token less is still honest.
            if (RoutingHash.leaf(d) == RoutingHash.leaf(abi.decode(items[duplicateOf].decision, (RoutingDecision)))) {
                d = _route(batchId, id, modelClass, router, tokens - 1, r);
            }
        } else if (kind >= 6 && d.resolution == RoutingPolicy.SERVED) {
            // Served, then attempted again at another provider: AttemptAfterServed.
            misrouted = true;
            d = _withExtraAttempt(d, _otherProvider(d));
        }
    }

    /// @dev The honest decision for a request of batch `batchId`'s registry, the attempts'
    ///      outcomes and latencies drawn from `r`.
    function _route(uint64 batchId, bytes32 id, uint32 modelClass, address router, uint32 tokens, uint256 r)
        internal
        pure
        returns (RoutingDecision memory)
    {
        uint8[] memory outcomes = new uint8[](3);
        uint32[] memory latencies = new uint32[](3);
        for (uint256 k; k < 3; ++k) {
            // forge-lint: disable-next-line(unsafe-typecast)
            outcomes[k] = uint8((r >> (64 + 8 * k)) % 3 == 0 ? (r >> (96 + 8 * k)) % 6 : 0);
            // forge-lint: disable-next-line(unsafe-typecast)
            latencies[k] = uint32(100 + (r >> (128 + 16 * k)) % 4_000);
        }
        return RoutingPolicy.route(
            RoutingPolicy.Request({
                id: id, modelClass: modelClass, submitMs: 1_000_000, deadlineMs: 1_030_000, retryBudget: 2
            }),
            RoutingFixture.params(batchId),
            RoutingFixture.providers(),
            router,
            tokens,
            RoutingPolicy.Oracle({outcomes: outcomes, latencies: latencies})
        );
    }

    /// @dev A registered provider of `d`'s model class that `d` did not try (or a stranger).
    function _otherProvider(RoutingDecision memory d) internal pure returns (address) {
        ProviderEntry[] memory ps = RoutingFixture.providers();
        for (uint256 i; i < ps.length; ++i) {
            bool tried;
            for (uint256 k; k < d.attempts.length; ++k) {
                if (d.attempts[k].provider == ps[i].provider) tried = true;
            }
            if (!tried && ps[i].modelClass == d.modelClass) return ps[i].provider;
        }
        return address(0xdead);
    }

    /// @dev `d` with one more successful attempt at `provider` (tier 0), summary updated.
    function _withExtraAttempt(RoutingDecision memory d, address provider)
        internal
        pure
        returns (RoutingDecision memory)
    {
        uint256 n = d.attempts.length;
        Attempt[] memory longer = new Attempt[](n + 1);
        for (uint256 k; k < n; ++k) {
            longer[k] = d.attempts[k];
        }
        longer[n] = Attempt({provider: provider, tier: 0, outcome: RoutingPolicy.SUCCESS, latencyMs: 250});
        d.attempts = longer;
        d.finalProvider = provider;
        d.finalTier = 0;
        // forge-lint: disable-next-line(unsafe-typecast)
        d.retryCount = uint8(n);
        return d;
    }

    /// @dev `d` signed by its router.
    function _sign(RoutingDecision memory d) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[d.router], settlement.decisionDigest(d));
        return abi.encodePacked(r, s, v);
    }

    /// @dev Item `i`'s decision with its batch header, inclusion proof and signature.
    function _inclusion(uint256 i) internal view returns (Inclusion memory inc) {
        Item storage item = items[i];
        inc.header = headers[item.batch];
        inc.decision = abi.decode(item.decision, (RoutingDecision));
        inc.proof = PayloadBuilder.proof(batchLeaves[item.batch], item.index);
        inc.signature = _sign(inc.decision);
    }

    /// @dev When item `i`'s batch stops being challengeable.
    function _closesAt(uint256 i) internal view returns (uint256) {
        return committedAt[items[i].batch] + settlement.challengeWindow();
    }

    /// @dev The caller of a challenge: one of the challengers, or (one time in five) the router.
    function _caller(uint256 seed, address router) internal view returns (address) {
        return seed % 5 == 0 ? router : challengers[seed % challengers.length];
    }

    // ---------------------------------------------------------------- challengers

    /// A challenger (or the router) challenges a committed decision for misrouting, with the
    /// whole registry or a random part of it as evidence.
    function challengeMisrouting(uint256 callerSeed, uint256 itemSeed, uint256 subset) external {
        if (items.length == 0) return;
        uint256 i = itemSeed % items.length;
        Inclusion memory inc = _inclusion(i);
        bytes32 leaf = RoutingHash.leaf(inc.decision);
        RegistryEvidence memory ev = _evidence(inc.header.batchId, subset);
        address caller = _caller(callerSeed, inc.decision.router);

        bytes4 expected;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= _closesAt(i)) expected = IRoutingSettlement.ChallengeWindowClosed.selector;
        else if (slashCount[leaf] > 0) expected = IRoutingSettlement.AlreadySlashed.selector;
        else if (!items[i].misrouted) expected = IRoutingSettlement.NoViolation.selector;

        (uint256 stakeBefore, uint256 callerBefore, uint256 treasuryBefore) = _balances(inc.decision.router, caller);
        vm.prank(caller);
        try settlement.challengeMisrouting(inc, ev) returns (uint256 slashed) {
            _recordSlash(leaf, inc.decision.router, caller, slashed, stakeBefore, callerBefore, treasuryBefore);
            misroutingSlashes++;
            if (expected != bytes4(0)) _unexpected(abi.encode("misrouting succeeded", expected, i));
        } catch (bytes memory reason) {
            _recordRevert(reason, expected, i);
        }
    }

    /// A challenger (or the router) proves a committed duplicate pair, in either order.
    function challengeDuplicate(uint256 callerSeed, uint256 pairSeed) external {
        if (pairs.length == 0) return;
        Pair memory pair = pairs[pairSeed % pairs.length];
        if (pairSeed % 2 == 1) (pair.a, pair.b) = (pair.b, pair.a);
        Inclusion memory a = _inclusion(pair.a);
        Inclusion memory b = _inclusion(pair.b);
        address router = a.decision.router;
        bytes32 key = keccak256(abi.encode(router, a.decision.requestId));
        address caller = _caller(callerSeed, router);

        bytes4 expected;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= _closesAt(pair.a) && block.timestamp >= _closesAt(pair.b)) {
            expected = IRoutingSettlement.ChallengeWindowClosed.selector;
        } else if (slashCount[key] > 0) {
            expected = IRoutingSettlement.AlreadySlashed.selector;
        }

        (uint256 stakeBefore, uint256 callerBefore, uint256 treasuryBefore) = _balances(router, caller);
        vm.prank(caller);
        try settlement.challengeDuplicate(a, b) returns (uint256 slashed) {
            _recordSlash(key, router, caller, slashed, stakeBefore, callerBefore, treasuryBefore);
            duplicateSlashes++;
            if (expected != bytes4(0)) _unexpected(abi.encode("duplicate succeeded", expected, pair.a, pair.b));
        } catch (bytes memory reason) {
            _recordRevert(reason, expected, pair.a);
        }
    }

    /// @dev Registry evidence of batch `epoch`: every provider when `subset` is even, else the
    ///      providers its bits pick.
    function _evidence(uint64 epoch, uint256 subset) internal pure returns (RegistryEvidence memory) {
        ProviderEntry[] memory ps = RoutingFixture.providers();
        uint256[] memory chosen = new uint256[](ps.length);
        uint256 m;
        for (uint256 j; j < ps.length; ++j) {
            if (subset % 2 == 0 || (subset >> (j + 1)) & 1 == 1) chosen[m++] = j;
        }
        assembly ("memory-safe") {
            mstore(chosen, m)
        }
        return PayloadBuilder.registryEvidence(RoutingFixture.params(epoch), ps, new RouterBudget[](0), chosen);
    }

    function _balances(address router, address caller)
        internal
        view
        returns (uint256 stakeBefore, uint256 callerBefore, uint256 treasuryBefore)
    {
        (uint256 active, uint256 pending,) = staking.stakeOf(router);
        return (active + pending, token.balanceOf(caller), token.balanceOf(staking.treasury()));
    }

    /// @dev Books a successful slash under `key` and checks its amounts against the rates.
    function _recordSlash(
        bytes32 key,
        address router,
        address caller,
        uint256 slashed,
        uint256 stakeBefore,
        uint256 callerBefore,
        uint256 treasuryBefore
    ) internal {
        uint256 count = ++slashCount[key];
        if (count > maxSlashCount) maxSlashCount = count;
        uint256 reward = token.balanceOf(caller) - callerBefore;
        uint256 toTreasury = token.balanceOf(staking.treasury()) - treasuryBefore;
        ghostSlashed += slashed;
        ghostRewards += reward;
        uint256 expectedSlash = stakeBefore * settlement.slashBps() / 10_000;
        uint256 expectedReward = caller == router ? 0 : expectedSlash * settlement.rewardBps() / 10_000;
        if (slashed != expectedSlash || reward != expectedReward || reward + toTreasury != slashed) {
            _unexpected(abi.encode("slash amounts", slashed, reward, toTreasury));
        }
        if (!staking.jailed(router)) _unexpected(abi.encode("not jailed", router));
    }

    /// @dev Books a reverted challenge; anything but the predicted error is unexpected.
    function _recordRevert(bytes memory reason, bytes4 expected, uint256 item) internal {
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes4 got = bytes4(reason);
        if (got != expected || expected == bytes4(0)) _unexpected(abi.encode("reverted", got, expected, item));
        if (got == IRoutingSettlement.NoViolation.selector) noViolations++;
        else if (got == IRoutingSettlement.ChallengeWindowClosed.selector) windowsClosed++;
        else if (got == IRoutingSettlement.AlreadySlashed.selector) alreadySlashed++;
    }

    function _unexpected(bytes memory what) internal {
        unexpected++;
        lastUnexpected = what;
    }
}
