#include "vm/root_initrd.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/file.h"
#include "base/log.h"
#include "base/path.h"
#include "base/unique_fd.h"
#include "vm/cpio.h"
#include "vm/initramfs.h"
#include "vm/rootfs_image.h"
#include "vm/sha256.h"

namespace berth::vm {
namespace {

constexpr size_t kKeepRootInitrds = 16;

Error unsuitable(std::string_view why) {
  return make_error(ErrorKind::kUnavailable, "the root file system cannot go in the initramfs: {}",
                    why);
}

struct Packer {
  CpioWriter w;
  uint64_t bytes = 0;
  uint64_t entries = 0;
  dev_t dev = 0;

  static CpioMeta meta(const struct stat& st) {
    return {static_cast<uint32_t>(st.st_uid), static_cast<uint32_t>(st.st_gid),
            static_cast<uint32_t>(st.st_mtim.tv_sec)};
  }

  Result<void> count(uint64_t more_bytes) {
    bytes += more_bytes;
    if (++entries > kInitrdRootMaxEntries)
      return fail(unsuitable(fmt::format("more than {} entries", kInitrdRootMaxEntries)));
    if (bytes > kInitrdRootMaxBytes)
      return fail(unsuitable(fmt::format("more than {} MiB", kInitrdRootMaxBytes >> 20)));
    return {};
  }

  // Entries of the directory dirfd, whose archive name is `name`, in a fixed order.
  Result<void> walk(int dirfd, const std::string& name) {
    for (const auto& n : BERTH_TRY(sorted_names(dirfd, name))) {
      std::string entry = name + "/" + n;
      struct stat st {};
      if (::fstatat(dirfd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fail(sys_error(errno, "stat {}", entry));
      mode_t perm = st.st_mode & 07777;
      if (S_ISDIR(st.st_mode)) {
        BERTH_CHECK(count(0));
        w.dir(entry, perm, meta(st));
        // Another file system mounted inside (the engine's /etc files are not; volumes
        // come in through their own mounts): its mount point stays empty, as scan_tree.
        if (st.st_dev != dev) continue;
        UniqueFd sub(::openat(dirfd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub) return fail(sys_error(errno, "open {}", entry));
        BERTH_CHECK(walk(sub.get(), entry));
      } else if (S_ISREG(st.st_mode)) {
        BERTH_CHECK(count(static_cast<uint64_t>(st.st_size)));
        UniqueFd f(::openat(dirfd, n.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!f) return fail(sys_error(errno, "open {}", entry));
        // cpio has no extended attributes: a file capability would be lost.
        ssize_t xl = ::flistxattr(f.get(), nullptr, 0);
        if (xl > 0) return fail(unsuitable(entry + " has extended attributes"));
        std::string content(static_cast<size_t>(st.st_size), '\0');
        size_t got = 0;
        while (got < content.size()) {
          ssize_t k =
              ::pread(f.get(), content.data() + got, content.size() - got, static_cast<off_t>(got));
          if (k < 0 && errno == EINTR) continue;
          if (k < 0) return fail(sys_error(errno, "read {}", entry));
          if (k == 0) return fail(unsuitable(entry + " changed while it was read"));
          got += static_cast<size_t>(k);
        }
        w.file(entry, content, perm, meta(st));
      } else if (S_ISLNK(st.st_mode)) {
        BERTH_CHECK(count(0));
        char buf[4096];
        ssize_t k = ::readlinkat(dirfd, n.c_str(), buf, sizeof buf);
        if (k < 0) return fail(sys_error(errno, "readlink {}", entry));
        w.symlink(entry, std::string_view(buf, static_cast<size_t>(k)), meta(st));
      } else {
        return fail(unsuitable(entry + " is a device, fifo or socket"));
      }
    }
    return {};
  }
};

}  // namespace

Result<std::string> build_root_cpio(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open {}", root));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail(sys_error(errno, "stat {}", root));
  Packer p;
  p.dev = st.st_dev;
  p.w.dir("rootfs", st.st_mode & 07777, Packer::meta(st));
  BERTH_CHECK(p.walk(fd.get(), "rootfs"));
  return p.w.finish();
}

Result<std::string> ensure_root_initrd(const std::string& root, const std::string& base,
                                       const std::string& cache_dir, const std::string& key) {
  std::string tree = key.empty() ? BERTH_TRY(scan_tree(root)).key : key;
  std::string name = sha256_hex(fmt::format("berth-root-initrd-v1 {} {}", tree, base));
  std::string out = path::join(cache_dir, "rootinitrd-" + name.substr(0, 32) + ".cpio");
  if (::utimensat(AT_FDCWD, out.c_str(), nullptr, 0) == 0) return out;
  std::string archive = BERTH_TRY(build_root_cpio(root));
  std::string both = BERTH_TRY(file::read(base));
  both += archive;
  BERTH_CHECK(file::mkdir_all(cache_dir, 0700));
  BERTH_CHECK_CTX(file::write_atomic(out, both, 0600, false), "write {}", out);
  log::debug("vm: made root initramfs {} ({} bytes)", out, both.size());
  evict_old(cache_dir, "rootinitrd-", kKeepRootInitrds);
  return out;
}

}  // namespace berth::vm
