// Thin wrappers of raw system calls that glibc 2.36 does not wrap (clone3, pidfd, openat2,
// the new mount API, pivot_root, futex). Each returns what the kernel returns and sets errno.
//
// The fallback tests force some of them to fail with ENOSYS: set BERTH_FORCE_ENOSYS to a comma
// list of names (openat2, clone3) and the wrapper fails without calling the kernel, exactly
// as on an older kernel.
#pragma once

#include <linux/sched.h>
#include <sys/types.h>

#include <cstdint>

namespace berth::sys {

// open_how for openat2 (linux/openat2.h).
struct OpenHow {
  uint64_t flags;
  uint64_t mode;
  uint64_t resolve;
};
inline constexpr uint64_t kResolveNoXdev = 0x01;
inline constexpr uint64_t kResolveNoMagiclinks = 0x02;
inline constexpr uint64_t kResolveNoSymlinks = 0x04;
inline constexpr uint64_t kResolveBeneath = 0x08;
inline constexpr uint64_t kResolveInRoot = 0x10;

pid_t clone3(struct clone_args* args);
int pidfd_open(pid_t pid);
int pidfd_send_signal(int pidfd, int sig);
int openat2(int dirfd, const char* path, uint64_t flags, uint64_t resolve, uint64_t mode = 0);
int close_range(unsigned first, unsigned last, unsigned flags);
int pivot_root(const char* new_root, const char* put_old);
int execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags);

// A word that processes sharing one address space (threads, or a CLONE_VM child) wait on:
// futex_wait sleeps while *word == expected (returns at once otherwise, or on a wake or a
// signal); futex_wake wakes every waiter. Private futexes: the address space is the key.
void futex_wait(const uint32_t* word, uint32_t expected);
void futex_wake(const uint32_t* word);

// True when the named call is forced to ENOSYS (see above).
bool forced_enosys(const char* name);

}  // namespace berth::sys
