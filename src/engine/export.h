// `berth export`: a container's file system as a tar stream (Docker's export: the rootfs as
// the container changed it, without its volumes or the kernel file systems mounted in it).
#pragma once

#include "base/result.h"

namespace berth::engine {

// Writes a tar (pax) of the tree under root_dir (an O_PATH or O_RDONLY directory fd) to
// out_fd. Nothing is followed: symlinks are stored as links, hard links once and then as
// links to the first name, and directories on another file system are stored empty.
Result<void> write_tree_tar(int root_dir, int out_fd);

}  // namespace berth::engine
