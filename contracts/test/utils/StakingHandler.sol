// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

import {Staking} from "../../src/Staking.sol";
import {IStaking} from "../../src/interfaces/IStaking.sol";
import {MockStakeToken} from "./MockStakeToken.sol";

/// @notice Drives `Staking` for the invariant test: several router actors stake, request
///         unstakes, withdraw, get named in committed batches (`recordActivity`) and get slashed
///         by the settlement, while time moves forward. Ghost variables track what went in and
///         out, and when each router was last named in a batch.
contract StakingHandler is CommonBase, StdCheats, StdUtils {
    Staking public immutable staking;
    MockStakeToken public immutable token;
    address public immutable settlement;
    address public immutable challenger;

    address[] public actors;

    uint256 public ghostStaked;
    uint256 public ghostWithdrawn;
    uint256 public ghostSlashed;
    uint256 public ghostRewards;
    /// Set if a `withdraw` ever succeeded before the router's `readyAt` (or paid other than the pending amount).
    bool public ghostEarlyWithdrawal;
    /// Set if a `withdraw` ever succeeded while a batch naming the router was challengeable.
    bool public ghostWithdrawalWhileLocked;
    /// When the settlement last recorded each router in a batch.
    mapping(address router => uint64) public ghostLastActivity;
    uint256 public withdrawCalls;
    uint256 public lockedWithdrawCalls;
    uint256 public slashCalls;
    uint256 public activityCalls;

    constructor(Staking staking_, MockStakeToken token_, address settlement_, address challenger_) {
        staking = staking_;
        token = token_;
        settlement = settlement_;
        challenger = challenger_;
        for (uint256 i = 0; i < 4; i++) {
            address actor = makeAddr(string.concat("router", vm.toString(i)));
            actors.push(actor);
            vm.prank(actor);
            token.approve(address(staking_), type(uint256).max);
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return actors[seed % actors.length];
    }

    function stake(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        amount = bound(amount, 1, 1e24);
        token.mint(actor, amount);
        vm.prank(actor);
        staking.stake(amount);
        ghostStaked += amount;
    }

    function requestUnstake(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        (uint256 active,,) = staking.stakeOf(actor);
        if (active == 0) return;
        amount = bound(amount, 1, active);
        vm.prank(actor);
        staking.requestUnstake(amount);
    }

    function withdraw(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        (, uint256 pending, uint64 readyAt) = staking.stakeOf(actor);
        if (pending == 0) return;
        uint256 before = token.balanceOf(actor);
        vm.prank(actor);
        try staking.withdraw() returns (uint256 amount) {
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < readyAt) ghostEarlyWithdrawal = true;
            if (token.balanceOf(actor) - before != amount || amount != pending) ghostEarlyWithdrawal = true;
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < ghostLastActivity[actor] + staking.challengeWindow()) {
                ghostWithdrawalWhileLocked = true;
            }
            ghostWithdrawn += amount;
            withdrawCalls++;
        } catch (bytes memory reason) {
            // forge-lint: disable-next-line(unsafe-typecast)
            if (bytes4(reason) == IStaking.StakeLocked.selector) lockedWithdrawCalls++;
        }
    }

    /// The settlement records a batch naming one router (or two) now.
    function recordActivity(uint256 actorSeed) external {
        address[] memory rs = new address[](actorSeed % 3 == 0 ? 2 : 1);
        rs[0] = _actor(actorSeed);
        if (rs.length == 2) rs[1] = _actor(actorSeed / 3 + 1);
        vm.prank(settlement);
        staking.recordActivity(rs);
        for (uint256 i; i < rs.length; ++i) {
            ghostLastActivity[rs[i]] = uint64(block.timestamp);
        }
        activityCalls++;
    }

    function slash(uint256 actorSeed, uint256 amount, uint256 rewardBps) external {
        address actor = _actor(actorSeed);
        (uint256 active, uint256 pending,) = staking.stakeOf(actor);
        amount = bound(amount, 0, (active + pending) * 2 + 1);
        uint256 expected = amount < active + pending ? amount : active + pending;
        uint256 reward = expected == 0 ? 0 : (expected * bound(rewardBps, 0, 9_999)) / 10_000;
        vm.prank(settlement);
        uint256 slashed = staking.slash(actor, amount, challenger, reward);
        ghostSlashed += slashed;
        ghostRewards += slashed == 0 ? 0 : reward;
        slashCalls++;
    }

    function warp(uint256 secs) external {
        skip(bound(secs, 0, 3 days));
    }
}
