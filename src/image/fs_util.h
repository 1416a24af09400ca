// File-system helpers that work relative to directory fds and never follow symlinks.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::image {

// Removes name in dirfd, a directory tree included. Missing is fine.
Result<void> remove_at(int dirfd, const std::string& name);
// Removes everything in the directory dirfd (not the directory itself).
Result<void> remove_children(int dirfd);
// The names in the directory dirfd, without "." and "..".
Result<std::vector<std::string>> names_at(int dirfd);
// Spare directories: parent/.spare/ keeps emptied directories for reuse instead of a mkdir
// and an rmdir each time. On ext4 every new inode is a search past the recently deleted
// ones, and without a journal (mounted -o discard, as on this project's test machine) each
// removed directory is a synchronous discard of its block (~0.25 ms).
// take_spare_dir renames a spare to parent/name: false when there is none (or another
// process took it first). park_spare_dir runs scrub on parent/name (it must leave the
// directory as a fresh one would be) and renames it into the pool: false when the pool holds
// max already or scrub failed; the caller then removes what is left.
bool take_spare_dir(int parent, const std::string& name);
bool park_spare_dir(int parent, const std::string& name, size_t max,
                    const std::function<Result<void>(int dirfd)>& scrub);
// Opens a directory below dirfd without following a symlink in the last component.
Result<UniqueFd> open_dir_at(int dirfd, const std::string& name);
// Copies the tree src_dirfd into dst_dirfd (owners, modes, times, xattrs, hardlinks within
// the copy, device nodes). With overlay_whiteouts, 0:0 char devices delete the target and
// directories marked opaque are emptied first: applying an unpacked layer onto a rootfs.
Result<void> copy_tree(int src_dirfd, int dst_dirfd, bool overlay_whiteouts);
// Bytes used by a tree (sum of file sizes).
Result<int64_t> tree_size(int dirfd);

inline constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";

}  // namespace berth::image
