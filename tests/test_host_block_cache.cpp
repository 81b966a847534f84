// tests/test_host_block_cache.cpp — the block cache under tensor storage (src/core/host_block_cache.h):
// a freed large block serves the next request of its size, small blocks and a cache turned off go
// back to the C library, the capacity evicts the blocks freed longest ago, and threads share it.
#include <cstring>
#include <thread>
#include <vector>

#include "tests/testing.h"

namespace csg {
namespace {

// Each test sets its own capacity and empties the cache; the process's setting comes back after.
class HostBlockCache : public ::testing::Test {
 protected:
  void SetUp() override {
    before_ = host_block_cache_stats().capacity;
    release_cached_host_blocks();
  }
  void TearDown() override {
    release_cached_host_blocks();
    set_host_block_cache(before_);
  }
  size_t before_ = 0;
};

constexpr size_t kMiB = size_t{1} << 20;

TEST_F(HostBlockCache, AFreedLargeBlockServesTheNextRequestOfItsSize) {
  set_host_block_cache(64 * kMiB);
  const HostBlockCacheStats start = host_block_cache_stats();
  void* block = host_allocate(3 * kMiB + 100);
  std::memset(block, 7, 3 * kMiB + 100);
  host_release(block, 3 * kMiB + 100);
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 3 * kMiB + 4096) << "held, rounded up to whole pages";

  void* again = host_allocate(3 * kMiB + 200);  // the same pages: the same size class
  EXPECT_EQ(again, block);
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 0u);
  EXPECT_EQ(host_block_cache_stats().hits, start.hits + 1);

  void* other = host_allocate(5 * kMiB);  // no block of this size is cached
  EXPECT_EQ(host_block_cache_stats().misses, start.misses + 2) << "the first request and this one";
  host_release(other, 5 * kMiB);
  host_release(again, 3 * kMiB + 200);
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 8 * kMiB + 4096);
}

TEST_F(HostBlockCache, SmallBlocksAndACacheTurnedOffGoBackToTheCLibrary) {
  set_host_block_cache(64 * kMiB);
  host_release(host_allocate(kMinCachedBytes / 2), kMinCachedBytes / 2);
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 0u) << "below kMinCachedBytes";

  host_release(host_allocate(2 * kMiB), 2 * kMiB);
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 2 * kMiB);
  set_host_block_cache(0);
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 0u) << "turning it off hands the cached blocks back";
  host_release(host_allocate(2 * kMiB), 2 * kMiB);
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 0u);
  EXPECT_EQ(host_block_cache_stats().capacity, 0u);
}

TEST_F(HostBlockCache, PastItsCapacityTheBlocksFreedLongestAgoGoFirst) {
  set_host_block_cache(8 * kMiB);
  void* first = host_allocate(3 * kMiB);
  void* second = host_allocate(3 * kMiB);
  void* third = host_allocate(3 * kMiB);
  host_release(first, 3 * kMiB);
  host_release(second, 3 * kMiB);
  host_release(third, 3 * kMiB);  // 9 MiB > 8: `first` leaves
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 6 * kMiB);

  const uint64_t misses = host_block_cache_stats().misses;
  EXPECT_EQ(host_allocate(3 * kMiB), third) << "the block freed last comes first";
  EXPECT_EQ(host_allocate(3 * kMiB), second);
  void* fresh = host_allocate(3 * kMiB);
  EXPECT_EQ(host_block_cache_stats().misses, misses + 1) << "`first` was handed back, not kept";
  for (void* p : {third, second, fresh}) host_release(p, 3 * kMiB);

  host_release(host_allocate(9 * kMiB), 9 * kMiB);  // larger than the whole cache
  EXPECT_EQ(host_block_cache_stats().cached_bytes, 6 * kMiB);
}

TEST_F(HostBlockCache, AFreedTensorsStorageServesTheNextTensorOfItsSize) {
  set_host_block_cache(64 * kMiB);
  const float* freed = nullptr;
  uint64_t freed_id = 0;
  {
    Tensor t = full({512, 1024}, 1.5);  // 2 MiB
    freed = t.data<float>();
    freed_id = t.storage().id();
  }
  Tensor next = empty({1024, 512});
  EXPECT_EQ(next.data<float>(), freed);
  EXPECT_NE(next.storage().id(), freed_id) << "a reused block is a new storage to everything keyed by id";
  Tensor filled = full({1024, 512}, 2.0);  // and holds what it is given, not the old values
  next.copy_(filled);
  EXPECT_EQ(next.to_vector()[12345], 2.0);
}

TEST_F(HostBlockCache, ThreadsShareTheCache) {
  set_host_block_cache(32 * kMiB);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      for (int i = 0; i < 200; ++i) {
        const size_t bytes = (1 + (i + t) % 3) * kMiB;
        auto* p = static_cast<unsigned char*>(host_allocate(bytes));
        p[0] = p[bytes - 1] = static_cast<unsigned char>(i);  // each block is this thread's alone
        EXPECT_EQ(p[0], p[bytes - 1]);
        host_release(p, bytes);
      }
    });
  for (std::thread& th : threads) th.join();
  const HostBlockCacheStats s = host_block_cache_stats();
  EXPECT_LE(s.cached_bytes, 32 * kMiB);
  EXPECT_GT(s.hits, 0u);
}

}  // namespace
}  // namespace csg
