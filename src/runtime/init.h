// The child side of `create` and `exec`: stage 1 (namespaces) and the process that ends up
// running the user's program, each step one call, in the order the kernel needs. See sync.h
// for the handshake with berth-runtime.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cgroup/manager.h"
#include "oci/spec.h"
#include "runtime/mount_plan.h"

namespace berth::runtime {

// spawn's shared-memory path (spawn.cc): a thread of the parent makes the container's cgroup
// and moves the init into it while the init, cloned at once, sets up its namespaces and
// mounts; the init waits for that before its first step that needs the cgroup (a cgroup
// mount, making devices, its cgroup namespace), so the two overlap (~0.5-1 ms of a create).
// The words are futexes in the memory the two share (CLONE_VM).
struct CgroupHandoff {
  static constexpr uint32_t kPending = 0;
  static constexpr uint32_t kStarted = 1;    // started: the init runs
  static constexpr uint32_t kAbandoned = 2;  // started: clone returned before it ran
  static constexpr uint32_t kJoined = 1;     // joined: the init is in its cgroup
  static constexpr uint32_t kFailed = 2;     // joined: the cgroup could not be made or joined
  uint32_t started = kPending;
  uint32_t joined = kPending;
  pid_t tid = 0;  // the init's pid here, stored by clone (CLONE_PARENT_SETTID) before it runs

  // Sets a word and wakes whoever waits on it.
  static void publish(uint32_t& word, uint32_t value);
  // Waits until a word is no longer kPending; returns what it became.
  static uint32_t await(uint32_t& word);
};

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
  // Set on spawn's shared-memory path: the cgroup is joined late (CgroupHandoff).
  CgroupHandoff* cgroup_handoff = nullptr;
};

// Runs in the first child; never returns.
[[noreturn]] void stage1_main(const InitArgs& a);
// The init cloned directly into its namespaces (spawn's direct path): waits for Go (it is in
// its cgroup then), joins the network/IPC/UTS namespaces given by path, unshares the cgroup
// namespace, and goes on as init_main. With a.cgroup_handoff (spawn's shared-memory path,
// where the parent's main thread sleeps until the exec) it waits for nothing here: the
// parent's thread moves it into its cgroup while it sets up (CgroupHandoff).
[[noreturn]] void direct_init_main(const InitArgs& a);

// The state JSON that hooks run inside the container read (pid as the container sees it).
std::string container_state_json(const InitArgs& a, std::string_view status, pid_t pid);

}  // namespace berth::runtime
