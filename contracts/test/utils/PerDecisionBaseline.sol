// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {RoutingDecision, RoutingHash} from "../../src/libraries/RoutingHash.sol";

/// @title PerDecisionBaseline
/// @notice What settling one decision per transaction would cost: the baseline the batch path is
///         measured against (crates/contracts/src/gas.rs, README "Gas").
/// @dev `commitDecision` does per decision what a batch does for 1,200: puts the decision and the
///      router's signature in calldata and leaves an on-chain commitment a challenge can check
///      inclusion against (here one storage slot per leaf). `logDecision` is the cheapest
///      conceivable variant, an event and no commitment, so the report can state both.
contract PerDecisionBaseline {
    /// @notice Block in which each decision leaf was committed.
    mapping(bytes32 leaf => uint256) public committedAt;

    /// @notice A decision was posted.
    event DecisionPosted(bytes32 indexed leaf, bytes signature);

    /// @notice Commits one decision: its leaf is stored, the decision and signature stay in calldata.
    function commitDecision(RoutingDecision calldata d, bytes calldata signature) external {
        bytes32 leaf = RoutingHash.leafCalldata(d);
        committedAt[leaf] = block.number;
        emit DecisionPosted(leaf, signature);
    }

    /// @notice Posts one decision without an on-chain commitment (an event only).
    function logDecision(RoutingDecision calldata d, bytes calldata signature) external {
        emit DecisionPosted(RoutingHash.leafCalldata(d), signature);
    }
}
