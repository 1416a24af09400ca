#include "vm/rootfs_image.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/defer.h"
#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/strings.h"
#include "vm/host_probe.h"
#include "vm/sha256.h"
#include "vm/spawn.h"

namespace berth::vm {
namespace {

constexpr uint64_t kBlock = 4096;

Result<void> walk(int dirfd, const std::string& rel, dev_t dev, Sha256& h, TreeStats& t) {
  for (const auto& n : BERTH_TRY(sorted_names(dirfd, rel.empty() ? "/" : rel))) {
    struct stat st {};
    if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return fail(sys_error(errno, "stat {}/{}", rel, n));
    std::string p = rel + "/" + n;
    // Length-prefixed names: no two trees give the same byte stream. A symlink's target is
    // not read: it cannot change in place, and a new link is a new inode with a new ctime
    // (one readlink per busybox applet was ~a third of the scan).
    h.update(fmt::format("{}:{} {:o} {} {} {} {}.{} {}.{} {} {}\n", p.size(), p, st.st_mode,
                         st.st_uid, st.st_gid, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                         st.st_ctim.tv_sec, st.st_ctim.tv_nsec, st.st_ino, st.st_rdev));
    t.entries++;
    if (S_ISREG(st.st_mode))
      t.bytes += (static_cast<uint64_t>(st.st_size) + kBlock - 1) / kBlock * kBlock;
    if (S_ISDIR(st.st_mode) && st.st_dev == dev) {
      int sub = ::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0) return fail(sys_error(errno, "open {}", p));
      UniqueFd subfd(sub);
      BERTH_CHECK(walk(sub, p, dev, h, t));
    }
  }
  return {};
}

}  // namespace

Result<std::vector<std::string>> sorted_names(int dirfd, const std::string& what) {
  DIR* d = ::fdopendir(::dup(dirfd));
  if (!d) return fail(sys_error(errno, "open {}", what));
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<TreeStats> scan_tree(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open {}", root));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(sys_error(errno, "stat {}", root));
  Sha256 h;
  h.update(fmt::format("berth-rootfs-v2 {:o} {} {}\n", st.st_mode, st.st_uid, st.st_gid));
  TreeStats t;
  BERTH_CHECK(walk(fd.get(), "", st.st_dev, h, t));
  t.key = h.hex();
  return t;
}

uint64_t image_bytes(const TreeStats& t) {
  uint64_t meta = (t.entries + 64) * kBlock;  // an inode and a directory block, at worst
  uint64_t size = t.bytes + t.bytes / 4 + meta + (1ull << 30);
  return (size + (1 << 20) - 1) >> 20 << 20;
}

uint64_t image_inodes(const TreeStats& t) { return t.entries * 2 + 65536; }

namespace {

// Keeps the newest kMaxCachedImages images (by mtime, refreshed at each use). A VM that
// runs holds its image open, so removing the name does not disturb it.
void evict(const std::string& cache_dir) {
  DIR* d = ::opendir(cache_dir.c_str());
  if (!d) return;
  std::vector<std::pair<int64_t, std::string>> imgs;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (!n.starts_with("rootfs-") || !n.ends_with(".ext4")) continue;
    struct stat st {};
    std::string p = path::join(cache_dir, n);
    if (::stat(p.c_str(), &st) == 0) imgs.emplace_back(st.st_mtim.tv_sec, p);
  }
  ::closedir(d);
  if (imgs.size() <= kMaxCachedImages) return;
  std::sort(imgs.begin(), imgs.end());
  for (size_t i = 0; i + kMaxCachedImages < imgs.size(); ++i) ::unlink(imgs[i].second.c_str());
}

}  // namespace

Result<std::string> ensure_rootfs_image(const std::string& rootfs, const std::string& cache_dir,
                                        const std::string& key) {
  TreeStats t = BERTH_TRY(scan_tree(rootfs));
  std::string name = key.empty() ? t.key.substr(0, 32) : sha256_hex(key).substr(0, 32);
  std::string img = path::join(cache_dir, "rootfs-" + name + ".ext4");
  if (::utimensat(AT_FDCWD, img.c_str(), nullptr, 0) == 0) return img;

  BERTH_CHECK(file::mkdir_all(cache_dir, 0700));
  // One builder per image; the others wait and then find it made.
  std::string lock_path = path::join(cache_dir, ".lock-" + name);
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return fail(sys_error(errno, "open {}", lock_path));
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail(sys_error(errno, "lock {}", lock_path));
  }
  Defer unlock([&] { ::unlink(lock_path.c_str()); });
  if (file::exists(img)) return img;

  std::string tmp = img + fmt::format(".tmp{}", getpid());
  Defer cleanup([&] { ::unlink(tmp.c_str()); });
  {
    UniqueFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!f) return fail(sys_error(errno, "create {}", tmp));
    if (::ftruncate(f.get(), static_cast<off_t>(image_bytes(t))) != 0)
      return fail(sys_error(errno, "size {}", tmp));
  }
  std::string mkfs = which("mkfs.ext4");
  if (mkfs.empty()) mkfs = which("/sbin/mkfs.ext4");
  if (mkfs.empty())
    return fail(make_error(ErrorKind::kUnavailable,
                           "VM isolation needs mkfs.ext4 (apt-get install e2fsprogs)"));
  CommandResult r =
      BERTH_TRY(run_command({mkfs, "-q", "-F", "-b", "4096", "-m", "0", "-O", "^has_journal", "-E",
                             "nodiscard,lazy_itable_init=1", "-N", std::to_string(image_inodes(t)),
                             "-L", "berth-root", "-d", rootfs, tmp}));
  if (r.exit_code != 0) {
    std::string out(trim(r.output));
    return fail(
        make_error(ErrorKind::kInternal, "mkfs.ext4 -d {}: exit {}: {}", rootfs, r.exit_code, out));
  }
  if (::rename(tmp.c_str(), img.c_str()) != 0) return fail(sys_error(errno, "rename {}", img));
  log::debug("vm: made rootfs image {} ({} entries)", img, t.entries);
  evict(cache_dir);
  return img;
}

}  // namespace berth::vm
