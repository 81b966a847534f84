# csg — `make` builds build/libcsg.a and ./csg; `make test` builds and runs the GoogleTest
# suite; `make bench` runs the CPU micro-benchmarks. With nvcc present (CUDA_HOME, default
# /usr/local/cuda) the CUDA backend (cuDNN, cuBLAS, our kernels) is compiled and linked;
# without it, or with CUDA=0, the build is CPU-only. Objects go under build/.
#
#   make -j2                      # build
#   make test                     # build + run every test (GPU tests skip without a GPU)
#   make CUDA=0 test              # CPU-only build
#   make JPEG=0                   # stb_image decodes JPEG even where libjpeg-turbo is installed
#   make CUDNN_HOME=/path/to/cudnn  # cuDNN outside CUDA_HOME (e.g. a pip nvidia-cudnn package)
#   make CUDA_ARCH=86             # GPU architectures (default: this machine's GPU, else V100..H100; docs/building.md)
#   make DNNL=0                   # without oneDNN: f32 CPU convolutions and GEMMs on im2col + OpenBLAS
#   make ONNX=0                   # without csg export --format onnx (libonnx-dev, libprotobuf-dev)

CXX        ?= g++
comma      := ,
BUILD      ?= build
CUDA_HOME  ?= /usr/local/cuda
CUDNN_HOME ?= $(CUDA_HOME)
NVCC       ?= $(firstword $(wildcard $(CUDA_HOME)/bin/nvcc) $(shell command -v nvcc 2>/dev/null))
CUDA       ?= $(if $(NVCC),1,0)
OPT        ?= -O2

# OpenBLAS built on OpenMP shares our OpenMP thread pool; the pthread build's threads and
# OpenMP's spinning workers compete for the cores (measured: 2-3x slower small-model steps).
OPENBLAS_DIR ?= $(firstword $(wildcard /usr/lib/$(shell gcc -print-multiarch 2>/dev/null)/openblas-openmp))
OPENBLAS_KIND := $(if $(OPENBLAS_DIR),OpenMP,pthread: install libopenblas-openmp-dev for faster CPU training)

CPPFLAGS := -Iinclude -I. -MMD -MP
# -fPIC: the same objects go into libcsg.a and the shared libcsg.so.
CXXFLAGS := -std=c++17 $(OPT) -g1 -fopenmp -fPIC -Wall -Wextra -Wno-unused-parameter
LDLIBS   := $(if $(OPENBLAS_DIR),-L$(OPENBLAS_DIR) -Wl$(comma)-rpath$(comma)$(OPENBLAS_DIR)) -lopenblas -lz -fopenmp -pthread

# oneDNN (libdnnl-dev) runs the f32 CPU convolutions and GEMMs with kernels picked from the CPU's
# feature flags at run time; double stays on im2col + OpenBLAS (oneDNN has no f64). Debian's
# libdnnl is built on GNU OpenMP, the runtime g++ -fopenmp links: one thread pool for both.
DNNL_HOME ?= /usr
DNNL      ?= $(if $(wildcard $(DNNL_HOME)/include/oneapi/dnnl/dnnl.hpp),1,0)
ifeq ($(DNNL),1)
  ifeq ($(wildcard $(DNNL_HOME)/include/oneapi/dnnl/dnnl.hpp),)
    $(error oneapi/dnnl/dnnl.hpp not found under $(DNNL_HOME)/include: install libdnnl-dev or build with DNNL=0)
  endif
  CPPFLAGS += -DCSG_WITH_DNNL $(if $(filter /usr,$(DNNL_HOME)),,-isystem $(DNNL_HOME)/include)
  LDLIBS   += $(if $(filter /usr,$(DNNL_HOME)),,-L$(DNNL_HOME)/lib -Wl$(comma)-rpath$(comma)$(DNNL_HOME)/lib) -ldnnl
  DNNL_FEATURE := oneDNN ✓
else
  DNNL_FEATURE := oneDNN ✗ (f32 CPU convolutions on im2col + OpenBLAS)
endif

