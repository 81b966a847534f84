// tools/bench/csg_step_bench.cpp — times one CSG training step of our engine (see
// csg_step_bench.h); tools/bench/step_bench.py puts it next to PyTorch's.
//
//   build/bench/csg_step_bench --task visda --device cuda --precision tf32 --steps 20 --warmup 5
//   build/bench/csg_step_bench --task gta5 --arch deeplab18 --image-size 64 --batch 2 --queue-size 512
#include <cstdio>

#include "tools/bench/csg_step_bench.h"

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    for (const std::string& a : args)
      if (a == "-h" || a == "--help") {
        std::fputs(csg::bench::kStepBenchUsage, stdout);
        return 0;
      }
    return csg::bench::run_step_bench(csg::bench::parse_step_bench_args(args), stdout);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "csg_step_bench: %s\n", e.what());
    return 1;
  }
}
