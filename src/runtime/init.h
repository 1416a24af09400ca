// The child side of `create`: stage 1 (namespaces) and the container init (rootfs, process),
// each step one call, in the order the kernel needs. See sync.h for the handshake.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "cgroup/manager.h"
#include "oci/spec.h"
#include "runtime/mount_plan.h"

namespace berth::runtime {

struct InitArgs {
  const oci::Spec* spec = nullptr;
  const std::vector<PlannedMount>* plan = nullptr;
  const cgroup::Manager* cgroups = nullptr;
  std::string bundle;
  std::string rootfs;
  std::string fifo_path;  // exec.fifo in the state dir
  std::string console_socket;
  int sync_fd = -1;
  int preserve_fds = 0;
  bool no_pivot = false;
  bool hooks_before_pivot = false;  // stop at kBeforePivot for the parent's hooks
  pid_t parent = 0;
};

// Runs in the first child; never returns.
[[noreturn]] void stage1_main(const InitArgs& a);

}  // namespace berth::runtime
