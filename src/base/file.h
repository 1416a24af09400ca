// File helpers: whole-file reads and writes, atomic replacement, directory creation.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "base/result.h"
#include "base/unique_fd.h"

namespace berth::file {

Result<std::string> read(const std::string& path);
Result<std::string> read_at(int dirfd, const std::string& name);
// Opens, writes all of data, closes. For /proc and cgroup files (no temp file, no fsync).
Result<void> write(const std::string& path, std::string_view data);
Result<void> write_at(int dirfd, const std::string& name, std::string_view data);
// Writes data to a temp name in the same directory, optionally fsyncs, then renames over name.
// Readers see either the old or the new content, never a part.
Result<void> write_atomic(int dirfd, const std::string& name, std::string_view data,
                          mode_t mode = 0644, bool sync = true);
Result<void> write_atomic(const std::string& path, std::string_view data, mode_t mode = 0644,
                          bool sync = true);
// mkdir -p; existing directories are fine.
Result<void> mkdir_all(const std::string& path, mode_t mode = 0755);
// rm -rf of a tree, not crossing into other mounts; a missing path is fine.
Result<void> remove_all(const std::string& path);
bool exists(const std::string& path);
Result<UniqueFd> open(const std::string& path, int flags, mode_t mode = 0);

}  // namespace berth::file
