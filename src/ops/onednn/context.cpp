// src/ops/onednn/context.cpp — the oneDNN engine, stream, staging buffers and the switch to the
// im2col + OpenBLAS path.
#include "src/ops/onednn/context.h"

#include <atomic>
#include <cstdlib>
#include <memory>

#include "src/core/host_scratch.h"

namespace csg::onednn {

namespace {

#ifdef CSG_WITH_DNNL
std::atomic<bool> g_active{true};
#else
std::atomic<bool> g_active{false};
#endif

}  // namespace

bool active() { return g_active.load(std::memory_order_relaxed); }

bool takes(const Tensor& t) { return active() && !t.is_cuda() && t.dtype() == DType::F32; }

PlainPathGuard::PlainPathGuard() : prev_(g_active.exchange(false)) {}
PlainPathGuard::~PlainPathGuard() { g_active.store(prev_); }

#ifdef CSG_WITH_DNNL

std::string isa_name() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: return "AVX-512 with AMX and AVX512_BF16 (avx512_core_amx)";
    case dnnl::cpu_isa::avx512_core_bf16: return "AVX-512 with AVX512_BF16 (avx512_core_bf16)";
    case dnnl::cpu_isa::avx512_core_vnni: return "AVX-512 with VNNI (avx512_core_vnni)";
    case dnnl::cpu_isa::avx512_core: return "AVX-512 (avx512_core)";
    case dnnl::cpu_isa::avx2_vnni: return "AVX2 with VNNI (avx2_vnni)";
    case dnnl::cpu_isa::avx2: return "AVX2 (avx2)";
    case dnnl::cpu_isa::avx: return "AVX (avx)";
    case dnnl::cpu_isa::sse41: return "SSE4.1 (sse41)";
    default: return "generic (no JIT kernels for this CPU)";
  }
}

bool has_bf16(std::string* why) {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  if (isa == dnnl::cpu_isa::avx512_core_amx || isa == dnnl::cpu_isa::avx512_core_bf16) return true;
  if (why)
    *why = "this CPU has neither AVX512_BF16 nor AMX (oneDNN dispatches to " + isa_name() +
           "): BF16 would run emulated, slower than f32; use f32 (fp32)";
  return false;
}

int64_t blocked_channels() {
  switch (dnnl::get_effective_cpu_isa()) {  // honours ONEDNN_MAX_CPU_ISA, as the kernels do
    case dnnl::cpu_isa::avx512_core_amx:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core:
    case dnnl::cpu_isa::avx512_mic_4ops:
    case dnnl::cpu_isa::avx512_mic: return 16;
    default: return 8;
  }
}

dnnl::memory::format_tag blocked_tag() {
  return blocked_channels() == 16 ? dnnl::memory::format_tag::nChw16c : dnnl::memory::format_tag::nChw8c;
}

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

void* buffer(Slot slot, size_t bytes) {
  thread_local HostScratch buffers[static_cast<int>(Slot::Count)];
  return buffers[static_cast<int>(slot)].reserve(bytes, "oneDNN: staging buffer");
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

dnnl::memory scratchpad(const dnnl::memory::desc& d) {
  return dnnl::memory(d, engine(), buffer(Slot::Scratchpad, d.get_size()));
}

#else

std::string isa_name() { return "not built (make DNNL=0, or libdnnl-dev missing)"; }
int64_t blocked_channels() { return 8; }

bool has_bf16(std::string* why) {
  if (why) *why = "BF16 runs through oneDNN, and this csg was built without it (make DNNL=0, or libdnnl-dev missing)";
  return false;
}

#endif

}  // namespace csg::onednn
