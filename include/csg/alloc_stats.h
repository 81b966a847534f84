// csg/alloc_stats.h — a process-wide count of tensor storage allocations, to check that a loop
// (an inference engine's run, say) allocates nothing once it is warm.
#pragma once
#include <cstdint>

namespace csg {

// Storage objects created so far in this process, on any device and by any thread.
uint64_t storage_allocations();

}  // namespace csg
