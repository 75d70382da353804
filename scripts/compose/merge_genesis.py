#!/usr/bin/env python3
"""Merges the routing contracts into an OP Stack L2 genesis.

op-deployer writes the L2 genesis of a real OP Stack chain (the predeploys at 0x4200..., the
L1-derived system configuration); this project's genesis/genesis.json pre-deploys the stake token,
staking and settlement contracts (at 0x5e77..., outside the predeploy range) and funds the dev
accounts. This adds every account of the project's genesis to op-deployer's:

- an account that op-deployer's genesis does not have is copied as it is;
- an account both have must not carry code or storage in both (that would be two contracts at one
  address): that is an error; a plain funded account keeps op-deployer's balance.

The chain ids must match. Usage: merge_genesis.py OP_GENESIS PROJECT_GENESIS OUT
"""

import json
import sys


class MergeError(Exception):
    """The two genesis files cannot be merged."""


def norm(address):
    return address.lower().removeprefix("0x")


def merge(op, project):
    """Returns op-deployer's genesis `op` with the accounts of `project` added."""
    op_chain = op.get("config", {}).get("chainId")
    project_chain = project.get("config", {}).get("chainId")
    if op_chain != project_chain:
        raise MergeError(f"chain ids differ: op-deployer's is {op_chain}, the project's {project_chain}")
    alloc = {norm(a): v for a, v in op.get("alloc", {}).items()}
    added = 0
    for address, account in project.get("alloc", {}).items():
        key = norm(address)
        existing = alloc.get(key)
        if existing is None:
            alloc[key] = account
            added += 1
            continue
        both_code = (existing.get("code") or existing.get("storage")) and (
            account.get("code") or account.get("storage")
        )
        if both_code:
            raise MergeError(f"0x{key} is a contract in both genesis files")
        if account.get("code") or account.get("storage"):
            merged = dict(account)
            merged["balance"] = existing.get("balance", account.get("balance", "0x0"))
            alloc[key] = merged
            added += 1
    out = dict(op)
    out["alloc"] = {f"0x{k}": v for k, v in sorted(alloc.items())}
    return out, added


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        op = json.load(f)
    with open(argv[2]) as f:
        project = json.load(f)
    try:
        merged, added = merge(op, project)
    except MergeError as e:
        print(f"merge_genesis: {e}", file=sys.stderr)
        return 1
    with open(argv[3], "w") as f:
        json.dump(merged, f, indent=2)
    print(f"merge_genesis: {added} accounts added, {len(merged['alloc'])} in {argv[3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
