// A small container root file system carried in the guest's initramfs instead of an ext4
// image on virtio-blk. The guest then needs no virtio_blk and ext4 modules, no wait for
// /dev/vda and no ext4 mount: ~0.2-0.3 s of a VM's start under TCG. The tree is packed as
// the cpio entries "rootfs/..." and appended to the cached base initramfs (the kernel
// unpacks concatenated archives); the agent enters /rootfs instead of mounting /dev/vda.
// The root lives in the guest's RAM (tmpfs), so only small trees qualify; large ones, and
// trees with what cpio cannot carry (device nodes, fifos, sockets, extended attributes such
// as file capabilities), keep the ext4 image.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace berth::vm {

inline constexpr uint64_t kInitrdRootMaxBytes = 32ull << 20;
inline constexpr uint64_t kInitrdRootMaxEntries = 4096;

// Pure walk: the cpio archive (without trailer handling beyond CpioWriter's) of the tree at
// root, its entries named "rootfs/...". kUnavailable for a tree that does not qualify (the
// reason in the message).
Result<std::string> build_root_cpio(const std::string& root);

// The cached initramfs made of base (the agent's) followed by the tree at root, under
// cache_dir; key names the tree (an image digest, or scan_tree's key). kUnavailable as
// build_root_cpio.
Result<std::string> ensure_root_initrd(const std::string& root, const std::string& base,
                                       const std::string& cache_dir, const std::string& key);

}  // namespace berth::vm
