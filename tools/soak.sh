#!/usr/bin/env bash
# tools/soak.sh — the long test, outside `make test` (`make soak` runs it): a tiny VisDA run of
# 20,000 steps with a checkpoint every 100, alone and under `mpirun -np 2`, while the resident
# memory and open file descriptors of every training process and the size of the run folder are
# sampled. It fails when memory or descriptors grow, or when the run folder grows by more than
# its logs (log.csv and the TensorBoard events file gain a row per --log-every steps; the
# checkpoints are pruned to --keep-checkpoints, so everything else must stay flat).
#
#   bash tools/soak.sh [--steps 20000] [--csg ./csg] [--out DIR] [--modes "single mpi"] [--interval 2]
#
# Writes DIR/samples.csv (mode, seconds, step, rank, rss_kb, fds, checkpoint_bytes, log_bytes,
# folder_bytes) and prints one line per process: each figure's lowest..highest sample over the
# first third of the run after warm-up -> over the last third ("other_bytes": the run folder
# less its logs and checkpoints).
set -euo pipefail

steps=20000
csg=./csg
out=""
modes="single mpi"
interval=2
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift 2 ;;
    --csg) csg=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    --interval) interval=$2; shift 2 ;;
    *) echo "tools/soak.sh: unknown argument $1 (see the comment at the top)" >&2; exit 2 ;;
  esac
done
csg=$(realpath "$csg")
[ -x "$csg" ] || { echo "tools/soak.sh: $csg is not an executable csg (make first)" >&2; exit 2; }
[ -n "$out" ] || out=$(mktemp -d /tmp/csg-soak.XXXXXX)
mkdir -p "$out"
samples="$out/samples.csv"
echo "mode,seconds,step,rank,rss_kb,fds,checkpoint_bytes,log_bytes,folder_bytes" > "$samples"

"$csg" make-tiny visda "$out/tiny" > /dev/null
# The model is tiny on purpose (ResNet-18 at width 4, 16 px): the test is about what accumulates
# over many steps and checkpoints, and 20,000 steps must take minutes.
args=(train visda --data "$out/tiny" --arch resnet18 --width 4 --image-size 16 --batch-size 8 --queue-size 64
      --embed-dim 8 --layers 4 --warmup 0 --max-steps "$steps" --checkpoint-every 100 --keep-checkpoints 3
      --log-every 100 --no-eval --quiet --workers 2)

# Every process below $1 (its children, theirs, ...) whose command is csg.
csg_processes() {
  local pid=$1 child
  if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = "csg" ]; then echo "$pid"; fi
  for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do csg_processes "$child"; done
  return 0
}

bytes_of() {  # the total size of the files named, 0 when none
  local total=0 f
  for f in "$@"; do
    if [ -f "$f" ]; then total=$((total + $(stat -c %s "$f" 2>/dev/null || echo 0))); fi
  done
  echo "$total"
}

for mode in $modes; do
  run="$out/$mode"
  rm -rf "$run"
  case "$mode" in
    single) OMP_NUM_THREADS=1 "$csg" "${args[@]}" --out "$run" > "$out/$mode.log" 2>&1 & ;;
    mpi) mpirun --allow-run-as-root --oversubscribe -np 2 -x OMP_NUM_THREADS=1 "$csg" "${args[@]}" --out "$run" \
           > "$out/$mode.log" 2>&1 & ;;
    *) echo "tools/soak.sh: mode $mode: single or mpi" >&2; exit 2 ;;
  esac
  launcher=$!
  trap 'kill "$launcher" 2>/dev/null || true' EXIT  # a failing script leaves no run behind
  start=$(date +%s)
  echo "soak: $mode, $steps steps, run folder $run" >&2
  while kill -0 "$launcher" 2>/dev/null; do
    sleep "$interval"
    step=$(tail -n 1 "$run/log.csv" 2>/dev/null | cut -d, -f1 || true)
    case "$step" in ''|*[!0-9]*) continue ;; esac
    ckpt=$(bytes_of "$run"/csg-*.ckpt*)
    logs=$(bytes_of "$run"/log.csv "$run"/events.out.tfevents.*)
    folder=$(du -sb "$run" 2>/dev/null | cut -f1 || true)
    rank=0
    for pid in $(csg_processes "$launcher"); do
      rss=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null) || continue
      fds=$(ls /proc/"$pid"/fd 2>/dev/null | wc -l || true)
      [ -n "$rss" ] && echo "$mode,$(( $(date +%s) - start )),$step,$rank,$rss,$fds,$ckpt,$logs,$folder" >> "$samples"
      rank=$((rank + 1))
    done
  done
  if ! wait "$launcher"; then
    echo "tools/soak.sh: the $mode run failed; its output is in $out/$mode.log" >&2
    tail -n 5 "$out/$mode.log" >&2
    exit 1
  fi
  trap - EXIT
  echo "soak: $mode done in $(( $(date +%s) - start )) s" >&2
