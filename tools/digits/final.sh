#!/usr/bin/env bash
# tools/digits/final.sh — the final table on the real digits 5-9 (docs/digits-benchmark.md): the
# defaults the rule chose, seeds 0-4, and the same with the far prior (--prior fashion) as the
# control, side by side with one OpenMP thread each. The table the benchmark prints is
# <name>.table beside each run folder (also <folder>/table.md).
#
#   bash tools/digits/final.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p runs/digits-experiments
cp ./csg runs/digits-experiments/csg-final
export CSG_BIN=runs/digits-experiments/csg-final
bash tools/digits/run.sh final --seeds 5 &
bash tools/digits/run.sh final-fashion --seeds 5 --prior fashion &
wait
