#!/usr/bin/env bash
# tools/fuzz/run_fuzzers.sh BUILD_DIR CORPUS_DIR TARGET... — runs each libFuzzer target
# BUILD_DIR/fuzz/TARGET for FUZZ_SECONDS (default 30) on CORPUS_DIR/TARGET plus the inputs it
# found before (BUILD_DIR/corpus-new/TARGET, where new ones are written), then prints one line
# per target: executions, corpus size, and whether it crashed. Crash inputs go to
# BUILD_DIR/crashes/TARGET/; full logs to BUILD_DIR/logs/TARGET.log. Exits 1 if any crashed.
set -u
build=$1 corpus=$2
shift 2
seconds=${FUZZ_SECONDS:-30}
failed=0
summary=()
for t in "$@"; do
  mkdir -p "$build/corpus-new/$t" "$build/crashes/$t" "$build/logs" "$corpus/$t"
  log=$build/logs/$t.log
  echo "fuzzing $t for ${seconds}s (log: $log)"
  # -timeout: one input running 10 s is a hang; -rss_limit_mb bounds decompression bombs.
  "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/crashes/$t/" "$build/corpus-new/$t" "$corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  crashes=$(find "$build/crashes/$t" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    what=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|terminate called|==ERROR' "$log")
    summary+=("$(printf '%-20s %10s execs  %-10s CRASH (rc %s, %s file(s) in %s): %s' "$t" "${execs:-?}" "$cov" "$rc" "$crashes" "$build/crashes/$t" "$what")")
  else
    summary+=("$(printf '%-20s %10s execs  %-10s no crash' "$t" "${execs:-?}" "$cov")")
  fi
done
echo "---- fuzz summary (${seconds}s per target) ----"
printf '%s\n' "${summary[@]}"
exit $failed
