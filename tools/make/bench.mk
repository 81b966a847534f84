# tools/make/bench.mk — the benchmarks: `make bench` (CPU micro-benchmarks against PyTorch),
# bench-infer (against ONNX Runtime and PyTorch), bench-step-cpu and bench-gpu (the training step).

$(BUILD)/bench/%: $(BUILD)/tools/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CXX) -o $@ $< $(LIB) $(LDLIBS)

# One thread count for every benchmark and the PyTorch reference it runs beside it:
# OMP_NUM_THREADS if set, else every core (the conv2d bench prints csg, torch and their ratio).
BENCH_THREADS ?= $(or $(OMP_NUM_THREADS),$(shell nproc))
bench: $(BENCH_BIN)
	@for b in $(BENCH_BIN); do OMP_NUM_THREADS=$(BENCH_THREADS) $$b || exit 1; done

# The CSG training-step benchmark (tools/bench/csg_step_bench.cpp vs tools/reference/csg_step_torch.py,
# driven by tools/bench/step_bench.py; see docs/gpu.md#the-gpu-benchmark).
#
#   make bench-gpu                 # on a CUDA machine: ours vs PyTorch eager vs torch.compile
#   make bench-step-cpu            # the same comparison on the CPU at a small size
#
# BENCH_PYTHON is the interpreter with torch for the PyTorch side (the GPU machine's python3 has
# torch 2.x; here Debian's /usr/bin/python3 has torch 1.13, CPU only).
BENCH_PYTHON     ?= python3
BENCH_PRECISIONS ?= tf32 bf16
BENCH_TASKS      ?= visda gta5
BENCH_STEPS      ?= 20
BENCH_WARMUP     ?= 5
STEP_BENCH       := $(BUILD)/bench/csg_step_bench

# Inference: csg's compiled network (tools/bench/infer_bench.cpp) vs ONNX Runtime's CPU library
# (tools/onnx/ort_run.js, on the file `csg export --format onnx` writes) and PyTorch eager under
# torch.no_grad() (tools/bench/infer_torch.py), the same random weights (written once to
# $(BUILD)/bench-infer) and BENCH_THREADS threads, BENCH_INFER_ROUNDS rounds with the sides
# alternated; ResNet-50/101 at 224 px (batch 1, 16) and DeepLabv2-ResNet-101 at 512x1024.
# BENCH_INFER_ONLY=resnet50 narrows it. ONNX Runtime comes from `make ort` (docs/onnx.md).
# OpenBLAS 0.3.21 falls back to its SSE3 (Prescott) GEMM on CPUs it does not know (Zen 5, Emerald
# Rapids); OPENBLAS_CORETYPE picks the kernels the CPU's flags allow unless it is set already.
BENCH_CORETYPE := $(or $(OPENBLAS_CORETYPE),$(if $(shell grep -m1 -ow avx512f /proc/cpuinfo 2>/dev/null),SkylakeX,$(if $(shell grep -m1 -ow avx2 /proc/cpuinfo 2>/dev/null),Haswell)))
BENCH_INFER_ROUNDS ?= 3
# passive: every engine's waiting threads sleep at once (OMP_WAIT_POLICY=PASSIVE, ORT without spinning)
BENCH_INFER_WAIT ?= default
.PHONY: bench-infer ort
bench-infer: $(BUILD)/bench/infer_bench $(CLI) ort
	$(if $(BENCH_CORETYPE),OPENBLAS_CORETYPE=$(BENCH_CORETYPE)) /usr/bin/python3 tools/bench/infer_compare.py --bench $(BUILD)/bench/infer_bench \
	  --csg $(abspath $(CLI)) --weights $(BUILD)/bench-infer --threads $(BENCH_THREADS) --rounds $(BENCH_INFER_ROUNDS) --wait $(BENCH_INFER_WAIT) \
	  $(if $(BENCH_INFER_ONLY),--only $(BENCH_INFER_ONLY))

