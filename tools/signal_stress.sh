#!/usr/bin/env bash
# tools/signal_stress.sh — interrupts a GTA5 training run with SIGINT or SIGTERM at a random moment,
# many times, and checks every run ends as it should: exit status 130 (SIGINT) or 143 (SIGTERM), the
# checkpoint it names on disk, no heap error. The run is the one that used to abort with "corrupted
# size vs. prev_size" (a signal handled on a thread inside oneDNN's JIT GEMM, docs/runs-and-resume.md).
#
#   tools/signal_stress.sh [--csg ./csg] [--runs 30] [--workers "0 2 4"] [--signals "INT TERM"]
#                          [--window 10] [--malloc-check] [--keep DIR]
#
# For each signal and worker count: --runs runs, each sent its signal at a time drawn uniformly from
# [0, --window) seconds after its start. A run ignores SIGINT until csg installs its handling (a
# background job of a script starts with SIGINT ignored) and dies of either before csg's main();
# a draw that falls before csg takes the signals (seen in /proc/<pid>/status) is sent at that moment
# and counted as "early". --malloc-check loads glibc's checking allocator (libc_malloc_debug,
# glibc.malloc.check=3), which catches a corrupted heap at the next malloc or free. Prints one line
# per run, then a table; exits 1 if any run failed (its stderr is kept under --keep, or a temporary
# folder that is then left in place).
set -uo pipefail
csg=./csg runs=30 workers="0 2 4" signals="INT TERM" window=10 malloc_check=0 keep=""
while [ $# -gt 0 ]; do
  case $1 in
    --csg) csg=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --signals) signals=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --malloc-check) malloc_check=1; shift ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "signal_stress.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
csg=$(realpath "$csg")
work=${keep:-$(mktemp -d)}
mkdir -p "$work"
"$csg" make-tiny gta5 "$work/tinyseg" >/dev/null || exit 1
env_run=()
if [ "$malloc_check" = 1 ]; then
  lib=$(ls /usr/lib/*/libc_malloc_debug.so.0 2>/dev/null | head -n 1)
  [ -n "$lib" ] || { echo "signal_stress.sh: --malloc-check needs glibc's libc_malloc_debug.so.0" >&2; exit 2; }
  env_run=(env LD_PRELOAD="$lib" GLIBC_TUNABLES=glibc.malloc.check=3)
fi

# 0 once csg has taken SIGINT and SIGTERM (its handler is installed: SigCgt bits 2 and 15).
takes_signals() {
  local mask
  mask=$(awk '/^SigCgt/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$mask" ] && (( (0x$mask & 0x4002) == 0x4002 ))
}

failures=0
declare -A ok total early steps_min steps_max
for sig in $signals; do
  want=$((128 + $(kill -l "$sig")))
  for w in $workers; do
    key="SIG$sig workers=$w"
    ok[$key]=0 total[$key]=0 early[$key]=0 steps_min[$key]=999999 steps_max[$key]=0
    for ((i = 1; i <= runs; ++i)); do
      out="$work/run"
      rm -rf "$out"
      delay=$(awk -v s="$RANDOM$RANDOM" -v w="$window" 'BEGIN { srand(s); printf "%.3f", w * rand() }')
      t0=$EPOCHREALTIME
      "${env_run[@]}" "$csg" train gta5 --data "$work/tinyseg/gta5" --val-data "$work/tinyseg/cityscapes" \
        --arch deeplab18 --width 16 --weights none --batch-size 4 --queue-size 1024 --crop 64 --epochs 1 --iters-per-epoch 200 \
        --checkpoint-every 20 --workers "$w" --out "$out" >"$work/stdout.txt" 2>"$work/stderr.txt" &
      pid=$!
      until takes_signals "$pid" || ! kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
      ready=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
      wait_s=$(awk -v d="$delay" -v r="$ready" 'BEGIN { x = d - r; printf "%.3f", (x > 0 ? x : 0) }')
      awk -v d="$delay" -v r="$ready" 'BEGIN { exit !(d < r) }' && early[$key]=$((early[$key] + 1))
      sleep "$wait_s"
      kill "-$sig" "$pid" 2>/dev/null
      wait "$pid"
      status=$?
      said=$(grep -m 1 -E "^stopped by SIG$sig at step [0-9]+; resume with --resume " "$work/stderr.txt")
      ckpt=${said##*--resume }
      step=$(sed -E 's/^stopped by SIG[A-Z]+ at step ([0-9]+);.*/\1/' <<<"$said")
      verdict=ok
      if [ "$status" -ne "$want" ]; then verdict="exit $status, expected $want"
      elif [ -z "$said" ] || [ ! -f "$ckpt" ]; then verdict="no checkpoint named or on disk"
      elif grep -q -E "corrupt|malloc\(\)|free\(\)|double free|Sanitizer" "$work/stderr.txt"; then verdict="heap error reported"
      fi
      total[$key]=$((total[$key] + 1))
      if [ "$verdict" = ok ]; then
        ok[$key]=$((ok[$key] + 1))
        ((step < steps_min[$key])) && steps_min[$key]=$step
        ((step > steps_max[$key])) && steps_max[$key]=$step
      else
        failures=$((failures + 1))
        cp "$work/stderr.txt" "$work/failed-SIG$sig-w$w-$i.txt"
      fi
      printf '%s run %d: signal at %s s (csg ready at %s s): %s%s\n' "$key" "$i" "$delay" "$ready" "$verdict" \
        "${step:+, stopped at step $step}"
    done
  done
done
echo
printf '%-20s %5s %5s %6s %s\n' "case" "runs" "clean" "early" "steps at the stop (min-max)"
for sig in $signals; do
  for w in $workers; do
    key="SIG$sig workers=$w"
    printf '%-20s %5d %5d %6d %s\n' "$key" "${total[$key]}" "${ok[$key]}" "${early[$key]}" \
      "$([ "${ok[$key]}" -gt 0 ] && echo "${steps_min[$key]}-${steps_max[$key]}" || echo -)"
  done
done
if [ "$failures" -gt 0 ]; then
  echo "signal_stress.sh: $failures run(s) failed; their stderr is in $work"
  exit 1
fi
[ -n "$keep" ] || rm -rf "$work"
echo "signal_stress.sh: every run stopped cleanly with its checkpoint"
