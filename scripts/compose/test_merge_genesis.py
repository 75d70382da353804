"""Tests of merge_genesis.py against the project's real genesis (python3 -m unittest)."""

import json
import pathlib
import unittest

from merge_genesis import MergeError, merge

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROJECT = json.loads((ROOT / "genesis" / "genesis.json").read_text())
SETTLEMENT = "0x5e77000000000000000000000000000000000003"
L2_TO_L1 = "0x4200000000000000000000000000000000000016"


def op_genesis(**alloc):
    """A genesis shaped like op-deployer's, with one predeploy."""
    accounts = {L2_TO_L1: {"code": "0x6080", "balance": "0x0"}}
    accounts.update(alloc)
    return {"config": {"chainId": PROJECT["config"]["chainId"]}, "alloc": accounts}


class MergeGenesis(unittest.TestCase):
    def test_adds_the_routing_contracts_and_keeps_the_predeploys(self):
        merged, added = merge(op_genesis(), PROJECT)
        self.assertEqual(added, len(PROJECT["alloc"]))
        self.assertIn(L2_TO_L1, merged["alloc"])
        settlement = merged["alloc"][SETTLEMENT]
        self.assertEqual(settlement["code"], PROJECT["alloc"][SETTLEMENT]["code"])
        self.assertEqual(settlement.get("storage"), PROJECT["alloc"][SETTLEMENT].get("storage"))

    def test_refuses_two_contracts_at_one_address(self):
        with self.assertRaises(MergeError):
            merge(op_genesis(**{SETTLEMENT: {"code": "0x00", "balance": "0x0"}}), PROJECT)

    def test_refuses_another_chain(self):
        other = op_genesis()
        other["config"]["chainId"] = 10
        with self.assertRaisesRegex(MergeError, "chain ids differ"):
            merge(other, PROJECT)

    def test_a_funded_account_keeps_op_deployers_balance(self):
        funded = next(a for a, v in PROJECT["alloc"].items() if not v.get("code"))
        merged, _ = merge(op_genesis(**{funded: {"balance": "0x1"}}), PROJECT)
        self.assertEqual(merged["alloc"][funded.lower()]["balance"], "0x1")


if __name__ == "__main__":
    unittest.main()