# ONNX Runtime for the ONNX tests and bench-infer: the npm package onnxruntime-node, pinned, into
# data/generated/onnxruntime (tools/onnx/install-ort.sh; seconds; not a dependency of csg). `make test`
# runs the ONNX Runtime parity tests when it is there and skips them, naming this target, when not.
ort:
	bash tools/onnx/install-ort.sh

.PHONY: bench-gpu bench-step-cpu
bench-gpu: $(STEP_BENCH)
	$(BENCH_PYTHON) tools/bench/step_bench.py --device cuda --bench $(STEP_BENCH) --python $(BENCH_PYTHON) \
	  --tasks $(BENCH_TASKS) --precisions $(BENCH_PRECISIONS) --steps $(BENCH_STEPS) --warmup $(BENCH_WARMUP)

# BENCH_STEP_SHAPES picks the shapes (both: "small paper"):
#   small  ResNet-18 / dilated ResNet-18 + DeepLabv2 head at 64x64, fp32 and bf16, with the parity check
#          of the step on the same run; three rounds of 10 timed steps after 2 (a few minutes);
#   paper  the paper's inputs: VisDA ResNet-50 at 224 px batch 8 and GTA5 DeepLabv2-ResNet-101 at
#          512x512 batch 1, BENCH_STEP_PAPER_PRECISIONS (fp32), three rounds of BENCH_STEP_PAPER_STEPS
#          timed steps after BENCH_STEP_PAPER_WARMUP (3: both sides' GTA5 steps settle over the first
#          three, docs/onnx.md) (on 2 loaded vCPUs, with 1 warm-up step: 57 min with spinning waits, 17
#          with BENCH_STEP_WAIT=passive).
# BENCH_THREADS threads; ours and PyTorch alternated, the median of the per-round ratios reported
# (the speed of this shared VM moved by half between back-to-back runs of one binary); each step's
# GFLOP/s beside the machine's measured peak (build/bench/sgemm_peak, before and after, same run).
# BENCH_STEP_WAIT=passive: both sides' OpenMP threads sleep at once when they wait (OMP_WAIT_POLICY=PASSIVE),
# for a machine whose cores other work shares (docs/onnx.md, "Where the time goes").
BENCH_STEP_SHAPES ?= small
BENCH_STEP_WAIT ?= default
STEP_BENCH_ENV = OMP_NUM_THREADS=$(BENCH_THREADS) $(if $(filter passive,$(BENCH_STEP_WAIT)),OMP_WAIT_POLICY=PASSIVE)
BENCH_STEP_PAPER_STEPS ?= 2
BENCH_STEP_PAPER_WARMUP ?= 3
BENCH_STEP_PAPER_PRECISIONS ?= fp32
bench-step-cpu: $(STEP_BENCH) $(BUILD)/bench/sgemm_peak
	$(if $(filter small,$(BENCH_STEP_SHAPES)),$(STEP_BENCH_ENV) /usr/bin/python3 tools/bench/step_bench.py --device cpu --small --parity \
	  --bench $(STEP_BENCH) --peak-bench $(BUILD)/bench/sgemm_peak --python /usr/bin/python3 --tasks $(BENCH_TASKS) \
	  --precisions fp32 bf16 --steps 10 --warmup 2 --rounds 3)
	$(if $(filter paper,$(BENCH_STEP_SHAPES)),$(STEP_BENCH_ENV) /usr/bin/python3 tools/bench/step_bench.py --device cpu --paper \
	  --bench $(STEP_BENCH) --peak-bench $(BUILD)/bench/sgemm_peak --python /usr/bin/python3 --tasks $(BENCH_TASKS) \
	  --precisions $(BENCH_STEP_PAPER_PRECISIONS) --steps $(BENCH_STEP_PAPER_STEPS) --warmup $(BENCH_STEP_PAPER_WARMUP) --rounds 3 --no-compile --timeout 3600)
