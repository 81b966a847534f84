# csg — `make` builds build/libcsg.a and ./csg; `make test` builds and runs the GoogleTest
# suite; `make bench` runs the CPU micro-benchmarks. With nvcc present (CUDA_HOME, default
# /usr/local/cuda) the CUDA backend (cuDNN, cuBLAS, our kernels) is compiled and linked;
# without it, or with CUDA=0, the build is CPU-only. Objects go under build/.
#
#   make -j2                      # build
#   make test                     # build + run every test (GPU tests skip without a GPU)
#   make CUDA=0 test              # CPU-only build
#   make CUDNN_HOME=/path/to/cudnn  # cuDNN outside CUDA_HOME (e.g. a pip nvidia-cudnn package)

CXX        ?= g++
comma      := ,
BUILD      ?= build
CUDA_HOME  ?= /usr/local/cuda
CUDNN_HOME ?= $(CUDA_HOME)
NVCC       ?= $(firstword $(wildcard $(CUDA_HOME)/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CUDA       ?= $(if $(NVCC),1,0)
# sm_90 = H100/H200, the GPUs this project is measured on; add more with CUDA_ARCH="80 90".
CUDA_ARCH  ?= 90
OPT        ?= -O2

# OpenBLAS built on OpenMP shares our OpenMP thread pool; the pthread build's threads and
# OpenMP's spinning workers compete for the cores (measured: 2-3x slower small-model steps).
OPENBLAS_DIR ?= $(firstword $(wildcard /usr/lib/$(shell gcc -print-multiarch 2>/dev/null)/openblas-openmp))
OPENBLAS_KIND := $(if $(OPENBLAS_DIR),OpenMP,pthread: install libopenblas-openmp-dev for faster CPU training)

CPPFLAGS := -Iinclude -I. -MMD -MP
CXXFLAGS := -std=c++17 $(OPT) -g1 -fopenmp -Wall -Wextra -Wno-unused-parameter
LDLIBS   := $(if $(OPENBLAS_DIR),-L$(OPENBLAS_DIR) -Wl$(comma)-rpath$(comma)$(OPENBLAS_DIR)) -lopenblas -lz -fopenmp -pthread

ifeq ($(CUDA),1)
  ifeq ($(wildcard $(CUDNN_HOME)/include/cudnn.h),)
    $(error cudnn.h not found under $(CUDNN_HOME)/include: set CUDNN_HOME to the cuDNN install, or build with CUDA=0)
  endif
  CPPFLAGS  += -DCSG_WITH_CUDA -isystem $(CUDA_HOME)/include -isystem $(CUDNN_HOME)/include
  NVCCFLAGS := -std=c++17 $(OPT) -Xcompiler -fopenmp $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
               --expt-relaxed-constexpr -Wno-deprecated-gpu-targets
  LDLIBS    += -L$(CUDA_HOME)/lib64 -L$(CUDNN_HOME)/lib -L$(CUDNN_HOME)/lib64 \
               -Wl,-rpath,$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDNN_HOME)/lib -Wl,-rpath,$(CUDNN_HOME)/lib64 \
               -lcudnn -lcublas -lcudart
  CU_SRC    := $(wildcard kernels/*.cu)
  FEATURES  := CUDA ✓ (nvcc $(NVCC), sm_$(CUDA_ARCH)), cuDNN ✓ ($(CUDNN_HOME)), cuBLAS ✓
else
  CU_SRC    :=
  FEATURES  := CUDA ✗ (CPU-only build)
endif
BUILD_FEATURES := OpenBLAS ✓ ($(OPENBLAS_KIND)), OpenMP ✓, $(FEATURES)
$(info csg build: $(BUILD_FEATURES))

# `csg --version` and config.json name the version and the build: written to a header that is
# replaced only when its text changes, so a new commit recompiles one file.
CSG_VERSION  := 0.1.0
GIT_DESCRIBE := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)
VERSION_STAMP := $(BUILD)/version_stamp.h
VERSION_TEXT := \#define CSG_VERSION "$(CSG_VERSION)"\n\#define CSG_GIT_DESCRIBE "$(GIT_DESCRIBE)"\n\#define CSG_BUILD_FEATURES "$(subst ",',$(BUILD_FEATURES))"
$(shell mkdir -p $(BUILD) && printf '$(VERSION_TEXT)\n' > $(VERSION_STAMP).new && \
  (cmp -s $(VERSION_STAMP).new $(VERSION_STAMP) || mv $(VERSION_STAMP).new $(VERSION_STAMP)); rm -f $(VERSION_STAMP).new)
$(BUILD)/src/core/version.o: CPPFLAGS += -I$(BUILD)

LIB_SRC  := $(shell find src -name '*.cpp' ! -path 'src/cli/*' | sort)
CLI_SRC  := $(wildcard src/cli/*.cpp)
TEST_SRC := $(wildcard tests/*.cpp)
BENCH_SRC := $(wildcard tools/bench/*.cpp)

LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.cpp=$(BUILD)/%.o)
# The command line's declarations without main(): the tests check --help and the README against them.
CLI_DECL_OBJ := $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ))
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/%.o)
BENCH_BIN := $(BENCH_SRC:tools/bench/%.cpp=$(BUILD)/bench/%)

LIB := $(BUILD)/libcsg.a

.PHONY: all test bench clean
.SECONDARY:  # keep object files make would otherwise treat as intermediate (the bench objects)
all: csg

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	ar rcs $@ $^

csg: $(CLI_OBJ) $(LIB)
	$(CXX) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/csg_tests: $(TEST_OBJ) $(CLI_DECL_OBJ) $(LIB)
	$(CXX) -o $@ $(TEST_OBJ) $(CLI_DECL_OBJ) $(LIB) -lgtest $(LDLIBS)

# Reference outputs of torchvision models (tools/reference/make_model_fixtures.py), made on
# demand with Debian's python3-torch; without it the model-parity tests skip and say why.
FIXTURES := $(BUILD)/fixtures
$(FIXTURES)/VERSION: tools/reference/make_model_fixtures.py tools/reference/safetensors_io.py tools/reference/resnet_stages.py
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating model fixtures in $(FIXTURES)"; /usr/bin/python3 $< $(FIXTURES); \
	else echo "model fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

# `make test` runs everything; TEST_FILTER narrows it (a gtest filter such as 'Conv2d*').
test: $(BUILD)/csg_tests $(FIXTURES)/VERSION
	CSG_FIXTURES=$(FIXTURES) $(BUILD)/csg_tests $(if $(TEST_FILTER),--gtest_filter='$(TEST_FILTER)')

$(BUILD)/bench/%: $(BUILD)/tools/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CXX) -o $@ $< $(LIB) $(LDLIBS)

# One thread count for every benchmark and the PyTorch reference it runs beside it:
# OMP_NUM_THREADS if set, else every core (the conv2d bench prints csg, torch and their ratio).
BENCH_THREADS ?= $(or $(OMP_NUM_THREADS),$(shell nproc))
bench: $(BENCH_BIN)
	@for b in $(BENCH_BIN); do OMP_NUM_THREADS=$(BENCH_THREADS) $$b || exit 1; done

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(CPPFLAGS) $(NVCCFLAGS) -c $< -o $@

clean:
	rm -rf $(BUILD) csg

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# ---------------------------------------------------------------------------------------------
# Sanitizers and fuzzing: one CPU-only clang build in build-san/ serves both.
#
#   make asan                     # the CPU test suite under AddressSanitizer + UBSan
#   make fuzz FUZZ_SECONDS=60     # libFuzzer targets tools/fuzz/*.cpp, N seconds each
#   make fuzz-replay              # the committed fuzzer findings (data/fixtures/fuzz/) once each
#
# The library and the tests are compiled once, by this Makefile with another compiler line and
# BUILD directory, with ASan + UBSan and libFuzzer's coverage instrumentation (fuzzer-no-link);
# the test binary links without libFuzzer (the sanitizer runtime supplies the coverage hooks),
# each fuzz target links the same library with it. One build instead of two halves the cold
# time of `make asan fuzz` (the CI runs both on 2 cores).
# UBSan reports stay recoverable at compile time so that tools/fuzz/ubsan.supp can silence
# known third-party ones; halt_on_error=1 makes every other report fatal.
SAN_CXX      ?= clang++
SAN_BUILD    := build-san
SAN_FLAGS    := -fsanitize=address,undefined -fno-omit-frame-pointer
SAN_COMPILE  := $(SAN_CXX) $(SAN_FLAGS) -fsanitize=fuzzer-no-link
# -O1 keeps ASan's cost per access low; line tables alone are enough for symbolised reports.
SAN_OPT      := -O1 -gline-tables-only
ASAN_OPTIONS_RUN  ?= detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
UBSAN_OPTIONS_RUN ?= halt_on_error=1:print_stacktrace=1:suppressions=$(CURDIR)/tools/fuzz/ubsan.supp
# libFuzzer handles the deaths itself (and its own leak checks), so no abort_on_error there.
FUZZ_ASAN_OPTIONS ?= detect_leaks=1:strict_string_checks=1
# The suite runs in SAN_SHARDS processes side by side (gtest sharding).
SAN_SHARDS   ?= 2

FUZZ_SRC     := $(wildcard tools/fuzz/*.cpp)
FUZZ_BIN     := $(FUZZ_SRC:tools/fuzz/%.cpp=$(SAN_BUILD)/fuzz/%)

.PHONY: asan san-build fuzz fuzz-build fuzz-corpus fuzz-replay
# A phony step that hands the files to one sub-make (whose rules, with BUILD=$(SAN_BUILD), own them
# and track their header dependencies): the test binary and every fuzz target.
san-build:
	$(MAKE) --no-print-directory CUDA=0 BUILD=$(SAN_BUILD) OPT='$(SAN_OPT)' CXX='$(SAN_COMPILE)' \
	  $(SAN_BUILD)/csg_tests $(FUZZ_BIN)
fuzz-build: san-build

asan: san-build $(FIXTURES)/VERSION
	@CSG_FIXTURES=$(FIXTURES) ASAN_OPTIONS=$(ASAN_OPTIONS_RUN) UBSAN_OPTIONS=$(UBSAN_OPTIONS_RUN) \
	  bash tools/fuzz/run_test_shards.sh $(SAN_SHARDS) $(SAN_BUILD) $(SAN_BUILD)/csg_tests \
	  $(if $(TEST_FILTER),--gtest_filter='$(TEST_FILTER)')

FUZZ_SECONDS ?= 30
# A fixed libFuzzer seed: the same build and corpus give the same run (CI sets it; 0 = random).
FUZZ_SEED    ?= 1
# Built by the san-build sub-make (LIB is $(SAN_BUILD)/libcsg.a there); LDLIBS is CPU-only there.
$(SAN_BUILD)/fuzz/%: tools/fuzz/%.cpp tools/fuzz/fuzz_support.h $(LIB)
	@mkdir -p $(@D)
	$(SAN_CXX) -std=c++17 $(SAN_OPT) -Iinclude -I. -fsanitize=fuzzer $(SAN_FLAGS) -o $@ $< $(LIB) $(LDLIBS)

FUZZ_CORPUS  := $(SAN_BUILD)/corpus-seed
fuzz-corpus:
	/usr/bin/python3 tools/fuzz/make_corpus.py $(FUZZ_CORPUS)

# Each target runs FUZZ_SECONDS on its seed corpus $(FUZZ_CORPUS)/<target>/ (new inputs go to
# build-san/corpus-new/<target>/); crashes are written to build-san/crashes/<target>/ and
# reported with the command that replays them, and make fails if any.
fuzz: fuzz-build fuzz-corpus
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$(FUZZ_SEED) ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) \
	  UBSAN_OPTIONS=$(UBSAN_OPTIONS_RUN) bash tools/fuzz/run_fuzzers.sh $(SAN_BUILD) $(FUZZ_CORPUS) $(notdir $(FUZZ_BIN))

# Replays every committed fuzzer finding (data/fixtures/fuzz/*) once through every target; a
# report fails make.
fuzz-replay: fuzz-build
	@ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) UBSAN_OPTIONS=$(UBSAN_OPTIONS_RUN) \
	  bash tools/fuzz/replay_regressions.sh $(SAN_BUILD) data/fixtures/fuzz

# ---------------------------------------------------------------------------------------------
# The CSG training-step benchmark (tools/bench/csg_step_bench.cpp vs tools/reference/csg_step_torch.py,
# driven by tools/bench/step_bench.py; see README "GPU benchmark").
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

.PHONY: bench-gpu bench-step-cpu
bench-gpu: $(STEP_BENCH)
	$(BENCH_PYTHON) tools/bench/step_bench.py --device cuda --bench $(STEP_BENCH) --python $(BENCH_PYTHON) \
	  --tasks $(BENCH_TASKS) --precisions $(BENCH_PRECISIONS) --steps $(BENCH_STEPS) --warmup $(BENCH_WARMUP)

# Small models (ResNet-18 / dilated ResNet-18 + DeepLabv2 head, 64x64), fp32, BENCH_THREADS threads,
# with the parity check of the step on the same run.
bench-step-cpu: $(STEP_BENCH)
	OMP_NUM_THREADS=$(BENCH_THREADS) /usr/bin/python3 tools/bench/step_bench.py --device cpu --small --parity \
	  --bench $(STEP_BENCH) --python /usr/bin/python3 --tasks $(BENCH_TASKS) --precisions fp32 bf16

# Step-parity fixtures: csg_step_torch.py takes a few steps of small models from a fresh state and
# writes that state, its inputs and its losses and final weights; tests/test_step_bench_parity.cpp
# runs our step from the same state on the same inputs. Without python3-torch the test skips.
STEP_FIXTURES := $(FIXTURES)/csg_step
STEP_PARITY_visda := --task visda --arch resnet18 --image-size 64 --batch 4 --queue-size 256 --steps 4 --lr 0.01 --key-noise 0.1
STEP_PARITY_gta5  := --task gta5 --arch deeplab18 --image-size 64 --batch 2 --queue-size 512 --steps 3 --key-noise 0.1
$(STEP_FIXTURES)/VERSION: tools/reference/csg_step_torch.py tools/reference/safetensors_io.py tools/reference/resnet_stages.py
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating step-parity fixtures in $(STEP_FIXTURES)"; mkdir -p $(STEP_FIXTURES); \
	  for t in visda gta5; do \
	    args="$(STEP_PARITY_visda)"; [ $$t = gta5 ] && args="$(STEP_PARITY_gta5)"; \
	    /usr/bin/python3 $< $$args --write-init $(STEP_FIXTURES)/$${t}_init.safetensors \
	      --write-inputs $(STEP_FIXTURES)/$${t}_inputs.safetensors --dump $(STEP_FIXTURES)/$${t}_result.safetensors \
	      || exit 1; \
	  done; echo 1 > $@; \
	else echo "step-parity fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

test: $(STEP_FIXTURES)/VERSION
