// The container's root file system as an ext4 image for virtio-blk, made with
// `mkfs.ext4 -d` (no mount needed) and cached: an image is named by a key, the digest of
// the tree's metadata (paths, types, modes, owners, sizes, mtimes, ctimes, inode numbers,
// link targets) unless the caller names it (an image digest). QEMU opens it with
// snapshot=on, so every VM writes to a throwaway copy and the cached image never changes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace berth::vm {

inline constexpr int kMaxCachedImages = 16;

struct TreeStats {
  std::string key;     // hex digest
  uint64_t bytes = 0;  // file data, rounded up to blocks
  uint64_t entries = 0;
};

// The names in directory dirfd (not "." and ".."), sorted: the fixed order of every walk.
// `what` names the directory in an error.
Result<std::vector<std::string>> sorted_names(int dirfd, const std::string& what);

// Walks the tree (not crossing into other mounts) in a fixed order.
Result<TreeStats> scan_tree(const std::string& root);

// The image size and inode count for a tree: room for the data, its metadata and 1 GiB of
// writes (the file is sparse: the free space costs nothing on the host).
uint64_t image_bytes(const TreeStats& t);
uint64_t image_inodes(const TreeStats& t);

// The cached image of rootfs under cache_dir, made now if missing; returns its path.
Result<std::string> ensure_rootfs_image(const std::string& rootfs, const std::string& cache_dir,
                                        const std::string& key);

}  // namespace berth::vm
