// The container's root file system: mounts from the plan, devices, pivot_root, then masked
// and read-only paths. Runs in the container init, inside its new mount namespace.
#pragma once

#include <functional>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "cgroup/manager.h"
#include "oci/spec.h"
#include "runtime/mount_plan.h"

namespace berth::runtime {

struct RootfsContext {
  const oci::Spec* spec = nullptr;
  std::string bundle;  // relative bind sources are taken relative to it
  std::string rootfs;  // absolute host path
  bool userns = false;
  bool netns = false;     // a new network namespace (sysfs can be mounted)
  bool cgroupns = false;  // a new cgroup namespace
  bool no_pivot = false;
  const cgroup::Manager* cgroups = nullptr;
  // Puts the process in its cgroup if it is not yet (CgroupHandoff, init.h): called before a
  // cgroup mount and before the devices are made. Empty: it is in already.
  std::function<Result<void>()> join_cgroup;
};

// Steps 1-3: propagation of "/", the rootfs bind mount, every planned mount, /dev.
// Returns the rootfs dirfd (O_PATH).
Result<UniqueFd> prepare_rootfs(const RootfsContext& ctx, const std::vector<PlannedMount>& plan);
// pivot_root into it (or MS_MOVE + chroot with no_pivot).
Result<void> enter_rootfs(const RootfsContext& ctx, int rootfd);
// After entering: sysctl, maskedPaths, readonlyPaths, read-only root, rootfsPropagation.
Result<void> finish_rootfs(const RootfsContext& ctx);

// Devices (devices.cc): the default set and linux.devices, made with mknod, or bind-mounted
// from the host inside a user namespace; plus /dev/fd, /dev/std* and /dev/ptmx links.
Result<void> create_devices(int rootfd, const oci::Spec& spec, bool userns);

}  // namespace berth::runtime
