#!/usr/bin/env bash
# tools/fuzz/run_test_queue.sh PROCS BUILD_DIR TEST_BINARY [GTEST_ARGS...] — runs a GoogleTest binary
# as PROCS processes side by side, each taking the next test suite from one queue until it is empty:
# under the sanitizers most of the suite is single-threaded bookkeeping, so two processes keep both
# cores busy where one mostly keeps one. A queue rather than gtest's sharding (every other test to
# each process), whose fixed split left one process running two minutes after the other on the
# 2-core machine; a process per suite costs about 0.2 s to start. The suites known to take longest
# start first, so that the queue ends on short ones. Each process keeps the usual OpenMP thread
# count (the model-parity tolerances assume the same GEMM thread split as the PyTorch that wrote the
# fixtures; with OMP_NUM_THREADS=1 DeepLab50's gradients differ by 1e-2 relative), with passive
# waiting so that idle threads of one process do not spin on the cores the other needs.
# A --gtest_filter in GTEST_ARGS picks the tests; other GTEST_ARGS go to every process.
# Each suite's output goes to BUILD_DIR/logs/suite-NAME.log. Prints the number of suites and
# processes, the total ("sanitizers: N passed, N failed, N skipped"), the slowest tests, and for a
# failing suite its failures and the end of its log (where a sanitizer report is). Exits 1 if any
# suite failed.
set -u
procs=$1 build=$2 bin=$3
shift 3
# The suites that took 28-101 s each under ASan + UBSan on the 2-vCPU machine (2026-12-07; the rest took
# 22 s or less). A name no longer in the suite is passed over.
slow_first=(DigitsPipeline ModelParity StepBenchParity TrainSignal TrainVisda StepBench Models)

filter=() args=()
for a in "$@"; do
  case $a in
    --gtest_filter=*) filter=("$a") ;;
    *) args+=("$a") ;;
  esac
done
logs=$build/logs
mkdir -p "$logs"
rm -f "$logs"/suite-*.log "$logs"/suite-*.rc

# The listing: "Suite." lines, each followed by "  Test" lines (either may end in a "# ..." comment).
declare -A tests_of=()
order=()
listing=$("$bin" --gtest_list_tests "${filter[@]}" "${args[@]}") || { echo "$bin --gtest_list_tests failed" >&2; exit 1; }
while IFS= read -r line; do
  line=${line%%#*}
  line=${line%"${line##*[![:space:]]}"}
  [ -z "$line" ] && continue
  if [[ $line != " "* ]]; then
    suite=${line%.}
    order+=("$suite")
  else
    tests_of[$suite]+="${tests_of[$suite]:+:}$suite.${line##* }"
  fi
done <<<"$listing"
queue=()
for s in "${slow_first[@]}"; do [ -n "${tests_of[$s]:-}" ] && queue+=("$s"); done
for s in "${order[@]}"; do
  [[ " ${slow_first[*]} " == *" $s "* ]] || [ -z "${tests_of[$s]:-}" ] || queue+=("$s")
done
if [ ${#queue[@]} -eq 0 ]; then
  echo "no test matches ${filter[*]:-the suite}" >&2
  exit 1
fi

run_suite() {  # SUITE FILTER: one process, its output and exit status in the logs
  local log=$logs/suite-${1//\//_}.log
  OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} "$bin" --gtest_print_time=1 --gtest_filter="$2" "${args[@]}" >"$log" 2>&1
  echo $? >"${log%.log}.rc"
}
# PROCS workers, each taking the next suite; a lock keeps two from taking the same one.
next=$logs/queue.next
echo 0 >"$next"
worker() {
  local i
  while true; do
    i=$(flock "$next" bash -c 'i=$(<"$0"); echo $((i + 1)) >"$0"; echo "$i"' "$next")
    [ "$i" -lt ${#queue[@]} ] || return 0
    run_suite "${queue[$i]}" "${tests_of[${queue[$i]}]}"
  done
}
pids=()
for ((p = 0; p < procs; ++p)); do
  worker &
  pids+=($!)
done
wait "${pids[@]}"
rm -f "$next"

failed=0 passed_all=0 failed_all=0 skipped_all=0
for s in "${queue[@]}"; do
  log=$logs/suite-${s//\//_}.log
  rc=$(cat "${log%.log}.rc" 2>/dev/null || echo "none")
  line=$(grep -E '^tests: [0-9]+ passed' "$log" 2>/dev/null | tail -1)
  if [[ $line =~ ^tests:\ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
    ((passed_all += BASH_REMATCH[1], failed_all += BASH_REMATCH[2], skipped_all += BASH_REMATCH[3]))
  fi
  if [ "$rc" != 0 ] || [ -z "$line" ]; then
    failed=1
    echo "suite $s failed (rc $rc): ${line:-no summary line: the process died, see below} (log: $log)"
    grep -E '^\[  FAILED  \]' "$log" | sort -u
    running=$(grep -E '^\[ RUN      \]' "$log" | tail -1)
    echo "---- last test started in $s: ${running#*] } ; end of its log:"
    tail -n 60 "$log"
    echo "---- reproduce: $bin --gtest_filter='${running#*] }'"
  fi
done
echo "${#queue[@]} suites in $procs processes side by side"
# The plain closing line a CI log reader counts ("word: N passed, N failed, N skipped").
echo "sanitizers: $passed_all passed, $failed_all failed, $skipped_all skipped"
echo "slowest tests:"
cat "$logs"/suite-*.log | sed -n 's/^\[       OK \] \(.*\) (\([0-9]*\) ms)$/\2 \1/p' | sort -rn | head -n 8 |
  awk '{ printf "  %7.1f s  %s\n", $1 / 1000, $2 }'
exit $failed
