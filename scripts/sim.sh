#!/usr/bin/env bash
# The main job at this step: run the seeds' routing experiment (10,000 requests, naive router
# against the sequenced policy at retry budgets 3 and 7). Extra arguments go to routing-sim,
# e.g. `scripts/sim.sh --json` or `scripts/sim.sh --seed 7`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release --locked -q -p routing-sim -- "$@"
