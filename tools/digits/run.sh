#!/usr/bin/env bash
# tools/digits/run.sh — one digits-benchmark experiment, rerunnable: `csg train digits` with the
# given flags into runs/digits-experiments/<name>, one OpenMP thread (experiments run side by
# side on a shared machine), the data and priors cached in data/generated as the default run's.
# Its stderr goes to <name>.log beside the folder; results.csv in the folder holds the numbers
# (tools/digits/summarize.py reads them). CSG_BIN names another binary (default ./csg): a copy
# keeps a batch of experiments on one build while the tree is rebuilt.
#
#   bash tools/digits/run.sh NAME [csg train digits flags...]
#   e.g. bash tools/digits/run.sh ema-matched --validation-only --seeds 5 --ema matched
set -euo pipefail
cd "$(dirname "$0")/../.."
name=${1:?usage: tools/digits/run.sh NAME [flags...]}
shift
out=runs/digits-experiments/$name
mkdir -p runs/digits-experiments
if [[ -e $out/results.csv && -z ${RERUN:-} ]]; then
  echo "$out exists (RERUN=1 to run it again from scratch)"
  exit 0
fi
echo "[$(date -u +%FT%TZ)] $name: ./csg train digits $* (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
start=$(date +%s)
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "${CSG_BIN:-./csg}" train digits --out "$out" --overwrite --workers 1 --quiet "$@" \
  >"$out.table" 2>"$out.log"
echo "[$(date -u +%FT%TZ)] $name: done in $(( $(date +%s) - start )) s (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2
