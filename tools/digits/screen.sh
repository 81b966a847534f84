#!/usr/bin/env bash
# tools/digits/screen.sh — the screening before the rule: each setting the benchmark scales,
# flipped alone from the reference's values, seeds 0-1, on the validation splits only (the real
# digits are never read). Two lanes run side by side (the machine has two cores).
#
#   bash tools/digits/screen.sh && python3 tools/digits/summarize.py ref ...
set -uo pipefail
cd "$(dirname "$0")/../.."
run() { bash tools/digits/run.sh "$@" --validation-only --seeds 2; }
csg_only="--models csg"
{
  run ref
  run ema-matched $csg_only --ema matched
  run queue-matched $csg_only --queue-size matched
  run ema-queue-matched $csg_only --ema matched --queue-size matched
} &
{
  run lr-matched --models baseline,csg --lr matched
  run relative --models baseline,csg --randaug-geometry relative
  run all-matched-relative --models baseline,csg --lr matched --ema matched --queue-size matched \
    --randaug-geometry relative
  run fashion-digits --models prior-frozen,baseline,csg --prior fashion+digits
} &
wait
