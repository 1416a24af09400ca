#include "base/huge_heap.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

namespace berth::heap {

namespace {
constexpr uintptr_t kHuge = uintptr_t{2} << 20;
constexpr size_t kChunkOverhead = 2 * sizeof(size_t);
}  // namespace

bool use_huge_pages(size_t bytes) {
  bytes = (bytes + kHuge - 1) & ~(kHuge - 1);
  // Keep every allocation up to the reserve on the heap (an mmap'd block is fresh 4 KiB
  // pages each time), and never hand the top of the heap back to the kernel.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(bytes + kHuge));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(4 * bytes + kHuge));
  // The few short threads (the runtime's cgroup maker) allocate here too, not in an arena of
  // their own: a new arena is a 64 MiB mapping whose first pages each cost a 4 KiB fault.
  mallopt(M_ARENA_MAX, 1);
  // Where the top chunk starts now: a tiny block is carved from its front.
  void* probe = std::malloc(1);
  if (probe == nullptr) return false;
  auto top = reinterpret_cast<uintptr_t>(probe) + 4 * kChunkOverhead;
  std::free(probe);
  uintptr_t boundary = (top + kHuge - 1) & ~(kHuge - 1);
  // A filler up to the boundary, kept for the process's life: its pages are never touched,
  // so it costs address space only.
  size_t fill = boundary - top;
  if (fill > 4 * kChunkOverhead && std::malloc(fill - 2 * kChunkOverhead) == nullptr) return false;
  // Grow the heap past boundary + bytes, then give the block back: it becomes the top chunk.
  void* block = std::malloc(bytes);
  if (block == nullptr) return false;
  auto start = (reinterpret_cast<uintptr_t>(block) + kHuge - 1) & ~(kHuge - 1);
  auto end = (reinterpret_cast<uintptr_t>(block) + bytes) & ~(kHuge - 1);
  std::free(block);
  if (end <= start) return false;
  return madvise(reinterpret_cast<void*>(start), end - start, MADV_HUGEPAGE) == 0;
}

}  // namespace berth::heap
