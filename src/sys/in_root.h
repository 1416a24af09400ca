// Path resolution inside a root directory that no symlink or ".." can leave: the equivalent
// of openat2(RESOLVE_IN_ROOT), with a component-by-component fallback for kernels without it.
// Used for every mount target and device node inside a container rootfs.
#pragma once

#include <sys/types.h>

#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::sys {

enum class Create { kNone, kDir, kFile };

// Opens path inside rootfd (an absolute path is taken relative to rootfd) with O_PATH|O_CLOEXEC,
// following symlinks as if rootfd were "/". With create != kNone, missing directories along
// the way are made (0755) and a missing last component becomes a directory or an empty file.
Result<UniqueFd> open_in_root(int rootfd, std::string_view path, Create create = Create::kNone);

// The component-by-component resolver alone (the fallback); exposed for tests.
Result<UniqueFd> open_in_root_walk(int rootfd, std::string_view path, Create create);

// "/proc/self/fd/N" for an fd, to hand an O_PATH fd to calls that take a path (mount(2)).
std::string fd_path(int fd);

}  // namespace berth::sys
