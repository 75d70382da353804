// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IStaking} from "./interfaces/IStaking.sol";

/// @title Staking
/// @notice Bonded stake of router operators.
/// @dev
/// - A router is active while it is not jailed and its active stake is at least `minStake`.
/// - Unstaking is two-step: `requestUnstake` moves stake to a single pending bucket per router
///   (a new request adds to it and resets `readyAt`), `withdraw` pays it out from `readyAt`.
///   Pending stake stays slashable until withdrawn, and `unstakeDelay > challengeWindow`.
/// - The settlement contract records every committed batch's routers (`recordActivity`); a
///   router cannot withdraw while a batch naming it can still be challenged, so no withdrawal
///   escapes a challenge, even for a router that keeps routing on the rest of its stake.
/// - Only `settlement` slashes. A slash takes from active stake first, then pending, pays an
///   absolute `rewardAmount` (strictly below the slashed amount) to the challenger, sends the rest
///   to `treasury`, and jails the router; the owner may unjail.
/// - The stake token must be a standard ERC20 (no fee-on-transfer or rebasing): the contract's
///   balance is meant to equal `totalStaked()`.
contract Staking is IStaking, Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    struct StakeInfo {
        uint256 active;
        uint256 pending;
        uint64 readyAt;
    }

    /// @inheritdoc IStaking
    IERC20 public immutable token;
    /// @inheritdoc IStaking
    address public immutable settlement;
    /// @inheritdoc IStaking
    address public immutable treasury;
    /// @inheritdoc IStaking
    uint64 public immutable unstakeDelay;
    /// @inheritdoc IStaking
    uint64 public immutable challengeWindow;

    /// @inheritdoc IStaking
    uint256 public minStake;
    /// @inheritdoc IStaking
    mapping(address router => bool) public jailed;
    /// @inheritdoc IStaking
    mapping(address router => uint64) public lastActivityAt;

    mapping(address router => StakeInfo) internal _stakes;
    uint256 internal _totalStaked;

    /// @param token_ The stake token (a standard ERC20; EIP-2612 for `stakeWithPermit`).
    /// @param settlement_ The only address allowed to slash.
    /// @param treasury_ Receiver of slashed stake beyond the challenger reward.
    /// @param minStake_ Minimum active stake for a router to be active.
    /// @param unstakeDelay_ Delay between `requestUnstake` and `withdraw`; must exceed `challengeWindow_`.
    /// @param challengeWindow_ The settlement challenge window.
    /// @param owner_ Governance: sets `minStake`, unjails routers.
    constructor(
        IERC20 token_,
        address settlement_,
        address treasury_,
        uint256 minStake_,
        uint64 unstakeDelay_,
        uint64 challengeWindow_,
        address owner_
    ) Ownable(owner_) {
        if (address(token_) == address(0) || settlement_ == address(0) || treasury_ == address(0)) {
            revert ZeroAddress();
        }
        if (unstakeDelay_ <= challengeWindow_) {
            revert UnstakeDelayNotAboveChallengeWindow(unstakeDelay_, challengeWindow_);
        }
        token = token_;
        settlement = settlement_;
        treasury = treasury_;
        unstakeDelay = unstakeDelay_;
        challengeWindow = challengeWindow_;
        minStake = minStake_;
        emit MinStakeSet(0, minStake_);
    }

    // ---------------------------------------------------------------- router actions

    /// @inheritdoc IStaking
    function stake(uint256 amount) external nonReentrant {
        _stake(amount);
    }

    /// @inheritdoc IStaking
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        // A front-run permit spends the nonce and makes this call revert; the allowance it set
        // is still there, so ignore the failure and let the transfer decide.
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(amount);
    }

    /// @inheritdoc IStaking
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        StakeInfo storage info = _stakes[msg.sender];
        uint256 active = info.active;
        if (amount > active) revert InsufficientActiveStake(amount, active);

        uint64 readyAt = uint64(block.timestamp) + unstakeDelay;
        unchecked {
            info.active = active - amount;
        }
        uint256 pending = info.pending + amount;
        info.pending = pending;
        info.readyAt = readyAt;

        emit UnstakeRequested(msg.sender, amount, pending, readyAt);
    }

    /// @inheritdoc IStaking
    function withdraw() external nonReentrant returns (uint256 amount) {
        StakeInfo storage info = _stakes[msg.sender];
        amount = info.pending;
        if (amount == 0) revert NothingToWithdraw();
        uint64 readyAt = info.readyAt;
        // A time-lock of days: a sequencer's few seconds of timestamp leeway do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < readyAt) revert UnstakeNotReady(readyAt);
        uint64 lockedUntil = lastActivityAt[msg.sender] + challengeWindow;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < lockedUntil) revert StakeLocked(lockedUntil);

        info.pending = 0;
        info.readyAt = 0;
        _totalStaked -= amount;
        emit Withdrawn(msg.sender, amount);

        token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- settlement

    /// @inheritdoc IStaking
    function slash(address router, uint256 amount, address challenger, uint256 rewardAmount)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        if (msg.sender != settlement) revert NotSettlement(msg.sender);

        StakeInfo storage info = _stakes[router];
        uint256 active = info.active;
        uint256 pending = info.pending;
        uint256 total = active + pending;
        slashed = amount < total ? amount : total;

        uint256 reward;
        if (slashed > 0) {
            if (rewardAmount >= slashed) revert RewardTooLarge(rewardAmount, slashed);
            if (rewardAmount > 0 && challenger == address(0)) revert ZeroChallenger();
            reward = rewardAmount;

            // Active first, then pending.
            if (slashed <= active) {
                info.active = active - slashed;
            } else {
                info.active = 0;
                uint256 fromPending = slashed - active;
                info.pending = pending - fromPending;
                if (fromPending == pending) info.readyAt = 0;
            }
            _totalStaked -= slashed;
        }

        emit Slashed(router, slashed, reward, challenger);
        if (!jailed[router]) {
            jailed[router] = true;
            emit Jailed(router);
        }

        if (reward > 0) token.safeTransfer(challenger, reward);
        if (slashed > reward) token.safeTransfer(treasury, slashed - reward);
    }

    /// @inheritdoc IStaking
    function recordActivity(address[] calldata routers) external {
        if (msg.sender != settlement) revert NotSettlement(msg.sender);
        uint64 now_ = uint64(block.timestamp);
        for (uint256 i; i < routers.length; ++i) {
            lastActivityAt[routers[i]] = now_;
        }
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IStaking
    function setMinStake(uint256 newMinStake) external onlyOwner {
        emit MinStakeSet(minStake, newMinStake);
        minStake = newMinStake;
    }

    /// @inheritdoc IStaking
    function unjail(address router) external onlyOwner {
        if (!jailed[router]) revert NotJailed(router);
        jailed[router] = false;
        emit Unjailed(router);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IStaking
    function stakeOf(address router) external view returns (uint256 active, uint256 pending, uint64 readyAt) {
        StakeInfo storage info = _stakes[router];
        return (info.active, info.pending, info.readyAt);
    }

    /// @inheritdoc IStaking
    function withdrawableAt(address router) external view returns (uint64) {
        StakeInfo storage info = _stakes[router];
        if (info.pending == 0) return 0;
        uint64 lockedUntil = lastActivityAt[router] + challengeWindow;
        return info.readyAt > lockedUntil ? info.readyAt : lockedUntil;
    }

    /// @inheritdoc IStaking
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /// @inheritdoc IStaking
    function isActive(address router) external view returns (bool) {
        return !jailed[router] && _stakes[router].active >= minStake;
    }

    // ---------------------------------------------------------------- internal

    function _stake(uint256 amount) internal {
        if (amount == 0) revert ZeroAmount();
        _stakes[msg.sender].active += amount;
        _totalStaked += amount;
        emit Staked(msg.sender, amount);

        token.safeTransferFrom(msg.sender, address(this), amount);
    }
}
