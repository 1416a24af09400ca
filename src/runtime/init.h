// The child side of `create` and `exec`: stage 1 (namespaces) and the process that ends up
// running the user's program, each step one call, in the order the kernel needs. See sync.h
// for the handshake with berth-runtime.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "cgroup/manager.h"
#include "oci/spec.h"
#include "runtime/mount_plan.h"

namespace berth::runtime {

struct InitArgs {
  enum class Mode { kCreate, kExec };
  Mode mode = Mode::kCreate;
  const oci::Spec* spec = nullptr;
  const oci::Process* process = nullptr;  // what to run (spec->process for create)
  const std::vector<PlannedMount>* plan = nullptr;
  const cgroup::Manager* cgroups = nullptr;
  std::string id;
  std::string bundle;
  std::string rootfs;
  std::string fifo_path;  // create: exec.fifo in the state dir; empty: start at once (run)
  pid_t target = 0;       // exec: the container's init, whose namespaces are joined
  int sync_fd = -1;
  int console_fd = -1;  // connected console socket (process.terminal), or -1
  int preserve_fds = 0;
  bool no_pivot = false;
  bool hooks_before_pivot = false;  // stop at kBeforePivot for the parent's hooks
  // The compiled seccomp filter (a memfd, compiled or taken from the cache by the parent),
  // or -1 without linux.seccomp.
  int seccomp_fd = -1;
  unsigned seccomp_flags = 0;
};

// Runs in the first child; never returns.
[[noreturn]] void stage1_main(const InitArgs& a);
// The init cloned directly into its namespaces (spawn's direct path): waits for Go (it is in
// its cgroup then), joins the network/IPC/UTS namespaces given by path, unshares the cgroup
// namespace, and goes on as init_main. With `join`
// (spawn's shared-memory path, where the parent sleeps until the exec) it moves itself into
// that cgroup instead of waiting.
[[noreturn]] void direct_init_main(const InitArgs& a, cgroup::Manager* join = nullptr);

// The state JSON that hooks run inside the container read (pid as the container sees it).
std::string container_state_json(const InitArgs& a, std::string_view status, pid_t pid);

}  // namespace berth::runtime
