#include "base/huge_heap.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>

// The bounds of the writable segment: .data's start (glibc's crt1) and the end of .bss (the
// linker).
extern "C" char __data_start[], _end[];

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

void populate_startup_pages(size_t stack_bytes) {
#ifdef MADV_POPULATE_WRITE
  constexpr uintptr_t kPage = 4096;
  auto down = [](uintptr_t a) { return a & ~(kPage - 1); };
  auto up = [](uintptr_t a) { return (a + kPage - 1) & ~(kPage - 1); };
  uintptr_t d0 = down(reinterpret_cast<uintptr_t>(__data_start));
  uintptr_t d1 = up(reinterpret_cast<uintptr_t>(_end));
  if (d1 > d0) madvise(reinterpret_cast<void*>(d0), d1 - d0, MADV_POPULATE_WRITE);
  // The kernel maps 128 KiB of stack below the arguments at exec; stay inside that.
  char here;
  uintptr_t top = down(reinterpret_cast<uintptr_t>(&here));
  if (stack_bytes > 0) {
    uintptr_t bottom = top - down(stack_bytes);
    madvise(reinterpret_cast<void*>(bottom), top + kPage - bottom, MADV_POPULATE_WRITE);
  }
#else
  (void)stack_bytes;
#endif
}

}  // namespace berth::heap
