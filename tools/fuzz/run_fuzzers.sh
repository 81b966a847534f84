#!/usr/bin/env bash
# tools/fuzz/run_fuzzers.sh BUILD_DIR CORPUS_DIR TARGET... — runs each libFuzzer target
# BUILD_DIR/fuzz/TARGET for FUZZ_SECONDS (default 30) with libFuzzer seed FUZZ_SEED (default 1;
# 0 = random) on CORPUS_DIR/TARGET plus the inputs it found before (BUILD_DIR/corpus-new/TARGET,
# where new ones are written), FUZZ_JOBS targets at a time (default: the number of cores), one
# OpenMP thread each. Then prints one line per target: executions, coverage, and whether it
# crashed; for a crash, the input's path and the command that reproduces it. Crash inputs go to
# BUILD_DIR/crashes/TARGET/; full logs to BUILD_DIR/logs/TARGET.log. Exits 1 if any crashed.
set -u
build=$1 corpus=$2
shift 2
seconds=${FUZZ_SECONDS:-30}
seed=${FUZZ_SEED:-1}
jobs=${FUZZ_JOBS:-$(nproc)}

fuzz_one() {  # TARGET: runs it and writes its summary to BUILD_DIR/logs/TARGET.summary
  local t=$1
  local log=$build/logs/$t.log crash_dir=$build/crashes/$t
  rm -rf "$crash_dir"
  mkdir -p "$build/corpus-new/$t" "$crash_dir" "$corpus/$t"
  # -timeout: one input running 10 s is a hang; -rss_limit_mb bounds decompression bombs.
  OMP_NUM_THREADS=1 "$build/fuzz/$t" -seed="$seed" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crash_dir/" "$build/corpus-new/$t" "$corpus/$t" >"$log" 2>&1
  local rc=$?
  local execs cov inputs what
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  mapfile -t inputs < <(find "$crash_dir" -type f | sort)
  {
    if [ "$rc" -ne 0 ] || [ "${#inputs[@]}" -ne 0 ]; then
      what=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|terminate called|deadly signal' "$log")
      printf '%-20s %10s execs  %-10s CRASH (rc %s): %s\n' "$t" "${execs:-?}" "$cov" "$rc" "$what"
      printf '    log: %s\n' "$log"
      for f in "${inputs[@]}"; do
        printf '    input: %s\n    reproduce: make fuzz-build && %s %s\n' "$f" "$build/fuzz/$t" "$f"
      done
      [ "${#inputs[@]}" -ne 0 ] || printf '    no input was written; rerun: FUZZ_SEED=%s make fuzz\n' "$seed"
    else
      printf '%-20s %10s execs  %-10s no crash\n' "$t" "${execs:-?}" "$cov"
    fi
  } >"$build/logs/$t.summary"
}

mkdir -p "$build/logs"
for t in "$@"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  echo "fuzzing $t for ${seconds}s, seed $seed (log: $build/logs/$t.log)"
  fuzz_one "$t" &
done
wait
echo "---- fuzz summary (${seconds}s per target, seed $seed) ----"
failed=0
for t in "$@"; do
  cat "$build/logs/$t.summary"
  grep -q ' CRASH ' "$build/logs/$t.summary" && failed=1
done
exit $failed
