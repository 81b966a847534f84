#!/usr/bin/env bash
# tools/gpu-check.sh — the first thing to run on a fresh GPU machine (nvcc 13, PyTorch as
# python3). Stages, each time-boxed so that the whole stays under 9 minutes:
#
#   build      make -j (CUDNN_HOME found in the CUDA toolkit or in PyTorch's nvidia.cudnn wheel)
#   test       CSG_REQUIRE_GPU=1 make test: every CUDA test must run (a skip is a failure); the
#              BF16 tests' lines (--precision bf16 on CUDA, never run on a GPU before) are printed
#   memcheck   compute-sanitizer --tool memcheck on the CUDA tests (gtest filter below)
#   racecheck  compute-sanitizer --tool racecheck on the same tests
#   reduce     build/bench/reduce_bench: the CUB-based row sums, argmax and cross-entropy vs PyTorch
#   bench      make bench-gpu BENCH_TASKS=visda BENCH_PRECISIONS=tf32 (ours vs PyTorch eager/compile)
#
# It prints one summary line per stage (`gpu-check <stage> PASS|FAIL|SKIP <seconds>s`) and
# exits non-zero if any stage failed. Logs go to $GPU_CHECK_LOGS (default build/gpu-check/).
# Without a GPU it stops at once and says why. Usage: bash tools/gpu-check.sh
set -u
cd "$(dirname "$0")/.."

LOGS=${GPU_CHECK_LOGS:-build/gpu-check}
TOTAL_BUDGET=${GPU_CHECK_BUDGET:-530}  # seconds for every stage together
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
JOBS=${JOBS:-$(nproc)}
# The CUDA tests for the sanitizers: our kernels' tests, without the whole-training ones and
# cuDNN's convolutions (too slow under the sanitizers for the time box; the BF16 cast kernels
# stay in, the BF16 convolutions do not) and without the CPU-side checks of the CUDA path.
SAN_FILTER=${SAN_FILTER:-'*Cuda*:-CudaTraining.*:CudaStatus.*:CudaRuntime.*:CudaBuild.*:Conv2d.*:CudaBf16Conv2d.*'}

# ---- no GPU: stop before building anything ----------------------------------------------------
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu-check: no NVIDIA GPU here (nvidia-smi missing or it lists no device); nothing to check." >&2
  echo "gpu-check: run this on the GPU machine; on a CPU machine use make test." >&2
  exit 2
fi
nvidia-smi -L
NVCC="$CUDA_HOME/bin/nvcc"
if [ ! -x "$NVCC" ]; then
  echo "gpu-check: nvcc not found at $NVCC: set CUDA_HOME to the CUDA toolkit" >&2
  exit 2
fi

# ---- cuDNN: the toolkit's, else the one bundled with PyTorch (pip nvidia-cudnn-cu*) -------------
if [ -z "${CUDNN_HOME:-}" ]; then
  if [ -f "$CUDA_HOME/include/cudnn.h" ]; then
    CUDNN_HOME=$CUDA_HOME
  else
    CUDNN_HOME=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))' 2>/dev/null \
      || python3 -c 'import nvidia.cudnn; print(list(nvidia.cudnn.__path__)[0])' 2>/dev/null || true)
  fi
fi
if [ -z "${CUDNN_HOME:-}" ] || [ ! -f "$CUDNN_HOME/include/cudnn.h" ]; then
  echo "gpu-check: cudnn.h not found in $CUDA_HOME/include nor in python3's nvidia.cudnn package:" \
       "set CUDNN_HOME to a cuDNN 9 install" >&2
  exit 2
fi
# PyTorch's wheel ships libcudnn.so.9 without the unversioned name the linker looks for.
if [ ! -e "$CUDNN_HOME/lib/libcudnn.so" ] && [ -e "$CUDNN_HOME/lib/libcudnn.so.9" ]; then
  LINK_DIR="$PWD/build/cudnn-link"
  mkdir -p "$LINK_DIR"
  ln -sf "$CUDNN_HOME/lib/libcudnn.so.9" "$LINK_DIR/libcudnn.so"
  export LIBRARY_PATH="$LINK_DIR${LIBRARY_PATH:+:$LIBRARY_PATH}"
