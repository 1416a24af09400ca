// The parent's side of the create/exec handshake (sync.h): clone stage 1, put it in the
// cgroup, answer its requests (user namespace maps, hooks before pivot_root, the seccomp
// notify fd) and wait until the process runs the exec helper.
#pragma once

#include <sys/types.h>

#include <functional>

#include "base/result.h"
#include "cgroup/manager.h"
#include "runtime/init.h"

namespace berth::runtime {

struct SpawnHooks {
  // Makes the cgroup the init goes into (create: the cgroup and its limits). spawn runs it
  // before the clone, or on the shared-memory path on a thread while the init sets up
  // (CgroupHandoff, init.h).
  std::function<Result<void>()> make_cgroup;
  // Called with the init's pid when it stops before pivot_root (args.hooks_before_pivot).
  std::function<Result<void>(pid_t)> before_pivot;
  // Called with the init's pid and the seccomp notify fd.
  std::function<Result<void>(pid_t, int)> seccomp_fd;
};

// On success the process (its pid is returned) is this process's child, blocked in or past
// the exec helper. On failure every process it made is killed and reaped.
Result<pid_t> spawn(InitArgs args, cgroup::Manager* cg, const SpawnHooks& hooks);

}  // namespace berth::runtime
