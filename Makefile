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

# The features this machine builds with (tools/make/features.mk) come first; `make` alone builds ./csg.
.DEFAULT_GOAL := all
include tools/make/features.mk

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
all: $(CLI) $(LIB)

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

# The library's objects come first on the link lines of ./csg and the tests, rather than its archive
# last: a function defined in a header (inline, or a template such as std::sort's) is compiled into
# every object that uses it, the linker keeps the first copy it reads, and the library's own copies
# are the optimised ones. With the archive last, the library ran the unoptimised copies of the
# command line's and the test files' objects (a test of the digits pipeline took 4 times as long
# under the sanitizers).
$(CLI): $(CLI_OBJ) $(LIB_OBJ)
	$(CXX) -o $@ $(LIB_OBJ) $(CLI_OBJ) $(LDLIBS)
# The command line's files compile without optimisation (CLI_OPT, after OPT): they parse flags and
# call the library, and CLI11, header-only, is compiled again in each. At -O2 they took 10-17 s each
# with g++, 14-32 s under the sanitizers at -O1; at -O0 the longest took 10.6 and 14.6 s. Kept in a setting file
# (keep_setting, tools/make/features.mk) so that changing it recompiles them.
CLI_OPT ?= -O0
CLI_OPT_SETTING := $(BUILD)/cli-opt-setting
$(call keep_setting,$(CLI_OPT_SETTING),CLI_OPT)
$(CLI_OBJ): CXXFLAGS += $(CLI_OPT)
$(CLI_OBJ): $(CLI_OPT_SETTING)

# The tests compile without optimisation (TEST_OPT, after OPT, so it wins): their time is spent in the
# library, built with OPT. The headers they share are parsed once, into a precompiled header that g++
# and clang++ take where -include names tests/precompiled.h. At -O2 and without it, the 88 test files
# were half of the build's compile time.
TEST_OPT ?= -O0
TEST_PCH := $(BUILD)/tests/precompiled.h
# clang refuses a precompiled header made with other flags: the flags live in a setting file
# (keep_setting, tools/make/features.mk), and the header is made again when they change. (`:=`: the
# flags before the test files' own additions below.)
TEST_PCH_FLAGS := $(CPPFLAGS) $(CXXFLAGS) $(TEST_OPT)
TEST_PCH_LINE := $(CXX) $(TEST_PCH_FLAGS)
TEST_PCH_SETTING := $(BUILD)/test-pch-setting
$(call keep_setting,$(TEST_PCH_SETTING),TEST_PCH_LINE)
$(TEST_PCH).gch: tests/precompiled.h $(TEST_PCH_SETTING)
	@mkdir -p $(@D)
	cp $< $(TEST_PCH)
	$(CXX) $(TEST_PCH_FLAGS) -MF $@.d -x c++-header $(TEST_PCH) -o $@
# test_public_api checks that csg/csg.h compiles on its own, so it reads nothing before its own lines.
TEST_PCH_USERS := $(filter-out $(BUILD)/tests/test_public_api.o,$(TEST_OBJ))
$(TEST_OBJ): CXXFLAGS += $(TEST_OPT)
$(TEST_PCH_USERS): CXXFLAGS += -include $(TEST_PCH)
$(TEST_PCH_USERS): $(TEST_PCH).gch
$(BUILD)/csg_tests: $(TEST_OBJ) $(CLI_DECL_OBJ) $(LIB_OBJ)
	$(CXX) -o $@ $(LIB_OBJ) $(CLI_DECL_OBJ) $(TEST_OBJ) -lgtest $(LDLIBS)

include tools/make/fixtures.mk

# docs/cli.md, the command line reference, from the declarations (tests/test_cli.cpp checks they agree).
.PHONY: cli-doc
cli-doc: csg
	/usr/bin/python3 tools/cli_doc.py ./csg

# `make test` runs everything; TEST_FILTER narrows it (a gtest filter such as 'Conv2d*').
# CSG_BINARY: the program the multi-process tests start under mpirun. The archive too: a test reads
# the GPU code embedded in it.
test: $(BUILD)/csg_tests $(CLI) $(LIB) $(FIXTURES)/VERSION $(PREDICT_FIXTURES)/VERSION $(GRADCAM_FIXTURES)/VERSION \
      $(REG_FIXTURES)/VERSION
	CSG_FIXTURES=$(FIXTURES) CSG_BINARY=$(abspath $(CLI)) $(BUILD)/csg_tests $(if $(TEST_FILTER),--gtest_filter='$(TEST_FILTER)')

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cu
	@mkdir -p $(@D)
	$(NVCC) $(CPPFLAGS) $(NVCCFLAGS) -c $< -o $@

clean:
	rm -rf $(BUILD) csg

# The benchmarks' too: a bench built against an older header (a changed Config) crashes at run time.
-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(TEST_PCH).gch.d $(BENCH_SRC:%.cpp=$(BUILD)/%.d)

# Installing, the examples, the benchmarks, the soak test, the sanitizers and the fuzzers.
include tools/make/install.mk tools/make/bench.mk tools/make/checks.mk
