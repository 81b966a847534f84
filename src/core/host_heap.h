// src/core/host_heap.h — how the process's heap treats freed host memory during training.
#pragma once

namespace csg {

// Keeps host memory freed during a training run in the process's heap for the next step, instead of
// handing it back to the kernel. A step frees and allocates the same large activations each time;
// handed back, every page of them is faulted in and zeroed again by the kernel on the next step,
// and two threads doing so contend for the process's page-table lock. glibc's defaults return
// blocks above a threshold that grows only to 32 MB, trim the heap's top past twice that, and grow
// it in small steps. Here: every block up to 32 MB (glibc's limit; larger ones stay mmap'ed) comes
// from the heap, the heap is never trimmed, and it grows 256 MB at a time. And freed tensor blocks
// of 1 MB or more wait in csg's block cache (host_block_cache.h, a quarter of the machine's memory
// at most) for the next request of their size, so that from the second step on a step reuses the
// last step's blocks where they are, the mmap'ed ones too. Process-wide and once; called where
// training starts (run_training, the step bench), not by the inference library. A no-op under the
// sanitizers; outside glibc only the block cache is turned on.
// docs/onnx.md ("Where the time goes") has the measurement.
void keep_freed_host_memory();
// Whether host memory comes from glibc's heap, which keep_freed_host_memory tunes (not from a
// sanitizer's allocator or another C library's).
bool glibc_heap();

}  // namespace csg
