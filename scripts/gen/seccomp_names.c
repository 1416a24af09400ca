// Prints every syscall name libseccomp knows for x86_64, one per line (used by
// gen-seccomp-profile.py to write src/engine/data/seccomp_default.json).
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>

int main(void) {
  for (int nr = 0; nr < 1024; nr++) {
    char* n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
    if (n) {
      printf("%s\n", n);
      free(n);
    }
  }
  return 0;
}
