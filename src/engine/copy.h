// Copying file trees fd-relative (no path is resolved twice, no symlink followed): used to
// fill new volumes from the image and by `berth cp`.
#pragma once

#include <string>

#include "base/result.h"

namespace berth::engine {

// Copies src_name below src_dir (a file, directory tree or symlink, with modes, owners and
// times) to dst_name below dst_dir.
Result<void> copy_entry(int src_dir, const std::string& src_name, int dst_dir,
                        const std::string& dst_name);
// Copies the contents of directory src into directory dst.
Result<void> copy_dir_contents(int src, int dst);
// Bytes used by a tree (regular files' sizes), not crossing mounts.
int64_t tree_size(const std::string& path);

}  // namespace berth::engine
