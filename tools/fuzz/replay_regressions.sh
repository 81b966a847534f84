#!/usr/bin/env bash
# tools/fuzz/replay_regressions.sh BUILD_DIR INPUT_DIR — runs every committed fuzzer finding
# (every file in INPUT_DIR but its README) once through every target BUILD_DIR/fuzz/fuzz_*:
# each target must take any bytes, so no file needs to say which target found it. Prints one
# line per target; for a failure, the input, the report and the command that reproduces it.
# Exits 1 if any input crashed a target.
set -u
build=$1 inputs=$2
mapfile -t files < <(find "$inputs" -maxdepth 1 -type f ! -name '*.md' | sort)
mkdir -p "$build/logs"
failed=0
for bin in "$build"/fuzz/fuzz_*; do
  t=$(basename "$bin")
  bad=0
  for f in "${files[@]}"; do
    log=$build/logs/replay-$t-$(basename "$f").log
    if ! "$bin" -runs=1 "$f" >"$log" 2>&1; then
      bad=$((bad + 1)) failed=1
      echo "REPLAY CRASH: $t on $f"
      grep -m3 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|terminate called|deadly signal' "$log"
      echo "  log: $log"
      echo "  reproduce: make fuzz-build && $bin $f"
    fi
  done
  printf 'replay %-20s %d input(s), %d crash(es)\n' "$t" "${#files[@]}" "$bad"
done
exit $failed