# The GPU architectures (docs/building.md): CUDA_ARCH="86" (or "80 90") builds for those; without
# it, for the GPUs this machine has (nvidia-smi, else CUDA's __nvcc_device_query); without a GPU,
# for CUDA_ARCH_LIST (V100 .. H100) less the ones this nvcc no longer compiles (CUDA 13 dropped
# sm_70). SASS is emitted for each architecture and PTX for the newest one, which the driver
# compiles for any later GPU (without it a newer GPU fails with "no kernel image").
CUDA_ARCH_LIST := 70 75 80 86 89 90
ifeq ($(CUDA),1)
  # What this nvcc compiles for (empty where nvcc is too old to list it: then nothing is left out).
  NVCC_ARCHS := $(shell $(NVCC) --list-gpu-code 2>/dev/null | sed -n 's/^sm_\([0-9]*\)$$/\1/p')
  nvcc_lacks = $(if $(NVCC_ARCHS),$(filter-out $(NVCC_ARCHS),$(1)))
  ifeq ($(origin CUDA_ARCH),undefined)
    CUDA_ARCH_GPUS := $(shell (nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null || \
                        $(dir $(NVCC))__nvcc_device_query 2>/dev/null) | tr -d ' .' | tr ',' '\n' | grep -E '^[0-9]+$$' | sort -nu)
    ifneq ($(CUDA_ARCH_GPUS),)
      CUDA_ARCH := $(CUDA_ARCH_GPUS)
      CUDA_ARCH_FROM := the GPU of this machine
    else
      CUDA_ARCH := $(filter-out $(call nvcc_lacks,$(CUDA_ARCH_LIST)),$(CUDA_ARCH_LIST))
      CUDA_ARCH_FROM := no GPU here: the default list$(foreach a,$(call nvcc_lacks,$(CUDA_ARCH_LIST)), less sm_$(a) (not in this nvcc))
    endif
  else
    CUDA_ARCH_FROM := CUDA_ARCH
  endif
  ifneq ($(call nvcc_lacks,$(CUDA_ARCH)),)
    $(error $(foreach a,$(call nvcc_lacks,$(CUDA_ARCH)),sm_$(a)) ($(CUDA_ARCH_FROM)) is not one $(NVCC) compiles for (it knows $(NVCC_ARCHS)): point CUDA_HOME at a CUDA toolkit that does (CUDA 12 for sm_70, V100), pick others with CUDA_ARCH="...", or build with CUDA=0)
  endif
  CUDA_PTX_ARCH := $(lastword $(shell printf '%s\n' $(CUDA_ARCH) | sort -n))
endif

