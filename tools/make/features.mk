# tools/make/features.mk — what this machine can build with, decided once per `make`: OpenBLAS,
# oneDNN, CUDA (and its GPU architectures), cuDNN, libjpeg-turbo, MPI, NCCL, ONNX; the flags each
# brings, the one-line feature summary, and the version stamp. Included by the Makefile.

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

# $(call keep_setting,FILE,VARIABLE): writes the variable's value into FILE only when it differs from
# what FILE holds, so that FILE's time changes only with the setting and what depends on FILE is made
# again only then. The variable is named rather than expanded in the call: a value may hold commas.
keep_setting = $(shell mkdir -p $(dir $(1)) && echo '$($(2))' | cmp -s - $(1) || echo '$($(2))' > $(1))

# The JPEG setting lives in such a file, so switching it recompiles the decoder (and relinks)
# without touching anything else.
JPEG_SETTING := $(BUILD)/jpeg-setting
$(call keep_setting,$(JPEG_SETTING),JPEG)
$(BUILD)/src/data/jpeg_decode.o $(BUILD)/src/data/image.o: $(JPEG_SETTING)

# The same for the GPU architectures: `make CUDA_ARCH=86` after another choice recompiles the
# kernels and src/core/cuda.cpp, which names them in `csg info` and in the error a GPU the
# build does not cover gets at start-up.
ifeq ($(CUDA),1)
CUDA_ARCH_SETTING := $(BUILD)/cuda-arch-setting
CUDA_ARCH_LINE := sass $(CUDA_ARCH) ptx $(CUDA_PTX_ARCH)
$(call keep_setting,$(CUDA_ARCH_SETTING),CUDA_ARCH_LINE)
$(CU_SRC:%.cu=$(BUILD)/%.o) $(BUILD)/src/core/cuda.o: $(CUDA_ARCH_SETTING)
$(BUILD)/src/core/cuda.o: CPPFLAGS += -DCSG_CUDA_SASS_ARCHS='"$(CUDA_ARCH)"' -DCSG_CUDA_PTX_ARCH=$(CUDA_PTX_ARCH)
endif
