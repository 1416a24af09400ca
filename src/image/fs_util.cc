#include "image/fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

namespace berth::image {
namespace {

struct Entry {
  std::string name;
  unsigned char type;
};

Result<std::vector<Entry>> list_dir(int dirfd) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(sys_error(errno, "open directory"));
  DIR* d = fdopendir(fd);
  if (!d) {
    ::close(fd);
    return fail(sys_error(errno, "fdopendir"));
  }
  std::vector<Entry> out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    out.push_back({n, e->d_type});
  }
  closedir(d);
  return out;
}

void copy_xattrs(int src_fd, int dst_fd) {
  char names[8192];
  ssize_t n = flistxattr(src_fd, names, sizeof names);
  for (ssize_t i = 0; i < n;) {
    const char* name = names + i;
    char val[8192];
    ssize_t v = fgetxattr(src_fd, name, val, sizeof val);
    if (v >= 0) fsetxattr(dst_fd, name, val, static_cast<size_t>(v), 0);
    i += static_cast<ssize_t>(strlen(name)) + 1;
  }
}

void copy_meta(int dst_dirfd, const std::string& name, const struct stat& st, int fd) {
  if (fd >= 0) {
    (void)fchown(fd, st.st_uid, st.st_gid);
    (void)fchmod(fd, st.st_mode & 07777);
  } else {
    (void)fchownat(dst_dirfd, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    if (!S_ISLNK(st.st_mode)) (void)fchmodat(dst_dirfd, name.c_str(), st.st_mode & 07777, 0);
  }
  timespec ts[2] = {st.st_atim, st.st_mtim};
  utimensat(dst_dirfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

Result<void> copy_file(int src_dirfd, const std::string& name, int dst_dirfd,
                       const struct stat& st) {
  UniqueFd in(::openat(src_dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return fail(sys_error(errno, "open {}", name));
  UniqueFd out(::openat(dst_dirfd, name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return fail(sys_error(errno, "create {}", name));
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t k =
        copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      // Fall back to read/write (other file systems, or a file that shrank).
      char buf[65536];
      ssize_t r = ::read(in.get(), buf, sizeof buf);
      if (r <= 0) break;
      if (::write(out.get(), buf, static_cast<size_t>(r)) != r)
        return fail(sys_error(errno, "write {}", name));
      left -= r;
      continue;
    }
    left -= k;
  }
  copy_xattrs(in.get(), out.get());
  copy_meta(dst_dirfd, name, st, out.get());
  return {};
}

using InodeMap = std::map<std::pair<dev_t, ino_t>, std::pair<int, std::string>>;

struct Copier {
  bool whiteouts;
  InodeMap links;  // (dev, ino) of a multiply-linked source -> (dst dirfd, name) of its copy
  std::vector<UniqueFd> keep;  // dst dir fds referenced by links

  Result<void> copy_dir(int src, int dst);
  Result<void> copy_entry(int src, int dst, const std::string& name);
};

Result<void> Copier::copy_entry(int src, int dst, const std::string& name) {
  struct stat st {};
  if (fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return fail(sys_error(errno, "stat {}", name));
  if (whiteouts && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) return remove_at(dst, name);
  struct stat dst_st {};
  bool exists = fstatat(dst, name.c_str(), &dst_st, AT_SYMLINK_NOFOLLOW) == 0;
  if (S_ISDIR(st.st_mode)) {
    if (exists && !S_ISDIR(dst_st.st_mode)) {
      BERTH_CHECK(remove_at(dst, name));
      exists = false;
    }
    if (!exists && mkdirat(dst, name.c_str(), 0700) != 0)
      return fail(sys_error(errno, "mkdir {}", name));
    UniqueFd s = BERTH_TRY(open_dir_at(src, name));
    UniqueFd d = BERTH_TRY(open_dir_at(dst, name));
    char v = 0;
    if (whiteouts && fgetxattr(s.get(), kOpaqueXattr, &v, 1) == 1 && v == 'y')
      BERTH_CHECK(remove_children(d.get()));
    BERTH_CHECK(copy_dir(s.get(), d.get()));
    copy_xattrs(s.get(), d.get());
    if (whiteouts) fremovexattr(d.get(), kOpaqueXattr);
    copy_meta(dst, name, st, d.get());
    return {};
  }
  if (exists) BERTH_CHECK(remove_at(dst, name));
  if (st.st_nlink > 1) {
    auto it = links.find({st.st_dev, st.st_ino});
    if (it != links.end()) {
      if (linkat(it->second.first, it->second.second.c_str(), dst, name.c_str(), 0) == 0) return {};
    }
  }
  if (S_ISREG(st.st_mode)) {
    BERTH_CHECK(copy_file(src, name, dst, st));
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = readlinkat(src, name.c_str(), target.data(), target.size());
    if (n < 0) return fail(sys_error(errno, "readlink {}", name));
    target.resize(static_cast<size_t>(n));
    if (symlinkat(target.c_str(), dst, name.c_str()) != 0)
      return fail(sys_error(errno, "symlink {}", name));
    copy_meta(dst, name, st, -1);
  } else {
    if (mknodat(dst, name.c_str(), st.st_mode, st.st_rdev) != 0)
      return fail(sys_error(errno, "mknod {}", name));
    copy_meta(dst, name, st, -1);
  }
  if (st.st_nlink > 1 && !S_ISDIR(st.st_mode)) {
    int dup = fcntl(dst, F_DUPFD_CLOEXEC, 3);
    keep.emplace_back(dup);
    links[{st.st_dev, st.st_ino}] = {dup, name};
  }
  return {};
}

Result<void> Copier::copy_dir(int src, int dst) {
  for (const auto& e : BERTH_TRY(list_dir(src))) BERTH_CHECK(copy_entry(src, dst, e.name));
  return {};
}

}  // namespace

Result<void> remove_children(int dirfd) {
  for (const auto& e : BERTH_TRY(list_dir(dirfd))) BERTH_CHECK(remove_at(dirfd, e.name));
  return {};
}

Result<std::vector<std::string>> names_at(int dirfd) {
  std::vector<std::string> out;
  for (auto& e : BERTH_TRY(list_dir(dirfd))) out.push_back(std::move(e.name));
  return out;
}

namespace {
constexpr const char* kSpares = ".spare";
}  // namespace

bool take_spare_dir(int parent, const std::string& name) {
  UniqueFd spares(::openat(parent, kSpares, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!spares) return false;
  auto names = names_at(spares.get());
  if (!names) return false;
  for (const auto& n : *names)
    if (renameat(spares.get(), n.c_str(), parent, name.c_str()) == 0) return true;
  return false;
}

bool park_spare_dir(int parent, const std::string& name, size_t max,
                    const std::function<Result<void>(int dirfd)>& scrub) {
  if (mkdirat(parent, kSpares, 0700) != 0 && errno != EEXIST) return false;
  UniqueFd spares(::openat(parent, kSpares, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!spares) return false;
  auto names = names_at(spares.get());
  if (!names || names->size() >= max) return false;
  auto dir = open_dir_at(parent, name);
  if (!dir || !scrub(dir->get())) return false;
  return renameat(parent, name.c_str(), spares.get(), name.c_str()) == 0;
}

Result<UniqueFd> open_dir_at(int dirfd, const std::string& name) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return fail(sys_error(errno, "open directory {}", name));
  return fd;
}

Result<void> remove_at(int dirfd, const std::string& name) {
  if (unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM) return fail(sys_error(errno, "remove {}", name));
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) return {};
  if (errno != ENOTEMPTY && errno != EEXIST) return fail(sys_error(errno, "remove {}", name));
  UniqueFd sub = BERTH_TRY(open_dir_at(dirfd, name));
  BERTH_CHECK_CTX(remove_children(sub.get()), "remove {}", name);
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return fail(sys_error(errno, "remove {}", name));
  return {};
}

Result<void> copy_tree(int src_dirfd, int dst_dirfd, bool overlay_whiteouts) {
  Copier c{overlay_whiteouts, {}, {}};
  return c.copy_dir(src_dirfd, dst_dirfd);
}

Result<int64_t> tree_size(int dirfd) {
  int64_t total = 0;
  for (const auto& e : BERTH_TRY(list_dir(dirfd))) {
    struct stat st {};
    if (fstatat(dirfd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub = BERTH_TRY(open_dir_at(dirfd, e.name));
      total += BERTH_TRY(tree_size(sub.get()));
    } else {
      total += st.st_size;
    }
  }
  return total;
}

}  // namespace berth::image
