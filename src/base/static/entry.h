// The static berth's entry point (entry.c): its hot pages mapped before glibc starts.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// How much of the top of the stack berth_entry populates: a `berth run` writes ~96 KiB.
#define BERTH_ENTRY_STACK_BYTES (96 << 10)

// 1 once berth_entry has populated the hot pages (the .preinit_array fallback then has
// nothing to do); 0 when run with BERTH_NO_PREFAULT=1. Weak: binaries linked without
// entry.c (berth-dynamic, the ASan build, other architectures) have no such variable, and
// its address is null there.
extern __attribute__((weak)) volatile int berth_entry_prefaulted;

#ifdef __cplusplus
}
#endif
