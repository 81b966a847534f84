// src/core/host_heap.h — how the process's heap treats freed host memory during training.
#pragma once

namespace csg {

// Keeps host memory freed during a training run in the process's heap for the next step, instead of
// handing it back to the kernel. A step frees and allocates the same large activations each time;
// handed back, every page of them is faulted in and zeroed again by the kernel on the next step,
// and two threads doing so contend for the process's page-table lock. glibc's defaults return
// blocks above a threshold that grows only to 32 MB, trim the heap's top past twice that, and grow
// it in small steps. Here: every block up to 32 MB (glibc's limit; larger ones stay mmap'ed) comes
// from the heap, the heap is never trimmed, and it grows 256 MB at a time. The heap then stays at
// the run's peak use. Process-wide and once; called where training starts (run_training, the step
// bench), not by the inference library. A no-op outside glibc and under the sanitizers.
// docs/onnx.md ("Where the time goes") has the measurement.
void keep_freed_host_memory();
// Whether host memory comes from glibc's heap, which keep_freed_host_memory tunes (not from a
// sanitizer's allocator or another C library's).
bool glibc_heap();

}  // namespace csg
