// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IStaking
/// @notice Stake of router operators: bonded to be an active router, slashable by the settlement
///         contract, withdrawable only after an unstake delay longer than the challenge window.
interface IStaking {
    // ---------------------------------------------------------------- errors

    /// @notice A constructor address argument was zero.
    error ZeroAddress();
    /// @notice `unstakeDelay` must be strictly greater than `challengeWindow`.
    error UnstakeDelayNotAboveChallengeWindow(uint64 unstakeDelay, uint64 challengeWindow);
    /// @notice An amount argument was zero.
    error ZeroAmount();
    /// @notice `requestUnstake` asked for more than the active stake.
    error InsufficientActiveStake(uint256 requested, uint256 active);
    /// @notice `withdraw` was called with no pending unstake.
    error NothingToWithdraw();
    /// @notice `withdraw` was called before the pending unstake's `readyAt`.
    error UnstakeNotReady(uint64 readyAt);
    /// @notice `slash` was called by someone other than the settlement contract.
    error NotSettlement(address caller);
    /// @notice The challenger reward was not strictly below the slashed amount.
    error RewardTooLarge(uint256 reward, uint256 slashed);
    /// @notice The challenger of a slash with a reward was the zero address.
    error ZeroChallenger();
    /// @notice `unjail` was called for a router that is not jailed.
    error NotJailed(address router);
    /// @notice `withdraw` was called while a batch naming the caller can still be challenged.
    error StakeLocked(uint64 lockedUntil);

    // ---------------------------------------------------------------- events

    /// @notice `router` added `amount` to its active stake.
    event Staked(address indexed router, uint256 amount);
    /// @notice `router` moved `amount` from active to pending; the whole pending amount is
    ///         withdrawable from `readyAt`.
    event UnstakeRequested(address indexed router, uint256 amount, uint256 pending, uint64 readyAt);
    /// @notice `router` withdrew `amount` of pending stake.
    event Withdrawn(address indexed router, uint256 amount);
    /// @notice `router` lost `slashed`; `reward` of it went to `challenger`, the rest to the treasury.
    event Slashed(address indexed router, uint256 slashed, uint256 reward, address indexed challenger);
    /// @notice `router` was jailed (is no longer active).
    event Jailed(address indexed router);
    /// @notice The owner unjailed `router`.
    event Unjailed(address indexed router);
    /// @notice The owner changed the minimum active stake from `oldMinStake` to `newMinStake`.
    event MinStakeSet(uint256 oldMinStake, uint256 newMinStake);

    // ---------------------------------------------------------------- router actions

    /// @notice Stakes `amount` of the stake token from the caller (needs a prior approval).
    /// @param amount Tokens to add to the caller's active stake; must be non-zero.
    function stake(uint256 amount) external;

    /// @notice Approves this contract with an EIP-2612 permit, then stakes `amount`, in one transaction.
    /// @dev A failing permit (e.g. front-run, so its nonce is spent) is ignored; the transfer then
    ///      succeeds if the allowance already suffices.
    /// @param amount Tokens to stake (also the permit value).
    /// @param deadline Permit deadline.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Moves `amount` from the caller's active stake to its pending unstake.
    /// @dev One pending request per router: a new request adds to the pending amount and resets
    ///      `readyAt` to `block.timestamp + unstakeDelay` for the whole pending amount.
    /// @param amount Tokens to unstake; non-zero and at most the active stake.
    function requestUnstake(uint256 amount) external;

    /// @notice Transfers the caller's whole pending unstake to the caller, once `readyAt` is reached.
    /// @return amount The amount withdrawn.
    function withdraw() external returns (uint256 amount);

    // ---------------------------------------------------------------- settlement

    /// @notice Slashes up to `amount` from `router` (active stake first, then pending) and jails it.
    /// @dev Only the settlement contract. `rewardAmount` is an absolute token amount and must be
    ///      strictly less than the amount actually slashed when that is non-zero (the settlement
    ///      should size it from `stakeOf`); when nothing is slashed no reward is paid.
    /// @param router The router to slash.
    /// @param amount The most to slash.
    /// @param challenger Receiver of the reward.
    /// @param rewardAmount Reward to the challenger, out of the slashed amount.
    /// @return slashed The amount actually slashed: `min(amount, active + pending)`.
    function slash(address router, uint256 amount, address challenger, uint256 rewardAmount)
        external
        returns (uint256 slashed);

    /// @notice Records that `routers` have decisions in a batch committed now: their pending
    ///         stake cannot be withdrawn until that batch's challenge window has closed.
    /// @dev Only the settlement contract, once per committed batch.
    /// @param routers The batch's routers.
    function recordActivity(address[] calldata routers) external;

    // ---------------------------------------------------------------- governance

    /// @notice Sets the minimum active stake for a router to be active. Only the owner.
    /// @param newMinStake The new minimum.
    function setMinStake(uint256 newMinStake) external;

    /// @notice Unjails `router`. Only the owner.
    /// @param router A jailed router.
    function unjail(address router) external;

    // ---------------------------------------------------------------- views

    /// @notice The stake token.
    function token() external view returns (IERC20);
    /// @notice The only address allowed to slash.
    function settlement() external view returns (address);
    /// @notice Receiver of the non-reward part of slashes.
    function treasury() external view returns (address);
    /// @notice Minimum active stake for a router to be active.
    function minStake() external view returns (uint256);
    /// @notice Delay between `requestUnstake` and `withdraw`.
    function unstakeDelay() external view returns (uint64);
    /// @notice Length of the settlement challenge window; always below `unstakeDelay`.
    function challengeWindow() external view returns (uint64);
    /// @notice Whether `router` is jailed.
    function jailed(address router) external view returns (bool);

    /// @notice The stake of `router`.
    /// @return active Active (bonded) stake.
    /// @return pending Stake waiting to be withdrawn (still slashable).
    /// @return readyAt Timestamp from which `pending` can be withdrawn (0 if none pending).
    function stakeOf(address router) external view returns (uint256 active, uint256 pending, uint64 readyAt);

    /// @notice When `router`'s decisions were last committed in a batch (0 if never).
    function lastActivityAt(address router) external view returns (uint64);

    /// @notice The earliest time `router` can withdraw its pending stake: the later of its
    ///         `readyAt` and the close of the challenge window of its last batch (0 if nothing is
    ///         pending).
    function withdrawableAt(address router) external view returns (uint64);

    /// @notice Sum of active and pending stake of all routers (equals the contract's token balance
    ///         for a standard ERC20).
    function totalStaked() external view returns (uint256);

    /// @notice Whether `router` may route: not jailed and active stake at least `minStake`.
    function isActive(address router) external view returns (bool);
}
