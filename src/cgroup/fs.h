// Writes and reads of cgroup files relative to a hierarchy's dirfd (internal to src/cgroup).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::cgroup::fs {

// An O_PATH fd of a hierarchy's mount point plus the cgroup's path relative to it.
struct Dir {
  UniqueFd root;
  std::string rel;  // "berth/c1" (no leading slash; empty for the root)
  std::string abs;  // absolute directory, for messages and mounts

  std::string file(std::string_view name) const;
};

Result<Dir> open_dir(const std::string& mount_point, std::string_view cgroup_path,
                     std::string_view mount_root);
bool has_file(const Dir& d, std::string_view name);
Result<void> write(const Dir& d, std::string_view name, std::string_view value);
Result<std::string> read(const Dir& d, std::string_view name);
// mkdir -p of d.rel below d.root; calls made(dir_rel) for each directory it creates.
Result<void> make(const Dir& d, const std::function<Result<void>(const std::string&)>& made);
// rmdir of d.rel, retrying while the kernel still counts exiting tasks (EBUSY).
Result<void> remove(const Dir& d);
Result<std::vector<pid_t>> read_pids(const Dir& d, std::string_view file = "cgroup.procs");

}  // namespace berth::cgroup::fs