fi
export LD_LIBRARY_PATH="$CUDNN_HOME/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "gpu-check: CUDA_HOME=$CUDA_HOME CUDNN_HOME=$CUDNN_HOME, $JOBS jobs, budget ${TOTAL_BUDGET}s"

# ---- stages ------------------------------------------------------------------------------------
mkdir -p "$LOGS"
START=$(date +%s)
FAILED=0
SUMMARY=()

# run_stage NAME BOX_SECONDS COMMAND...: runs the command under `timeout` (at most BOX seconds,
# and no more than what is left of the budget), logs to $LOGS/NAME.log, records the summary line.
run_stage() {
  local name=$1 box=$2
  shift 2
  local left=$((TOTAL_BUDGET - ($(date +%s) - START)))
  if [ "$left" -lt 10 ]; then
    SUMMARY+=("gpu-check $name SKIP 0s (budget spent)")
    FAILED=1
    return 1
  fi
  [ "$box" -gt "$left" ] && box=$left
  echo "gpu-check: $name (at most ${box}s) -> $LOGS/$name.log"
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=10 "$box" "$@" >"$LOGS/$name.log" 2>&1
  rc=$?
  local secs=$(($(date +%s) - t0)) verdict=PASS note=""
  if [ $rc -ne 0 ]; then
    verdict=FAIL
    FAILED=1
    [ $rc -eq 124 ] && note=" (timed out after ${box}s)"
    tail -n 25 "$LOGS/$name.log"
  fi
  SUMMARY+=("gpu-check $name $verdict ${secs}s$note")
  echo "${SUMMARY[-1]}"
  return $rc
}

MAKE_ARGS=(CUDA_HOME="$CUDA_HOME" CUDNN_HOME="$CUDNN_HOME")
if run_stage build 200 make -j"$JOBS" "${MAKE_ARGS[@]}" all build/csg_tests build/bench/reduce_bench; then
  ./csg info | tee "$LOGS/info.log"  # the device, the driver's and the runtime's CUDA versions
  run_stage test 130 env CSG_REQUIRE_GPU=1 make "${MAKE_ARGS[@]}" test
  grep -E '^\[ +(OK|FAILED|SKIPPED) +\] (Bf16Rounding|CudaBf16|ConvolutionPrecision|CudaTraining\.Bf16)' \
    "$LOGS/test.log" 2>/dev/null
  SANITIZER="$CUDA_HOME/bin/compute-sanitizer"
  if [ -x "$SANITIZER" ]; then
    for tool in memcheck racecheck; do
      run_stage "$tool" 45 env CSG_REQUIRE_GPU=1 CSG_FIXTURES=build/fixtures "$SANITIZER" --tool "$tool" \
        --error-exitcode 3 build/csg_tests --gtest_filter="$SAN_FILTER"
    done
  else
    SUMMARY+=("gpu-check memcheck FAIL 0s (no $SANITIZER)" "gpu-check racecheck FAIL 0s (no $SANITIZER)")
    FAILED=1
  fi
  run_stage reduce 20 build/bench/reduce_bench --python python3
  grep '^reduce ' "$LOGS/reduce.log" 2>/dev/null
  run_stage bench 90 make "${MAKE_ARGS[@]}" bench-gpu BENCH_TASKS=visda BENCH_PRECISIONS=tf32 BENCH_PYTHON=python3
  grep '^step-bench\|ours/' "$LOGS/bench.log" 2>/dev/null | tail -n 12
fi

echo "---- gpu-check summary ($(($(date +%s) - START))s in all; logs in $LOGS) ----"
printf '%s\n' "${SUMMARY[@]}"
exit $FAILED
