#include "sys/syscalls.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace berth::sys {

bool forced_enosys(const char* name) {
  static const char* list = std::getenv("BERTH_FORCE_ENOSYS");
  if (!list) return false;
  std::string_view l(list), n(name);
  size_t pos = 0;
  while (pos <= l.size()) {
    size_t end = l.find(',', pos);
    if (end == std::string_view::npos) end = l.size();
    if (l.substr(pos, end - pos) == n) return true;
    pos = end + 1;
  }
  return false;
}

pid_t clone3(struct clone_args* args) {
  if (forced_enosys("clone3")) {
    errno = ENOSYS;
    return -1;
  }
  return static_cast<pid_t>(::syscall(SYS_clone3, args, sizeof(*args)));
}

int pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

int openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve, uint64_t mode) {
  if (forced_enosys("openat2")) {
    errno = ENOSYS;
    return -1;
  }
  OpenHow how{flags, mode, resolve};
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

int close_range(unsigned first, unsigned last, unsigned flags) {
  return static_cast<int>(::syscall(SYS_close_range, first, last, flags));
}

int pivot_root(const char* new_root, const char* put_old) {
  return static_cast<int>(::syscall(SYS_pivot_root, new_root, put_old));
}

void futex_wait(const uint32_t* word, uint32_t expected) {
  ::syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}

void futex_wake(const uint32_t* word) {
  ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}

int execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags) {
  return static_cast<int>(::syscall(SYS_execveat, dirfd, path, argv, envp, flags));
}

}  // namespace berth::sys
