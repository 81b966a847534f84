// tests/test_host_heap.cpp — keep_freed_host_memory (src/core/host_heap.h): after it, a large
// block comes from the heap and stays there once freed, for the next step to reuse, and tensor
// storage goes through the block cache (tests/test_host_block_cache.cpp has the cache itself).
#include <cstdlib>
#include <cstring>

#include "tests/testing.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace csg {
namespace {

TEST(HostHeap, FreedLargeBlocksStayInTheHeap) {
#ifdef __GLIBC__
  if (!glibc_heap()) GTEST_SKIP() << "a sanitizer's allocator serves this build; keep_freed_host_memory tunes glibc's";
  keep_freed_host_memory();
  const size_t bytes = size_t{24} << 20;  // above glibc's default threshold for mmap (128 kB at first)
  const size_t mapped = mallinfo2().hblkhd;
  void* block = std::malloc(bytes);
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, bytes);
  EXPECT_EQ(mallinfo2().hblkhd, mapped) << "the block was mmap'ed: freeing it hands its pages back";
  std::free(block);
  EXPECT_GE(mallinfo2().fordblks, bytes) << "the freed block left the heap";
  EXPECT_EQ(host_block_cache_stats().capacity, default_host_block_cache_capacity());
#else
  GTEST_SKIP() << "keep_freed_host_memory tunes glibc's heap; this build has another allocator";
#endif
}

}  // namespace
}  // namespace csg