done

# Flat means: over the last third of the run (by step) neither the lowest nor the highest sample of
# a figure exceeds its counterpart over the first third after warm-up (the first 10% of the
# steps, at least 400: pruning starts at the fourth checkpoint). A leak raises the lowest samples;
# a checkpoint being written adds a moment's file descriptor and temporary file to the highest
# ones, which get an allowance for it (2 descriptors, one checkpoint file); resident memory gets
# 1% or 2 MB either way for the allocator's noise. The logs may grow; the rest of the folder may not.
/usr/bin/python3 - "$samples" "$steps" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
steps = int(sys.argv[2])
failed = False
for mode in sorted({r["mode"] for r in rows}):
    for rank in sorted({r["rank"] for r in rows if r["mode"] == mode}):
        warm = max(steps // 10, 400)  # past the third checkpoint, when pruning starts
        rs = [r for r in rows if r["mode"] == mode and r["rank"] == rank and int(r["step"]) >= warm]
        if len(rs) < 6:
            print(f"{mode} rank {rank}: only {len(rs)} samples after warm-up; run longer")
            failed = True
            continue
        third = len(rs) // 3
        first, last = rs[:third], rs[-third:]
        for r in rs:
            r["other_bytes"] = int(r["folder_bytes"]) - int(r["log_bytes"]) - int(r["checkpoint_bytes"])
        checkpoint = min(int(r["checkpoint_bytes"]) for r in rs) // 3  # --keep-checkpoints 3
        rss_noise = max(max(int(r["rss_kb"]) for r in first) // 100, 2048)  # the allocator's
        # (lowest, highest); a checkpoint's size moves by a few bytes with the digits of its metadata
        allowance = {"rss_kb": (rss_noise, rss_noise), "fds": (0, 2),
                     "checkpoint_bytes": (checkpoint // 100, checkpoint), "other_bytes": (4096, checkpoint)}
        parts, ok = [], True
        for key, unit, scale in [("rss_kb", " MB", 1024), ("fds", "", 1), ("checkpoint_bytes", " MB", 1e6),
                                 ("other_bytes", " MB", 1e6)]:
            lo0, hi0 = min(int(r[key]) for r in first), max(int(r[key]) for r in first)
            lo1, hi1 = min(int(r[key]) for r in last), max(int(r[key]) for r in last)
            flat = lo1 <= lo0 + allowance[key][0] and hi1 <= hi0 + allowance[key][1]
            ok &= flat
            show = (lambda v: str(v)) if scale == 1 else (lambda v: f"{v / scale:.2f}")
            parts.append(f"{key} {show(lo0)}..{show(hi0)} -> {show(lo1)}..{show(hi1)}{unit}"
                         + ("" if flat else " GROWS"))
        log_growth = (int(last[-1]["log_bytes"]) - int(first[0]["log_bytes"])) / max(
            1, int(last[-1]["step"]) - int(first[0]["step"])) * 1000
        failed |= not ok
        print(f"{mode} rank {rank}: steps {first[0]['step']}-{last[-1]['step']}, {len(rs)} samples: "
              + "; ".join(parts) + f"; logs +{log_growth:.0f} bytes per 1000 steps: {'flat' if ok else 'GROWS'}")
sys.exit(1 if failed else 0)
EOF
