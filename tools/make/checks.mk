# tools/make/checks.mk — the long checks outside `make test`: the soak test, the sanitizers
# (ASan + UBSan, TSan) and the fuzzers.

# The soak test (tools/soak.sh): 20,000 steps of a tiny VisDA run, alone and under mpirun -np 2,
# a checkpoint every 100; resident memory, open files and the run folder's size must stay flat.
# Minutes, not part of `make test`; docs/checkpoints.md gives its figures. SOAK_ARGS: e.g.
# --steps 2000 --modes single.
.PHONY: soak
soak: $(CLI)
	bash tools/soak.sh --csg $(CLI) $(SOAK_ARGS)

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
# The test files and the command line's compile at -O0 there too (TEST_OPT, CLI_OPT), the library at
# SAN_OPT: with the library's objects first on the link line (Makefile) the suite ran as fast as with
# -O1 tests (docs/benchmarks.md, CI stage times).
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
# The suite runs in SAN_PROCS processes side by side, each taking the next test suite from a queue.
# The sanitizer build leaves oneDNN out (DNNL=0): Debian's libdnnl is linked against GNU libgomp
# while clang's -fopenmp brings LLVM's libomp, and two OpenMP runtimes in one process each start
# their own pool; its JIT kernels are also invisible to ASan. It checks the im2col path instead.
SAN_PROCS    ?= 2

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
	  bash tools/fuzz/run_test_queue.sh $(SAN_PROCS) $(SAN_BUILD) $(SAN_BUILD)/csg_tests \
	  $(if $(TEST_FILTER),--gtest_filter='$(TEST_FILTER)')

# ThreadSanitizer: a test binary of the tests whose threads work side by side (the loader's
# workers, the signals of a training run, whose GTA5 case starts the binary again as child
# processes, under TSan too; the block cache under tensor storage) in its own CPU-only clang build, build-tsan/. OpenMP runs one thread:
# LLVM's libomp is not built with TSan's annotations, so its barriers would read as races.
#
#   make tsan                     # TSAN_TESTS' tests; TEST_FILTER='Suite*' narrows them
TSAN_BUILD   := build-tsan
TSAN_TESTS   := tests/main.cpp tests/testing.cpp tests/train_fixtures.cpp tests/test_loader.cpp tests/test_train_signal.cpp \
                tests/test_host_block_cache.cpp
TSAN_OPTIONS_RUN ?= halt_on_error=1:second_deadlock_stack=1:report_signal_unsafe=1:suppressions=$(CURDIR)/tools/tsan.supp
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
