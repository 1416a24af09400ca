// berth_entry: the ELF entry point of the static berth (CMakeLists.txt links it with
// -e berth_entry when lld lays out the functions in cmake/berth.order).
//
// A `berth` command is a fresh process every time, and on this project's reference VM a page
// fault costs ~16 us while populating a page in bulk costs ~0.2 us. A `berth run` took ~45
// faults in its text (the kernel maps 64 KiB around each one) and ~12 in its data before any
// code of berth's ran (glibc's static start-up writes its relro, .data and .bss pages). So,
// before glibc's _start, this maps in one madvise each:
//   - the writable segments (relro, .data, .bss) for writing (MADV_POPULATE_WRITE);
//   - the hot text: from the start of the executable segment to berth_hot_text_end, the
//     last name in cmake/berth.order, so every function that the common commands run (the
//     order file's list) and nothing else;
//   - the top BERTH_ENTRY_STACK_BYTES of the stack (a run writes ~96 KiB of it).
// A/B on the reference VM: `berth run --rm` 0.6-1.2 ms faster (bench/engine-run.sh shape).
// Everything is best effort: a kernel without MADV_POPULATE_* (before 5.14) refuses and
// the pages fault in as before. BERTH_NO_PREFAULT=1 in the environment skips it all (the
// .preinit_array fallback in cmd/berth/main.cc then populates .data and .bss as before);
// tests/engine compares the two.
//
// This runs before the C library is set up: no errno, no TLS (so no stack protector), no
// libc calls. System calls are made directly.
#include "base/static/entry.h"

#if !defined(__x86_64__)
#error "berth_entry: x86-64 only (CMakeLists.txt links it there alone)"
#endif

#include <elf.h>
#include <stddef.h>
#include <stdint.h>

enum {
  kNrMadvise = 28,
  kMadvPopulateRead = 22,
  kMadvPopulateWrite = 23,
};

static long raw_madvise(uintptr_t addr, uintptr_t len, long advice) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "0"((long)kNrMadvise), "D"(addr), "S"(len), "d"(advice)
                   : "rcx", "r11", "memory");
  return ret;
}

static uintptr_t page_down(uintptr_t a) { return a & ~(uintptr_t)4095; }
static uintptr_t page_up(uintptr_t a) { return (a + 4095) & ~(uintptr_t)4095; }

static int is_no_prefault(const char* s) {
  const char* want = "BERTH_NO_PREFAULT=";
  for (; *want != '\0'; ++want, ++s)
    if (*s != *want) return 0;
  return *s != '\0' && *s != '0';
}

volatile int berth_entry_prefaulted = 0;

// Placed right after the ordered functions (it is the last name in cmake/berth.order).
__attribute__((noinline, used)) void berth_hot_text_end(void) { __asm__ volatile(""); }

__attribute__((used, no_stack_protector)) void berth_populate_at_entry(uintptr_t* sp) {
  // The initial stack: argc, argv[argc], NULL, envp..., NULL, then the auxiliary vector.
  uintptr_t* p = sp + 1 + sp[0] + 1;
  for (; *p != 0; ++p)
    if (is_no_prefault((const char*)*p)) return;
  ++p;
  const Elf64_Phdr* phdr = NULL;
  size_t phnum = 0;
  for (; p[0] != AT_NULL; p += 2) {
    if (p[0] == AT_PHDR) phdr = (const Elf64_Phdr*)p[1];
    if (p[0] == AT_PHNUM) phnum = p[1];
  }
  if (phdr == NULL) return;
  uintptr_t hot_end = (uintptr_t)&berth_hot_text_end;
  for (size_t i = 0; i < phnum; ++i) {
    if (phdr[i].p_type != PT_LOAD) continue;
    uintptr_t a = page_down(phdr[i].p_vaddr);
    uintptr_t b = page_up(phdr[i].p_vaddr + phdr[i].p_memsz);
    if (phdr[i].p_flags & PF_W) {
      raw_madvise(a, b - a, kMadvPopulateWrite);
    } else if (phdr[i].p_flags & PF_X) {
      if (hot_end > a && hot_end < b) b = page_up(hot_end);
      raw_madvise(a, b - a, kMadvPopulateRead);
    }
  }
  // The kernel maps 128 KiB of stack below the arguments at exec; stay inside that.
  uintptr_t top = page_down((uintptr_t)sp);
  raw_madvise(top - BERTH_ENTRY_STACK_BYTES, BERTH_ENTRY_STACK_BYTES + 4096, kMadvPopulateWrite);
  berth_entry_prefaulted = 1;
}

// The kernel starts a static program with %rsp at argc and %rdx = 0 (no dynamic loader's
// finaliser): keep %rdx in a callee-saved register across the call, then go on to glibc's
// _start as if it had been the entry point.
__asm__(
    "  .text\n"
    "  .globl berth_entry\n"
    "  .type berth_entry,@function\n"
    "berth_entry:\n"
    "  mov %rdx, %r12\n"
    "  mov %rsp, %rdi\n"
    "  call berth_populate_at_entry\n"
    "  mov %r12, %rdx\n"
    "  jmp _start\n"
    "  .size berth_entry, .-berth_entry\n");
