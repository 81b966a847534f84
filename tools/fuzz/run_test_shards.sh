#!/usr/bin/env bash
# tools/fuzz/run_test_shards.sh SHARDS BUILD_DIR TEST_BINARY [GTEST_ARGS...] — runs a GoogleTest
# binary as SHARDS processes side by side (GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX): under the
# sanitizers most of the suite is single-threaded bookkeeping, so two processes keep both cores
# busy where one mostly keeps one. Each keeps the usual OpenMP thread count (the model-parity
# tolerances assume the same GEMM thread split as the PyTorch that wrote the fixtures; with
# OMP_NUM_THREADS=1 DeepLab50's gradients differ by 1e-2 relative), with passive waiting so that
# idle threads of one process do not spin on the cores the other needs.
# Each shard's output goes to BUILD_DIR/logs/tests-shard-I.log. Prints each shard's summary line,
# the total ("sanitizers: N passed, N failed, N skipped"), the slowest tests, and for a failing shard its failures and the end of its log
# (where a sanitizer report is). Exits 1 if any shard failed.
set -u
shards=$1 build=$2 bin=$3
shift 3
mkdir -p "$build/logs"
pids=()
for ((i = 0; i < shards; ++i)); do
  GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} \
    "$bin" --gtest_print_time=1 "$@" >"$build/logs/tests-shard-$i.log" 2>&1 &
  pids+=($!)
done
failed=0 passed_all=0 failed_all=0 skipped_all=0
for ((i = 0; i < shards; ++i)); do
  wait "${pids[$i]}"
  rc=$?
  log=$build/logs/tests-shard-$i.log
  line=$(grep -E '^tests: [0-9]+ passed' "$log" | tail -1)
  echo "shard $i/$shards (rc $rc): ${line:-no summary line: the process died, see below} (log: $log)"
  if [[ $line =~ ^tests:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
    ((passed_all += BASH_REMATCH[1], failed_all += BASH_REMATCH[2], skipped_all += BASH_REMATCH[3]))
  fi
  if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
    failed=1
    grep -E '^\[  FAILED  \]' "$log" | sort -u
    running=$(grep -E '^\[ RUN      \]' "$log" | tail -1)
    echo "---- last test started in shard $i: ${running#*] } ; end of its log:"
    tail -n 60 "$log"
    echo "---- reproduce: GTEST_TOTAL_SHARDS=$shards GTEST_SHARD_INDEX=$i $bin, or $bin --gtest_filter='${running#*] }'"
  fi
done
# The plain closing line a CI log reader counts ("word: N passed, N failed, N skipped").
echo "sanitizers: $passed_all passed, $failed_all failed, $skipped_all skipped"
echo "slowest tests:"
cat "$build"/logs/tests-shard-*.log | sed -n 's/^\[       OK \] \(.*\) (\([0-9]*\) ms)$/\2 \1/p' | sort -rn | head -n 8 |
  awk '{ printf "  %7.1f s  %s\n", $1 / 1000, $2 }'
exit $failed
