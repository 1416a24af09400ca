// Put the rest of a short-lived process's heap on transparent huge pages.
#pragma once

#include <cstddef>

namespace berth::heap {

// Moves malloc's top chunk to a 2 MiB boundary and asks the kernel to back the next
// `bytes` of heap with transparent huge pages (madvise MADV_HUGEPAGE; THP mode "madvise").
// Heap that grows later then costs one fault per 2 MiB instead of one per 4 KiB page. On
// this project's reference VM a 4 KiB page fault costs ~17 us and a `berth run` took ~250
// of them in the heap; one huge-page fault (zeroing 2 MiB included) costs ~0.25 ms.
// Memory the process never touches is never backed. Best effort: returns false (and changes
// nothing that matters) when the kernel refuses or THP is off.
bool use_huge_pages(size_t bytes);

// Maps the process's writable data (.data and .bss) and the top `stack_bytes` of its stack in
// one call each (MADV_POPULATE_WRITE) instead of one page fault per 4 KiB page as they are
// first written: on this project's reference VM a fault costs ~10 us and populating ~5 us
// a page, and a `berth run` wrote ~45 such pages. For a static binary's start, before its
// constructors run (a .preinit_array entry). Best effort: a kernel without
// MADV_POPULATE_WRITE (before 5.14) refuses, and the pages fault in as before.
void populate_startup_pages(size_t stack_bytes);

}  // namespace berth::heap