ifeq ($(CUDA),1)
  ifeq ($(wildcard $(CUDNN_HOME)/include/cudnn.h),)
    $(error cudnn.h not found under $(CUDNN_HOME)/include: set CUDNN_HOME to the cuDNN install, or build with CUDA=0)
  endif
  CPPFLAGS  += -DCSG_WITH_CUDA -isystem $(CUDA_HOME)/include -isystem $(CUDNN_HOME)/include
  NVCCFLAGS := -std=c++17 $(OPT) -Xcompiler -fopenmp -Xcompiler -fPIC $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
               -gencode arch=compute_$(CUDA_PTX_ARCH),code=compute_$(CUDA_PTX_ARCH) \
               --expt-relaxed-constexpr -Wno-deprecated-gpu-targets
  LDLIBS    += -L$(CUDA_HOME)/lib64 -L$(CUDNN_HOME)/lib -L$(CUDNN_HOME)/lib64 \
               -Wl,-rpath,$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDNN_HOME)/lib -Wl,-rpath,$(CUDNN_HOME)/lib64 \
               -lcudnn -lcublas -lcudart
  CU_SRC    := $(wildcard kernels/*.cu)
  CUDA_ARCH_TEXT := $(foreach a,$(CUDA_ARCH),sm_$(a)) + compute_$(CUDA_PTX_ARCH) PTX
  FEATURES  := CUDA ✓ (nvcc $(NVCC), $(CUDA_ARCH_TEXT) [$(CUDA_ARCH_FROM)]), cuDNN ✓ ($(CUDNN_HOME)), cuBLAS ✓
else
  CU_SRC    :=
  FEATURES  := CUDA ✗ (CPU-only build)
endif

# JPEG through libjpeg-turbo (Debian libjpeg62-turbo-dev, the library PIL decodes with, so pixels
# match PIL's) when its header compiles; else, or with JPEG=0, stb_image decodes JPEG too.
JPEG ?= $(shell printf '\#include <cstdio>\n\#include <jpeglib.h>\n' | $(CXX) -E -x c++ - >/dev/null 2>&1 && echo 1 || echo 0)
ifeq ($(JPEG),1)
  CPPFLAGS += -DCSG_WITH_LIBJPEG
  LDLIBS   += -ljpeg
  FEATURES := $(FEATURES), libjpeg-turbo ✓
else
  FEATURES := $(FEATURES), libjpeg-turbo ✗ (stb_image decodes JPEG)
endif
# MPI (OpenMPI's mpicxx; Debian libopenmpi-dev): data-parallel training across processes,
# `mpirun -np N ./csg train ...`. Only src/distributed/mpi*.cpp and nccl.cpp see MPI's headers
# (compiled with mpicxx's flags); the rest of the engine does not depend on it. NCCL (beside the
# CUDA toolkit) exchanges the gradients of CUDA tensors; it needs both CUDA and MPI (which starts
# the processes and hands out NCCL's id).
MPICXX ?= $(shell command -v mpicxx 2>/dev/null)
MPI    ?= $(if $(MPICXX),1,0)
NCCL   ?= $(if $(and $(filter 1,$(CUDA)),$(filter 1,$(MPI)),$(wildcard $(CUDA_HOME)/include/nccl.h)),1,0)
ifeq ($(MPI),1)
  MPI_CPPFLAGS := $(shell $(MPICXX) --showme:compile)
  LDLIBS       += $(filter-out -lmpi_cxx,$(shell $(MPICXX) --showme:link))
  MPI_FEATURE  := MPI ✓ ($(MPICXX))
else
  MPI_FEATURE  := MPI ✗ (one process per run: install libopenmpi-dev for mpirun)
endif
ifeq ($(NCCL),1)
  LDLIBS       += -lnccl
  NCCL_FEATURE := NCCL ✓
else
  NCCL_FEATURE := NCCL ✗ ($(if $(filter 1,$(CUDA)),$(if $(filter 1,$(MPI)),no nccl.h under $(CUDA_HOME)/include,needs MPI),needs CUDA))
endif
# ONNX export (`csg export --format onnx`): the model is built as Debian's compiled ONNX schema
# (libonnx-dev 1.12, onnx/onnx_pb.h, the ONNX-ML variant it ships) on libprotobuf-dev, and checked
# with libonnx's checker before it is written. Only src/infer/onnx_export.cpp sees their headers;
# without them src/infer/no_onnx_export.cpp says which packages to install.
ONNX_HOME ?= /usr
ONNX      ?= $(if $(and $(wildcard $(ONNX_HOME)/include/onnx/onnx_pb.h),$(wildcard $(ONNX_HOME)/include/onnx/checker.h),$(wildcard /usr/include/google/protobuf/message.h)),1,0)
ifeq ($(ONNX),1)
  CPPFLAGS     += -DCSG_WITH_ONNX
  ONNX_CPPFLAGS := -DONNX_NAMESPACE=onnx -DONNX_ML=1 $(if $(filter /usr,$(ONNX_HOME)),,-isystem $(ONNX_HOME)/include)
  LDLIBS       += $(if $(filter /usr,$(ONNX_HOME)),,-L$(ONNX_HOME)/lib -Wl$(comma)-rpath$(comma)$(ONNX_HOME)/lib) -lonnx -lonnx_proto -lprotobuf
  ONNX_FEATURE := ONNX export ✓
else
  ONNX_FEATURE := ONNX export ✗ (install libonnx-dev libprotobuf-dev for csg export --format onnx)
endif
BUILD_FEATURES := OpenBLAS ✓ ($(OPENBLAS_KIND)), OpenMP ✓, $(DNNL_FEATURE), $(FEATURES), $(MPI_FEATURE), $(NCCL_FEATURE), $(ONNX_FEATURE)
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
$(BUILD)/src/distributed/mpi.o $(BUILD)/src/distributed/nccl.o: CPPFLAGS += $(MPI_CPPFLAGS)
$(BUILD)/src/infer/onnx_export.o $(BUILD)/tests/test_onnx_export.o: CPPFLAGS += $(ONNX_CPPFLAGS)

# Optional features pick one file of a pair per build: src/distributed/ one launcher (mpi.cpp with
# MPI, no_mpi.cpp without), nccl.cpp with NCCL; src/infer/onnx_export.cpp with ONNX, no_onnx_export.cpp
# without.
OPTIONAL_SKIP := $(if $(filter 1,$(MPI)),src/distributed/no_mpi.cpp,src/distributed/mpi.cpp) \
             $(if $(filter 1,$(NCCL)),src/distributed/no_nccl.cpp,src/distributed/nccl.cpp) \
             $(if $(filter 1,$(ONNX)),src/infer/no_onnx_export.cpp,src/infer/onnx_export.cpp)
LIB_SRC  := $(filter-out $(OPTIONAL_SKIP),$(shell find src -name '*.cpp' ! -path 'src/cli/*' | sort))
CLI_SRC  := $(wildcard src/cli/*.cpp)
TEST_SRC := $(wildcard tests/*.cpp)
BENCH_SRC := $(wildcard tools/bench/*.cpp)

LIB_OBJ  := $(LIB_SRC:%.cpp=$(BUILD)/%.o) $(CU_SRC:%.cu=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.cpp=$(BUILD)/%.o)
# The command line's declarations without main(): the tests check --help and docs/cli.md against them.
CLI_DECL_OBJ := $(filter-out $(BUILD)/src/cli/main.o,$(CLI_OBJ))
TEST_OBJ := $(TEST_SRC:%.cpp=$(BUILD)/%.o)
BENCH_BIN := $(BENCH_SRC:tools/bench/%.cpp=$(BUILD)/bench/%)

LIB := $(BUILD)/libcsg.a
# The shared library: soname libcsg.so.$(SO_MAJOR) -> libcsg.so.$(VERSION). SO_MAJOR changes when
# the C API (include/csg/c_api.h) breaks binary compatibility.
VERSION  := $(CSG_VERSION)
SO_MAJOR := $(firstword $(subst ., ,$(VERSION)))
SHLIB    := $(BUILD)/libcsg.so.$(VERSION)

.PHONY: all test bench clean shared install
.SECONDARY:  # keep object files make would otherwise treat as intermediate (the bench objects)
# The command-line program: ./csg, or $(BUILD)/csg for another BUILD directory (e.g. a CPU-only
# `make CUDA=0 BUILD=build-cpu` next to the default build).
CLI := $(if $(filter build,$(BUILD)),csg,$(BUILD)/csg)
all: $(CLI)

# Made afresh each time: ar names members by file name alone, and several objects share one
# (src/ops/conv2d.o, src/ops/onednn/conv2d.o, kernels/conv2d.o), so updating an archive in place
# can replace the wrong one.
$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

$(SHLIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(CXX) -shared -Wl,-soname,libcsg.so.$(SO_MAJOR) -o $@ $^ $(LDLIBS)
	ln -sf libcsg.so.$(VERSION) $(BUILD)/libcsg.so.$(SO_MAJOR)
	ln -sf libcsg.so.$(SO_MAJOR) $(BUILD)/libcsg.so
shared: $(SHLIB)

# `make install PREFIX=/opt/csg`: libcsg.a, libcsg.so (versioned), include/csg/ and
# lib/pkgconfig/csg.pc, whose Libs.private carries this build's OpenBLAS/CUDA link flags
# (static linking: `pkg-config --static --libs csg`).
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
install: $(LIB) $(SHLIB)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libcsg.a
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/libcsg.so.$(VERSION)
	ln -sf libcsg.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libcsg.so.$(SO_MAJOR)
	ln -sf libcsg.so.$(SO_MAJOR) $(DESTDIR)$(LIBDIR)/libcsg.so
	cp -r include/csg $(DESTDIR)$(INCDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCDIR@|$(INCDIR)|; s|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(LDLIBS) -lstdc++ -lm|' tools/csg.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/csg.pc
	@echo "installed csg $(VERSION) under $(DESTDIR)$(PREFIX) ($(FEATURES))"

$(CLI): $(CLI_OBJ) $(LIB)
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

# torchvision's logits for `csg predict`'s preprocessing on committed JPEG/PNG fixtures, decoded by
# PIL (tools/reference/make_predict_fixtures.py; tests/test_predict_parity.cpp).
PREDICT_FIXTURES := $(FIXTURES)/predict
$(PREDICT_FIXTURES)/VERSION: tools/reference/make_predict_fixtures.py tools/reference/safetensors_io.py \
                             tools/reference/resnet_stages.py $(wildcard data/fixtures/jpeg/*.jpg) data/fixtures/image/source.png
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating predict fixtures in $(PREDICT_FIXTURES)"; /usr/bin/python3 $< $(PREDICT_FIXTURES) && echo 1 > $@; \
	else echo "predict fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

# PyTorch's Grad-CAM of a torchvision ResNet-18 for `csg gradcam` (tools/reference/make_gradcam_fixtures.py;
# tests/test_gradcam.cpp).
GRADCAM_FIXTURES := $(FIXTURES)/gradcam
$(GRADCAM_FIXTURES)/VERSION: tools/reference/make_gradcam_fixtures.py tools/reference/safetensors_io.py \
                             tools/reference/resnet_stages.py
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating Grad-CAM fixtures in $(GRADCAM_FIXTURES)"; /usr/bin/python3 $< $(GRADCAM_FIXTURES) && echo 1 > $@; \
	else echo "Grad-CAM fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

# PyTorch's values and gradients of the Table 1 regularizers (weight-l2, feature-l2, asg-kl,
# online synaptic intelligence): tools/reference/make_regularizer_fixtures.py, read by
# tests/test_regularizers.cpp, which skips and says why when python3-torch is missing.
REG_FIXTURES := $(FIXTURES)/regularizers
$(REG_FIXTURES)/VERSION: tools/reference/make_regularizer_fixtures.py tools/reference/safetensors_io.py
	@if /usr/bin/python3 -c 'import torch' 2>/dev/null; then \
	  echo "generating regularizer fixtures in $(REG_FIXTURES)"; /usr/bin/python3 $< $(REG_FIXTURES); \
	else echo "regularizer fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

# docs/cli.md, the command line reference, from the declarations (tests/test_cli.cpp checks they agree).
.PHONY: cli-doc
cli-doc: csg
	/usr/bin/python3 tools/cli_doc.py ./csg

# `make test` runs everything; TEST_FILTER narrows it (a gtest filter such as 'Conv2d*').
# CSG_BINARY: the program the multi-process tests start under mpirun.
test: $(BUILD)/csg_tests $(CLI) $(FIXTURES)/VERSION $(PREDICT_FIXTURES)/VERSION $(GRADCAM_FIXTURES)/VERSION \
      $(REG_FIXTURES)/VERSION
	CSG_FIXTURES=$(FIXTURES) CSG_BINARY=$(abspath $(CLI)) $(BUILD)/csg_tests $(if $(TEST_FILTER),--gtest_filter='$(TEST_FILTER)')

# The soak test (tools/soak.sh): 20,000 steps of a tiny VisDA run, alone and under mpirun -np 2,
# a checkpoint every 100; resident memory, open files and the run folder's size must stay flat.
# Minutes, not part of `make test`; docs/checkpoints.md gives its figures. SOAK_ARGS: e.g.
# --steps 2000 --modes single.
.PHONY: soak
soak: $(CLI)
	bash tools/soak.sh --csg $(CLI) $(SOAK_ARGS)

# Examples (examples/*.c, *.cpp) built as a user of the installed library would: installed into
# $(BUILD)/examples-prefix, compiled with `pkg-config --cflags --libs csg`. examples-test does the
# same in a temporary prefix and runs them on a generated model and image (tools/examples_test.sh).
EXAMPLES_PREFIX := $(abspath $(BUILD))/examples-prefix
.PHONY: examples examples-test
examples: $(LIB) $(SHLIB)
	@$(MAKE) --no-print-directory -s install PREFIX=$(EXAMPLES_PREFIX)
	@mkdir -p $(BUILD)/examples
	PKG_CONFIG_PATH=$(EXAMPLES_PREFIX)/lib/pkgconfig; export PKG_CONFIG_PATH; \
	cc -std=c99 -Wall -Wextra -o $(BUILD)/examples/classify-c examples/classify.c $$(pkg-config --cflags --libs csg) && \
	c++ -std=c++17 -O2 -Wall -Wextra -o $(BUILD)/examples/classify-cpp examples/classify.cpp $$(pkg-config --cflags --libs csg) && \
	c++ -std=c++17 -O2 -Wall -Wextra -o $(BUILD)/examples/make-example-model examples/make_example_model.cpp $$(pkg-config --cflags --libs csg)
examples-test: $(LIB) $(SHLIB)
	bash tools/examples_test.sh BUILD=$(BUILD) CUDA=$(CUDA)

$(BUILD)/bench/%: $(BUILD)/tools/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CXX) -o $@ $< $(LIB) $(LDLIBS)

# One thread count for every benchmark and the PyTorch reference it runs beside it:
# OMP_NUM_THREADS if set, else every core (the conv2d bench prints csg, torch and their ratio).
BENCH_THREADS ?= $(or $(OMP_NUM_THREADS),$(shell nproc))
bench: $(BENCH_BIN)
	@for b in $(BENCH_BIN); do OMP_NUM_THREADS=$(BENCH_THREADS) $$b || exit 1; done

# The JPEG setting lives in a file that changes only when the setting does, so switching it
# recompiles the decoder (and relinks) without touching anything else.
JPEG_SETTING := $(BUILD)/jpeg-setting
$(shell mkdir -p $(BUILD) && echo $(JPEG) | cmp -s - $(JPEG_SETTING) || echo $(JPEG) > $(JPEG_SETTING))
$(BUILD)/src/data/jpeg_decode.o $(BUILD)/src/data/image.o: $(JPEG_SETTING)

# The same for the GPU architectures: `make CUDA_ARCH=86` after another choice recompiles the
# kernels and src/core/cuda.cpp, which names them in `csg info` and in the error a GPU the
# build does not cover gets at start-up.
ifeq ($(CUDA),1)
CUDA_ARCH_SETTING := $(BUILD)/cuda-arch-setting
CUDA_ARCH_LINE := sass $(CUDA_ARCH) ptx $(CUDA_PTX_ARCH)
$(shell mkdir -p $(BUILD) && echo '$(CUDA_ARCH_LINE)' | cmp -s - $(CUDA_ARCH_SETTING) || echo '$(CUDA_ARCH_LINE)' > $(CUDA_ARCH_SETTING))
$(CU_SRC:%.cu=$(BUILD)/%.o) $(BUILD)/src/core/cuda.o: $(CUDA_ARCH_SETTING)
$(BUILD)/src/core/cuda.o: CPPFLAGS += -DCSG_CUDA_SASS_ARCHS='"$(CUDA_ARCH)"' -DCSG_CUDA_PTX_ARCH=$(CUDA_PTX_ARCH)
endif

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(CPPFLAGS) $(NVCCFLAGS) -c $< -o $@

clean:
	rm -rf $(BUILD) csg

# The benchmarks' too: a bench built against an older header (a changed Config) crashes at run time.
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(BENCH_SRC:%.cpp=$(BUILD)/%.d)

# ---------------------------------------------------------------------------------------------
# Sanitizers and fuzzing: one CPU-only clang build in build-san/ serves both.
#
#   make asan                     # the CPU test suite under AddressSanitizer + UBSan
#   make tsan                     # the threaded tests under ThreadSanitizer (build-tsan/, below)
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
# The sanitizer build leaves oneDNN out (DNNL=0): Debian's libdnnl is linked against GNU libgomp
# while clang's -fopenmp brings LLVM's libomp, and two OpenMP runtimes in one process each start
# their own pool; its JIT kernels are also invisible to ASan. It checks the im2col path instead.
SAN_SHARDS   ?= 2

FUZZ_SRC     := $(wildcard tools/fuzz/*.cpp)
FUZZ_BIN     := $(FUZZ_SRC:tools/fuzz/%.cpp=$(SAN_BUILD)/fuzz/%)

.PHONY: asan san-build fuzz fuzz-build fuzz-corpus fuzz-replay
# A phony step that hands the files to one sub-make (whose rules, with BUILD=$(SAN_BUILD), own them
# and track their header dependencies): the test binary and every fuzz target.
san-build:
	$(MAKE) --no-print-directory CUDA=0 DNNL=0 MPI=0 BUILD=$(SAN_BUILD) OPT='$(SAN_OPT)' CXX='$(SAN_COMPILE)' \
	  $(SAN_BUILD)/csg_tests $(FUZZ_BIN)
fuzz-build: san-build

asan: san-build $(FIXTURES)/VERSION
	@CSG_FIXTURES=$(FIXTURES) ASAN_OPTIONS=$(ASAN_OPTIONS_RUN) UBSAN_OPTIONS=$(UBSAN_OPTIONS_RUN) \
	  bash tools/fuzz/run_test_shards.sh $(SAN_SHARDS) $(SAN_BUILD) $(SAN_BUILD)/csg_tests \
	  $(if $(TEST_FILTER),--gtest_filter='$(TEST_FILTER)')

# ThreadSanitizer: a test binary of the tests whose threads work side by side (the loader's
# workers, the signals of a training run, whose GTA5 case starts the binary again as child
# processes, under TSan too) in its own CPU-only clang build, build-tsan/. OpenMP runs one thread:
# LLVM's libomp is not built with TSan's annotations, so its barriers would read as races.
#
#   make tsan                     # TSAN_TESTS' tests; TEST_FILTER='Suite*' narrows them
TSAN_BUILD   := build-tsan
TSAN_TESTS   := tests/main.cpp tests/testing.cpp tests/train_fixtures.cpp tests/test_loader.cpp tests/test_train_signal.cpp
TSAN_OPTIONS_RUN ?= halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=1
.PHONY: tsan tsan-build
tsan-build:
	$(MAKE) --no-print-directory CUDA=0 DNNL=0 MPI=0 BUILD=$(TSAN_BUILD) OPT='$(SAN_OPT)' TEST_SRC='$(TSAN_TESTS)' \
	  CXX='$(SAN_CXX) -fsanitize=thread -fno-omit-frame-pointer' $(TSAN_BUILD)/csg_tests
tsan: tsan-build
	CSG_FIXTURES=$(FIXTURES) OMP_NUM_THREADS=1 TSAN_OPTIONS=$(TSAN_OPTIONS_RUN) \
	  $(TSAN_BUILD)/csg_tests $(if $(TEST_FILTER),--gtest_filter='$(TEST_FILTER)')

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
#          timed steps after 1 (on 2 loaded vCPUs: 57 min with spinning waits, 17 with BENCH_STEP_WAIT=passive).
# BENCH_THREADS threads; ours and PyTorch alternated, the median of the per-round ratios reported
# (the speed of this shared VM moved by half between back-to-back runs of one binary); each step's
# GFLOP/s beside the machine's measured peak (build/bench/sgemm_peak, before and after, same run).
# BENCH_STEP_WAIT=passive: both sides' OpenMP threads sleep at once when they wait (OMP_WAIT_POLICY=PASSIVE),
# for a machine whose cores other work shares (docs/onnx.md, "Where the time goes").
BENCH_STEP_SHAPES ?= small
BENCH_STEP_WAIT ?= default
STEP_BENCH_ENV = OMP_NUM_THREADS=$(BENCH_THREADS) $(if $(filter passive,$(BENCH_STEP_WAIT)),OMP_WAIT_POLICY=PASSIVE)
BENCH_STEP_PAPER_STEPS ?= 2
BENCH_STEP_PAPER_PRECISIONS ?= fp32
bench-step-cpu: $(STEP_BENCH) $(BUILD)/bench/sgemm_peak
	$(if $(filter small,$(BENCH_STEP_SHAPES)),$(STEP_BENCH_ENV) /usr/bin/python3 tools/bench/step_bench.py --device cpu --small --parity \
	  --bench $(STEP_BENCH) --peak-bench $(BUILD)/bench/sgemm_peak --python /usr/bin/python3 --tasks $(BENCH_TASKS) \
	  --precisions fp32 bf16 --steps 10 --warmup 2 --rounds 3)
	$(if $(filter paper,$(BENCH_STEP_SHAPES)),$(STEP_BENCH_ENV) /usr/bin/python3 tools/bench/step_bench.py --device cpu --paper \
	  --bench $(STEP_BENCH) --peak-bench $(BUILD)/bench/sgemm_peak --python /usr/bin/python3 --tasks $(BENCH_TASKS) \
	  --precisions $(BENCH_STEP_PAPER_PRECISIONS) --steps $(BENCH_STEP_PAPER_STEPS) --warmup 1 --rounds 3 --no-compile --timeout 3600)

# Step-parity fixtures: csg_step_torch.py takes a few steps of small models from a fresh state and
# writes that state, its inputs and its losses and final weights; tests/test_step_bench_parity.cpp
# runs our step from the same state on the same inputs. Without python3-torch the test skips.
STEP_FIXTURES := $(FIXTURES)/csg_step
STEP_PARITY_visda := --task visda --arch resnet18 --image-size 64 --batch 4 --queue-size 256 --steps 4 --lr 0.01 --key-noise 0.1
STEP_PARITY_gta5  := --task gta5 --arch deeplab18 --image-size 64 --batch 2 --queue-size 512 --steps 3 --key-noise 0.1
# The default head (the reference's ASPP): BN on batch statistics and dropout with csg's masks.
STEP_PARITY_gta5_csg := $(STEP_PARITY_gta5) --seg-head aspp-csg --dropout-seed 7
STEP_FIXTURE_VERSION := 2
# A VERSION file of another version (fixtures of an older script) is remade too.
.PHONY: step-fixtures-stale
$(STEP_FIXTURES)/VERSION: tools/reference/csg_step_torch.py tools/reference/safetensors_io.py tools/reference/resnet_stages.py \
    $(if $(filter $(STEP_FIXTURE_VERSION),$(shell cat $(STEP_FIXTURES)/VERSION 2>/dev/null)),,step-fixtures-stale)
	@if /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating step-parity fixtures in $(STEP_FIXTURES)"; mkdir -p $(STEP_FIXTURES); \
	  for t in visda gta5 gta5_csg; do \
	    case $$t in visda) args="$(STEP_PARITY_visda)";; gta5) args="$(STEP_PARITY_gta5)";; *) args="$(STEP_PARITY_gta5_csg)";; esac; \
	    /usr/bin/python3 $< $$args --write-init $(STEP_FIXTURES)/$${t}_init.safetensors \
	      --write-inputs $(STEP_FIXTURES)/$${t}_inputs.safetensors --dump $(STEP_FIXTURES)/$${t}_result.safetensors \
	      || exit 1; \
	  done; echo $(STEP_FIXTURE_VERSION) > $@; \
	else rm -f $(STEP_FIXTURES)/*.safetensors; \
	  echo "step-parity fixtures not generated: python3-torch is missing (bash tools/install-deps.sh --torch)"; fi

test: $(STEP_FIXTURES)/VERSION

# BF16: the VisDA model from visda_init, 20 steps under torch.autocast(bfloat16) with f32 master
# weights (StepBenchParity.VisdaResNet18Bf16TracksAutocastOver20Steps). A target of its own, so that
# fixtures of this version made before it get it too; remade with the others.
STEP_PARITY_visda_bf16 := $(STEP_PARITY_visda) --steps 20 --precision bf16
$(STEP_FIXTURES)/visda_bf16_result.safetensors: tools/reference/csg_step_torch.py tools/reference/safetensors_io.py \
    tools/reference/resnet_stages.py $(STEP_FIXTURES)/VERSION
	@if [ -f $(STEP_FIXTURES)/visda_init.safetensors ] && /usr/bin/python3 -c 'import torch, torchvision' 2>/dev/null; then \
	  echo "generating the BF16 step-parity fixture $@"; \
	  /usr/bin/python3 $< $(STEP_PARITY_visda_bf16) --init $(STEP_FIXTURES)/visda_init.safetensors \
	    --write-inputs $(STEP_FIXTURES)/visda_bf16_inputs.safetensors --dump $@ || exit 1; fi

test: $(STEP_FIXTURES)/visda_bf16_result.safetensors
