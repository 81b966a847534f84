#!/usr/bin/env bash
# tools/digits/ablation.sh — the ablation the default is chosen on (docs/digits-benchmark.md,
# "The rule"): the candidate configuration C and each scaled setting flipped alone from it, seeds
# 0-4, on the validation splits only (--validation-only: the real digits are never read). Every
# flag is explicit, so the runs do not depend on the defaults they decide. Two lanes run side by
# side; a copy of the binary keeps the batch on one build.
#
#   bash tools/digits/ablation.sh && bash tools/digits/ablation_table.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
mkdir -p runs/digits-experiments
cp ./csg runs/digits-experiments/csg-ablation
export CSG_BIN=runs/digits-experiments/csg-ablation
# C's settings; run NAME MODELS [SETTING=VALUE ...] flips the named settings.
run() {
  local name=$1 models=$2
  shift 2
  declare -A s=([prior]=digits [stem]=imagenet [randaug-geometry]=relative [ema]=matched [queue-size]=matched [lr]=0.05)
  for kv in "$@"; do s[${kv%%=*}]=${kv#*=}; done
  local flags=()
  for k in prior stem randaug-geometry ema queue-size lr; do flags+=("--$k" "${s[$k]}"); done
  bash tools/digits/run.sh "ab-$name" --validation-only --seeds 5 --models "$models" "${flags[@]}"
}
{
  run small-stem baseline,csg stem=small
  run fashion prior-frozen,baseline,csg prior=fashion
} &
{
  run C prior-frozen,random-init,baseline,csg
  run absolute baseline,csg randaug-geometry=absolute
  run ema-0.999 csg ema=0.999
  run queue-4096 csg queue-size=4096
  run lr-matched baseline,csg lr=matched
  run fashion-digits prior-frozen,baseline,csg prior=fashion+digits
} &
wait
